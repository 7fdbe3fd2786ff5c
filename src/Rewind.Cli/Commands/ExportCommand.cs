using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Rewind.Export;
using Rewind.Trace;
using Rewind.Trace.Positions;

namespace Rewind.Cli.Commands;

/// <summary>rewind export: the trace as Parquet tables, one folder per table, one file per keyframe segment.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var output = new Option<string>("--output", "-o") { Description = "The dataset's folder (made if missing; files of the same segments are replaced).", Required = true };
        var tables = new Option<string>("--tables")
        {
            Description = "Comma-separated tables: " + string.Join(", ", ExportSchema.Tables.Select(t => t.Name)) + " (default: all).",
        };
        var from = new Option<string?>("--from") { Description = "First position to export (SEQUENCE:STEPS, an instruction count or a percentage)." };
        var to = new Option<string?>("--to") { Description = "Last position to export, included." };
        var range = new Option<string[]>("--range")
        {
            Description = "BEGIN END: only memory accesses overlapping [BEGIN, END) and instructions at pcs in it (hex or decimal).",
            Arity = new ArgumentArity(2, 2),
            AllowMultipleArgumentsPerToken = true,
        };
        var segments = new Option<string?>("--segments")
        {
            Description = "A-B: only keyframe segments A to B (from 0, B included), for exporting one trace in parts on several machines or processes.",
        };
        var workers = new Option<int?>("--workers") { Description = "Segments replayed at once (default: one per core)." };
        var command = new Command("export",
            "Write the trace as Parquet tables for DuckDB, Spark, Polars or pandas: DIR/TABLE/segment=N/part-0.parquet (Hive-partitioned by keyframe segment). "
            + "Tables: instructions, memory (every read, write and execution), syscalls, events, threads, processes, modules; "
            + "their columns are in docs/export.md. Segments replay in parallel, and separate exports of disjoint --segments make one dataset.")
        {
            trace, output, tables, from, to, range, segments, workers,
        };
        command.SetAction(parse =>
        {
            var options = new ExportOptions();
            try
            {
                if (parse.GetValue(tables) is { } list)
                    options = options with { Tables = ExportSchema.Parse(list) };
                if (parse.GetValue(segments) is { } text)
                    options = options with { Segments = ParseSegments(text) };
            }
            catch (FormatException e)
            {
                return Diagnostics.Fail(e.Message, 2);
            }
            if (parse.GetValue(range) is [var begin, var end])
            {
                if (!MemoryCommand.TryParseAddress(begin, "begin", out var low) || !MemoryCommand.TryParseAddress(end, "end", out var high))
                    return 2;
                if (low >= high)
                    return Diagnostics.Fail($"the range is empty: begin 0x{low:x} must be below end 0x{high:x} (end is excluded)", 2);
                options = options with { Range = (low, high) };
            }
            if (parse.GetValue(workers) is { } count)
            {
                if (count < 1)
                    return Diagnostics.Fail("--workers must be 1 or more", 2);
                options = options with { Workers = count };
            }
            if (!TraceCommandLine.LoadEngine())
                return 1;
            return Run(parse.GetValue(trace)!, parse.GetValue(output)!, options, parse.GetValue(from), parse.GetValue(to));
        });
        return command;
    }

    /// <summary>"A-B" or "A": segments A to B, both included.</summary>
    internal static (int First, int Last) ParseSegments(string text)
    {
        var parts = text.Split('-');
        if (parts.Length is 1 or 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first))
        {
            var last = first;
            if (parts.Length == 1 || int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out last))
            {
                if (last < first)
                    throw new FormatException($"--segments {text}: the last segment comes before the first");
                return (first, last);
            }
        }
        throw new FormatException($"'{text}' is not a segment range: use A-B (from 0, B included) or A");
    }

    static int Run(string path, string folder, ExportOptions options, string? from, string? to) => TraceCommandLine.Replaying(() =>
    {
        if (!File.Exists(path))
            return Diagnostics.Fail($"{path}: no such file");
        using var export = TraceExport.Open(path);
        TraceCommandLine.WarnIfIncomplete(export.Trace);
        try
        {
            if (from is not null)
                options = options with { From = Resolve(export.Timeline, from) };
            if (to is not null)
                options = options with { To = Resolve(export.Timeline, to) };
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
        {
            return Diagnostics.Fail(e.Message, 2);
        }
        if (options.From > options.To)
            return Diagnostics.Fail("--from comes after --to", 2);
        if (options.Segments.First >= export.SegmentCount)
            return Diagnostics.Fail($"--segments {options.Segments.First}-: the trace has {export.SegmentCount} segments (0 to {export.SegmentCount - 1})", 2);
        var clock = Stopwatch.StartNew();
        try
        {
            var result = ExportProgressBar.Run($"exporting {Path.GetFileName(path)}", progress => export.Run(folder, options, progress));
            var seconds = clock.Elapsed.TotalSeconds;
            var rows = result.Rows.Values.Sum();
            foreach (var (table, count) in result.Rows)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{table}: {count:N0} rows"));
            Diagnostics.Warn(string.Create(CultureInfo.InvariantCulture,
                $"exported segments {result.FirstSegment}-{result.LastSegment} of {export.SegmentCount} ({rows:N0} rows) in {seconds:F1} s to {folder}"));
            return 0;
        }
        catch (IOException e)
        {
            return Diagnostics.Fail($"cannot write {folder}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            return Diagnostics.Fail($"cannot write {folder}: {e.Message}");
        }
    });

    static long Resolve(Timeline timeline, string text) => timeline.Resolve(PositionText.Parse(text)).Instruction;
}
