using System.Globalization;
using System.Runtime.ExceptionServices;
using Rewind.Engine;
using Rewind.Export.Parquet;
using Rewind.Export.Replayed;
using Rewind.Export.Tables;
using Rewind.Index;
using Rewind.Query.Introspection;
using Rewind.Query.Symbols;
using Rewind.Trace;
using Rewind.Trace.Positions;

namespace Rewind.Export;

/// <summary>What to export: which tables, which instructions, which addresses, which segments.</summary>
public sealed record ExportOptions
{
    public IReadOnlyList<ExportTable> Tables { get; init; } = ExportSchema.Tables;

    /// <summary>The first instruction whose rows go out (default: the trace's first).</summary>
    public long From { get; init; }

    /// <summary>The last instruction whose rows go out, included (default: the trace's last).</summary>
    public long To { get; init; } = long.MaxValue;

    /// <summary>Memory accesses overlapping [Begin, End) and instructions at pcs in it (default: everything).</summary>
    public (ulong Begin, ulong End) Range { get; init; } = (0, ulong.MaxValue);

    /// <summary>The keyframe segments to export, first and last included (default: all).</summary>
    public (int First, int Last) Segments { get; init; } = (0, int.MaxValue);

    /// <summary>Segments replayed at once, each on its own thread with its own engine.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Rows per row group: what a table holds in memory, per worker, before writing.</summary>
    public int RowGroup { get; init; } = 1 << 18;
}

/// <summary>How far an export has come.</summary>
public readonly record struct ExportProgress(int SegmentsDone, int Segments, long InstructionsDone, long Instructions);

/// <summary>What an export wrote: rows per table, over the segments it covered.</summary>
public sealed record ExportResult(IReadOnlyDictionary<string, long> Rows, int FirstSegment, int LastSegment);

/// <summary>
/// Exports a trace to Parquet: one folder per table, one file per keyframe segment
/// (<see cref="DatasetLayout"/>). Each segment is exported on its own, from its keyframe, so that
/// disjoint ranges of segments exported by separate processes (or machines) make the same dataset as
/// one export of the whole trace. The tables that need a replay (instructions, memory, syscalls)
/// are filled by worker threads, each replaying runs of consecutive segments with one engine; the
/// others come from the trace's events. Memory use depends on the row group size and the number of
/// workers, not on the trace's length.
/// </summary>
public sealed class TraceExport : IDisposable
{
    static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    readonly TraceReader _trace;
    readonly long[] _keyframes;

    TraceExport(string path, TraceReader trace)
    {
        Path = path;
        _trace = trace;
        Model = TraceModel.Build(trace);
        Instructions = trace.End?.Instructions ?? trace.LastRecordedInstruction();
        _keyframes = [.. trace.KeyframeInstructions];
        Identity = TraceIdentity.Of(path);
    }

    /// <summary>Opens the trace at <paramref name="path"/>; a file that is not a readable trace is a <see cref="TraceFormatException"/>.</summary>
    public static TraceExport Open(string path)
    {
        EngineLibrary.Load();
        var trace = TraceReader.Open(path);
        try
        {
            return new TraceExport(path, trace);
        }
        catch
        {
            trace.Dispose();
            throw;
        }
    }

    public string Path { get; }

    /// <summary>The trace file (not thread-safe: one user at a time).</summary>
    public TraceReader Trace => _trace;

    public TraceModel Model { get; }

    public Timeline Timeline => Model.Timeline;

    public TraceIdentity Identity { get; }

    /// <summary>Instructions in the trace.</summary>
    public long Instructions { get; }

    /// <summary>Keyframe segments in the trace (numbered from 0).</summary>
    public int SegmentCount => _keyframes.Length;

    /// <summary>Segment <paramref name="k"/>: instructions [Start, End).</summary>
    public (long Start, long End) Segment(int k) => (_keyframes[k], Math.Max(_keyframes[k], k + 1 < _keyframes.Length ? _keyframes[k + 1] : Instructions));

