using Rewind.Export.Parquet;
using Rewind.Query.Introspection;

namespace Rewind.Export.Tables;

/// <summary>
/// The tables that come from the trace's events without a replay (events, threads, processes,
/// modules), from the same model as <c>rewind events</c>, <c>threads</c> and <c>modules</c>. Each
/// row goes to the segment that holds its position.
/// </summary>
internal static class ModelTables
{
    /// <summary>A row to write: its position and what fills its other columns.</summary>
    readonly record struct Row(long Instruction, Action<TableRows, int> Fill);

    public static long Write(ExportTable table, TraceModel model, SegmentPlan plan, DatasetLayout layout, IReadOnlyDictionary<string, string> metadata, int rowGroup)
    {
        var rows = RowsOf(table, model).OrderBy(r => r.Instruction).ToList();
        using var sink = new TableSink(table, layout, model.Timeline, metadata, rowGroup);
        var current = -1;
        foreach (var row in rows)
        {
            if (!plan.Holds(row.Instruction, out var segment))
                continue;
            if (segment != current)
            {
                if (current >= 0)
                    sink.End(fileEvenIfEmpty: current == plan.FirstSegment);
                else if (segment != plan.FirstSegment)
                    EmptyFile(sink, plan.FirstSegment);
                sink.Begin(current = segment);
            }
            if (sink.Rows.Full)
                sink.Flush();
            var index = sink.Rows.Count++;
            sink.Rows.Longs(0)[index] = row.Instruction;
            row.Fill(sink.Rows, index);
        }
        if (current >= 0)
            sink.End(fileEvenIfEmpty: current == plan.FirstSegment);
        else
            EmptyFile(sink, plan.FirstSegment);
        return sink.Written;
    }

    /// <summary>A file with no rows, so that the table is there with its schema.</summary>
    static void EmptyFile(TableSink sink, int segment)
    {
        sink.Begin(segment);
        sink.End(fileEvenIfEmpty: true);
    }

    static IEnumerable<Row> RowsOf(ExportTable table, TraceModel model) => table.Name switch
    {
        "events" => model.Events.Select(Event),
        "threads" => model.Threads.Select(Thread),
        "processes" => Processes(model),
        "modules" => model.Modules.Select(m => Module(m, model.Process.Id)),
        _ => throw new ArgumentException($"{table.Name} is not a table of the trace's events", nameof(table)),
    };

    static void Set(TableRows rows, int column, int row, long? value)
    {
        rows.Present(column)[row] = value.HasValue;
        rows.Longs(column)[row] = value ?? 0;
    }

    static void Set(TableRows rows, int column, int row, int? value)
    {
        rows.Present(column)[row] = value.HasValue;
        rows.Ints(column)[row] = value ?? 0;
    }

    static Row Event(TimelineEvent e) => new(e.Position.Instruction, (rows, row) =>
    {
        var t = ExportSchema.Events;
        rows.StringIds(t.Ordinal("type"))[row] = rows.Intern(e.Type.ToString());
        Set(rows, t.Ordinal("pid"), row, e.ProcessId ?? e.Thread?.ProcessId);
        Set(rows, t.Ordinal("unique_tid"), row, e.Thread?.UniqueId);
        Set(rows, t.Ordinal("tid"), row, e.Thread?.Id);
        rows.StringIds(t.Ordinal("module"))[row] = rows.Intern(e.Module?.Path);
        Set(rows, t.Ordinal("module_address"), row, (long?)e.Module?.Address);
        rows.StringIds(t.Ordinal("exception"))[row] = rows.Intern(e.Exception?.Name);
        Set(rows, t.Ordinal("exception_code"), row, e.Exception?.Code);
        Set(rows, t.Ordinal("exception_pc"), row, (long?)e.Exception?.ProgramCounter);
        Set(rows, t.Ordinal("exception_address"), row, (long?)e.Exception?.Address);
        rows.Present(t.Ordinal("handled"))[row] = e.Exception is not null;
        rows.Bools(t.Ordinal("handled"))[row] = e.Exception?.Handled ?? false;
        Set(rows, t.Ordinal("exit_code"), row, e.ExitCode);
    });

    static Row Thread(ThreadInfo thread) => new(thread.Lifetime.Start.Instruction, (rows, row) =>
    {
        var t = ExportSchema.Threads;
        rows.Longs(t.Ordinal("unique_tid"))[row] = thread.UniqueId;
        rows.Ints(t.Ordinal("tid"))[row] = thread.Id;
        rows.Ints(t.Ordinal("pid"))[row] = thread.ProcessId;
        rows.Longs(t.Ordinal("end_instr_count"))[row] = thread.Lifetime.End.Instruction;
        rows.StringIds(t.Ordinal("end_position"))[row] = rows.Intern(thread.Lifetime.End.ToString());
        // A thread that never ran has an empty active time (its end before its start).
        var ran = thread.ActiveTime.End >= thread.ActiveTime.Start;
        Set(rows, t.Ordinal("active_start"), row, ran ? thread.ActiveTime.Start.Instruction : null);
        Set(rows, t.Ordinal("active_end"), row, ran ? thread.ActiveTime.End.Instruction : null);
    });

    static IEnumerable<Row> Processes(TraceModel model)
    {
        foreach (var threads in model.Threads.GroupBy(t => t.ProcessId))
        {
            var first = threads.Key == model.Process.Id;
            var start = first ? 0 : threads.Min(t => t.Lifetime.Start.Instruction);
            var end = threads.Max(t => t.Lifetime.End.Instruction);
            yield return new Row(start, (rows, row) =>
            {
                var t = ExportSchema.Processes;
                rows.Ints(t.Ordinal("pid"))[row] = threads.Key;
                Set(rows, t.Ordinal("parent_pid"), row, first ? model.Process.ParentId : null);
                rows.StringIds(t.Ordinal("executable"))[row] = rows.Intern(first ? model.Process.ExecutablePath : null);
                rows.StringIds(t.Ordinal("name"))[row] = rows.Intern(first ? model.Process.InitialName : null);
                rows.Longs(t.Ordinal("end_instr_count"))[row] = end;
            });
        }
    }

    static Row Module(ModuleInfo module, int pid) => new(module.Loaded.Instruction, (rows, row) =>
    {
        var t = ExportSchema.Modules;
        rows.Ints(t.Ordinal("module_index"))[row] = module.Index;
        rows.StringIds(t.Ordinal("name"))[row] = rows.Intern(module.Name);
        rows.StringIds(t.Ordinal("path"))[row] = rows.Intern(module.Path);
        rows.Longs(t.Ordinal("address"))[row] = (long)module.Address;
        rows.Longs(t.Ordinal("size"))[row] = (long)module.Size;
        rows.Ints(t.Ordinal("pid"))[row] = pid;
        Set(rows, t.Ordinal("unloaded_instr_count"), row, module.Unloaded?.Instruction);
    });
}