    /// <summary>The segment that holds instruction <paramref name="instruction"/>.</summary>
    public int SegmentOf(long instruction)
    {
        var index = Array.BinarySearch(_keyframes, instruction);
        return Math.Max(0, index >= 0 ? LastAt(index) : ~index - 1);
    }

    /// <summary>The last of several keyframes at one count (a segment of no instructions lies before it).</summary>
    int LastAt(int index)
    {
        while (index + 1 < _keyframes.Length && _keyframes[index + 1] == _keyframes[index])
            index++;
        return index;
    }

    /// <summary>Writes the tables of <paramref name="options"/> into <paramref name="folder"/>.</summary>
    public ExportResult Run(string folder, ExportOptions options, IProgress<ExportProgress>? progress = null, CancellationToken cancellation = default)
    {
        var layout = new DatasetLayout(folder);
        var last = Math.Min(Math.Max(0, Instructions - 1), options.To);
        var first = Math.Max(0, options.From);
        var firstSegment = Math.Max(options.Segments.First, SegmentOf(first));
        var lastSegment = Math.Min(Math.Min(options.Segments.Last, SegmentCount - 1), SegmentOf(last));
        var rows = options.Tables.ToDictionary(t => t.Name, _ => 0L);
        if (firstSegment > lastSegment || first > last || SegmentCount == 0)
            return new ExportResult(rows, firstSegment, lastSegment);
        Directory.CreateDirectory(folder);
        var metadata = new Dictionary<string, string>
        {
            ["rewind.schema_version"] = ExportSchema.Version.ToString(CultureInfo.InvariantCulture),
            ["rewind.trace"] = System.IO.Path.GetFileName(Path),
            ["rewind.trace_header_hash"] = Identity.HeaderHash.ToString("x32", CultureInfo.InvariantCulture),
        };
        var plan = new SegmentPlan(this, firstSegment, lastSegment, first, last, options.Range);

        foreach (var table in options.Tables.Where(t => !t.Replayed))
            rows[table.Name] = ModelTables.Write(table, Model, plan, layout, metadata, options.RowGroup);
        var replayed = options.Tables.Where(t => t.Replayed).ToArray();
        if (replayed.Length > 0)
        {
            foreach (var (name, count) in ReplaySegments(plan, replayed, layout, metadata, options, progress, cancellation))
                rows[name] = count;
        }
        return new ExportResult(rows, firstSegment, lastSegment);
    }

    Dictionary<string, long> ReplaySegments(SegmentPlan plan, ExportTable[] tables, DatasetLayout layout, IReadOnlyDictionary<string, string> metadata,
        ExportOptions options, IProgress<ExportProgress>? progress, CancellationToken cancellation)
    {
        var workers = Math.Clamp(options.Workers, 1, plan.Count);
        var functions = tables.Contains(ExportSchema.Instructions) ? new FunctionNames(Model, new SymbolTable(Model, _trace, SymbolTable.DefaultDebugDirectories)) : null;
        var running = new SegmentReplay?[workers];
        var runningSegment = new int[workers];
        var finished = new long[workers];
        var written = new Dictionary<string, long>();
        var next = 0;
        var done = 0;
        var gate = new Lock();
        ExceptionDispatchInfo? failure = null;

        // A share of what is left, so that runs shorten towards the end and the workers finish together.
        bool TakeRun(out int start, out int count)
        {
            lock (gate)
            {
                start = next;
                count = Math.Max(1, (plan.Count - next) / (2 * workers));
                next = Math.Min(plan.Count, next + count);
                count = next - start;
                return count > 0;
            }
        }

        void Work(int worker)
        {
            var sinks = tables.Select(t => new TableSink(t, layout, Timeline, metadata, options.RowGroup)).ToArray();
            TableSink? Sink(ExportTable table) => sinks.FirstOrDefault(s => s.Table == table);
            try
            {
                using var reader = TraceReader.Open(Path);
                while (failure is null && !cancellation.IsCancellationRequested && TakeRun(out var start, out var count))
                {
                    using var replay = SegmentReplay.Open(reader, plan.Keyframe(start));
                    using var collector = new SegmentCollector(replay, Sink(ExportSchema.Instructions), Sink(ExportSchema.Memory), Sink(ExportSchema.Syscalls), functions);
                    using var stop = cancellation.Register(() => replay.Process.Pause());
                    for (var i = start; i < start + count && failure is null && !cancellation.IsCancellationRequested; i++)
                    {
                        var (segment, window) = plan[i];
                        collector.Begin(segment, window);
                        lock (gate)
                            (running[worker], runningSegment[worker]) = (replay, i);
                        try
                        {
                            // Exactly to the next keyframe: a block of the replay can span it (the engine's
                            // blocks need not start where the recording's did), and its rows belong to the next segment.
                            if (segment + 1 < SegmentCount)
                                replay.RunTo(Segment(segment).End);
                            else
                                replay.RunToEnd();
                        }
                        finally
                        {
                            lock (gate)
                                running[worker] = null;
                        }
                        if (collector.Failure is { } hookFailure)
                            ExceptionDispatchInfo.Throw(hookFailure);
                        cancellation.ThrowIfCancellationRequested();
                        collector.End(filesEvenIfEmpty: i == 0);
                        Interlocked.Add(ref finished[worker], plan.Length(i));
                        Interlocked.Increment(ref done);
                    }
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
            }
            finally
            {
                lock (gate)
                {
                    foreach (var sink in sinks)
                    {
                        written[sink.Table.Name] = written.GetValueOrDefault(sink.Table.Name) + sink.Written;
                        sink.Dispose();
                    }
                }
            }
        }

        var threads = new Thread[workers];
        for (var i = 0; i < workers; i++)
        {
            var worker = i;
            threads[i] = new Thread(() => Work(worker)) { Name = $"rewind export {worker}", IsBackground = true };
            threads[i].Start();
        }
        var total = Enumerable.Range(0, plan.Count).Sum(plan.Length);
        while (true)
        {
            var allDone = threads.All(t => t.Join(ProgressInterval));
            if (progress is not null)
            {
                long sum = 0;
                lock (gate)
                {
                    for (var i = 0; i < workers; i++)
                    {
                        sum += Volatile.Read(ref finished[i]);
                        // The running segment's count, read while its engine runs: fine for a progress bar.
                        if (running[i] is { } replay)
                            sum += Math.Clamp(replay.Instructions - Segment(plan[runningSegment[i]].Segment).Start, 0, plan.Length(runningSegment[i]));
                    }
                }
                progress.Report(new ExportProgress(Volatile.Read(ref done), plan.Count, Math.Min(sum, total), total));
            }
            if (allDone)
                break;
        }
        failure?.Throw();
        cancellation.ThrowIfCancellationRequested();
        return written;
    }

    public void Dispose() => _trace.Dispose();
}

/// <summary>The segments of one export, in order, with the rows each one gives.</summary>
internal sealed class SegmentPlan(TraceExport trace, int firstSegment, int lastSegment, long first, long last, (ulong Begin, ulong End) range)
{
    public int Count => lastSegment - firstSegment + 1;

    public int FirstSegment => firstSegment;

    public (int Segment, RowWindow Window) this[int index]
    {
        get
        {
            var segment = firstSegment + index;
            var (start, end) = trace.Segment(segment);
            return (segment, new RowWindow(Math.Max(start, first), Math.Min(end - 1, last), range.Begin, range.End));
        }
    }

    public int Keyframe(int index) => firstSegment + index;

    /// <summary>Instructions the entry replays.</summary>
    public long Length(int index)
    {
        var (start, end) = trace.Segment(firstSegment + index);
        return end - start;
    }

    /// <summary>Whether a row at <paramref name="instruction"/> belongs to this export, and in which segment.</summary>
    public bool Holds(long instruction, out int segment)
    {
        segment = trace.SegmentOf(instruction);
        return segment >= firstSegment && segment <= lastSegment && instruction >= first && instruction <= last;
    }
}
