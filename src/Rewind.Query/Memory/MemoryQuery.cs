using System.Collections;
using Rewind.Index;
using Rewind.Trace;

namespace Rewind.Query;

/// <summary>
/// TTD.Memory(begin, end, mask): every access to [begin, end) of the kinds in the mask, in
/// execution order, streamed. Enumerating replays only the segments whose pages the index says
/// were touched, and in them only the stretches of instructions that touched them (windows), with
/// hooks limited to the range; the instructions between the windows run without memory hooks.
/// Segments replay in parallel (one engine per core) ahead of the reader, which gets their results in order; memory use does not depend on the
/// trace's length or on the number of results. Each enumeration runs the query again.
/// </summary>
public sealed class MemoryQuery : IEnumerable<MemoryAccess>
{
    readonly TraceSession _session;
    readonly MemoryQuerySpec _spec;

    internal MemoryQuery(TraceSession session, ulong begin, ulong end, MemoryMask mask)
    {
        _session = session;
        _spec = new MemoryQuerySpec(begin, end, mask);
    }

    /// <summary>
    /// The executions of the instructions at <paramref name="points"/> from instruction
    /// <paramref name="from"/> on, each with what <paramref name="capture"/> took from the replay
    /// as it was about to run (in <see cref="MemoryAccess.Captured"/>): what calls are found from.
    /// </summary>
    internal MemoryQuery(TraceSession session, IReadOnlyCollection<ulong> points, long from, ExecutionCapture capture)
    {
        _session = session;
        _spec = new MemoryQuerySpec(points.Min(), points.Max() + 1, MemoryMask.Execute, points.ToHashSet(), from, capture);
    }

    public ulong Begin => _spec.Begin;
    public ulong End => _spec.End;
    public MemoryMask Mask => _spec.Mask;

    /// <summary>How many engines replay segments at once (default: one per core).</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Puts pc hooks on all code rather than on the code the index says touched the range's pages
    /// (slower; the results are the same: for checking the index).
    /// </summary>
    public bool PcHooksEverywhere { get; set; }

    /// <summary>The segments that can hold matches (their bounds), with the windows of each to replay with hooks, in order.</summary>
    public IReadOnlyList<(SegmentInfo Segment, IReadOnlyList<InstructionRange> Windows)> Plan() => [.. Planned().Select(p => (p.Bounds, p.Windows))];

    /// <summary>
    /// A segment to scan: its bounds, its windows and the code that can read or write the range there
    /// (null: any code, or the query asks for no data accesses). Its pages are not kept: read from the
    /// index file one segment at a time, they would otherwise fill memory on a long trace.
    /// </summary>
    sealed record PlannedSegment(SegmentInfo Bounds, InstructionRange[] Windows, List<(ulong Start, ulong End)>? Accessors);

    IEnumerable<PlannedSegment> Planned() => _spec.Points is null
        ? _session.Index.SegmentsTouching(Begin, End - 1, Mask.PageUses())
            .Select(p => new PlannedSegment(new SegmentInfo(p.Segment.Keyframe, p.Segment.Start, p.Segment.End), [.. Windows(p.Ranges)], Accessors(p.Segment)))
        : PlannedForPoints(_spec.Points);

    /// <summary>The segments after <see cref="MemoryQuerySpec.From"/> that executed the line of any of <paramref name="points"/>.</summary>
    IEnumerable<PlannedSegment> PlannedForPoints(IReadOnlySet<ulong> points)
    {
        foreach (var segment in _session.Index.Segments)
        {
            if (segment.End <= _spec.From)
                continue;
            var ranges = new List<InstructionRange>();
            foreach (var point in points)
                segment.AddWindows(point, point, PageUse.Execute, ranges);
            ranges.RemoveAll(r => r.Last < _spec.From);
            if (ranges.Count > 0)
                yield return new PlannedSegment(new SegmentInfo(segment.Keyframe, segment.Start, segment.End), [.. Windows(ranges)], null);
        }
    }

    /// <summary>
    /// The code that read or wrote the range's pages in <paramref name="segment"/>, as merged
    /// ranges; null when the query needs no pc hooks for data, or the index could not list the code.
    /// </summary>
    List<(ulong Start, ulong End)>? Accessors(SegmentInfo segment)
    {
        if ((Mask & (MemoryMask.Read | MemoryMask.Write | MemoryMask.Change)) == 0)
            return null;
        var blocks = new List<(ulong Start, uint Size)>();
        if (!segment.Accessors.TryGetBlocks(Begin >> 12, (End - 1) >> 12, blocks))
            return null;
        return MergeRanges(blocks.Select(b => (b.Start, b.Start + Math.Max(b.Size, 1u))), MaxCodeHooks);
    }

    /// <summary>
    /// Windows closer than this are replayed as one: each window costs adding the hooks and translating
    /// the code again twice, about what this many instructions cost with memory hooks.
    /// </summary>
    const long WindowGap = 1 << 16;

    static List<InstructionRange> Windows(IReadOnlyList<InstructionRange> ranges)
    {
        var windows = ranges.ToList();
        InstructionRange.SortAndMerge(windows, WindowGap);
        return windows;
    }

    /// <summary>At most this many pc hooks: the engine checks every code hook's range at each hooked instruction.</summary>
    const int MaxCodeHooks = 16;

    public IEnumerator<MemoryAccess> GetEnumerator() => Scan().GetEnumerator();

    /// <summary>Merges ranges that overlap or lie close, then the closest ones until at most <paramref name="limit"/> remain.</summary>
    internal static List<(ulong Start, ulong End)> MergeRanges(IEnumerable<(ulong Start, ulong End)> ranges, int limit)
    {
        var merged = new List<(ulong Start, ulong End)>();
        foreach (var (start, end) in ranges.OrderBy(r => r.Start))
        {
            if (merged.Count > 0 && start <= merged[^1].End + 64)
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, end));
            else
                merged.Add((start, end));
        }
        while (merged.Count > limit)
        {
            var closest = 0;
            for (var i = 1; i < merged.Count - 1; i++)
            {
                if (merged[i + 1].Start - merged[i].End < merged[closest + 1].Start - merged[closest].End)
                    closest = i;
            }
            merged[closest] = (merged[closest].Start, merged[closest + 1].End);
            merged.RemoveAt(closest + 1);
        }
        return merged;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// The first access at an instruction in [<paramref name="first"/>, <paramref name="last"/>] that
    /// <paramref name="accept"/> takes (null: none): the segments that can hold one are scanned from
    /// there on, in parallel and in order, and the scan stops at the first match.
    /// </summary>
    public MemoryAccess? FirstBetween(long first, long last, Func<MemoryAccess, bool> accept)
    {
        var plan = Planned().Select(p => Clipped(p, first, last)).OfType<PlannedSegment>().ToArray();
        if (plan.Length == 0)
            return null;
        using var run = new ScanRun(_session, _spec, plan, Math.Max(1, Math.Min(Workers, plan.Length)), PcHooksEverywhere);
        for (var i = 0; i < plan.Length; i++)
        {
            foreach (var access in run.Results(i))
            {
                if (access.TimeStart.Instruction >= first && access.TimeStart.Instruction <= last && accept(access))
                    return access;
            }
        }
        return null;
    }

    /// <summary>
    /// The last access at an instruction in [<paramref name="first"/>, <paramref name="last"/>] that
    /// <paramref name="accept"/> takes (null: none): the segments that can hold one are scanned one at a
    /// time from the latest back, each only up to <paramref name="last"/>, so the answer costs about one
    /// segment's replay, never the trace's.
    /// </summary>
    public MemoryAccess? LastBetween(long first, long last, Func<MemoryAccess, bool> accept)
    {
        var plan = Planned().Select(p => Clipped(p, first, last)).OfType<PlannedSegment>().ToArray();
        for (var i = plan.Length - 1; i >= 0; i--)
        {
            // The segment's last windows first (1, then 4, 16... of them): the replay up to them runs
            // without hooks, so a match near the end costs one window with hooks, not the whole segment.
            var windows = plan[i].Windows;
            for (var tail = 1; ; tail = Math.Min(windows.Length, tail * 4))
            {
                if (LastIn(plan[i] with { Windows = windows.Skip(windows.Length - tail).ToArray() }, first, last, accept) is { } found)
                    return found;
                if (tail == windows.Length)
                    break;
            }
        }
        return null;
    }

    MemoryAccess? LastIn(PlannedSegment planned, long first, long last, Func<MemoryAccess, bool> accept)
    {
        MemoryAccess? found = null;
        using var run = new ScanRun(_session, _spec, [planned], 1, PcHooksEverywhere);
        foreach (var access in run.Results(0))
        {
            if (access.TimeStart.Instruction >= first && access.TimeStart.Instruction <= last && accept(access))
                found = access;
        }
        return found;
    }

    /// <summary>The part of a planned segment whose windows lie in [first, last]; null when none does.</summary>
    static PlannedSegment? Clipped(PlannedSegment planned, long first, long last)
    {
        var windows = planned.Windows
            .Where(w => w.Last >= first && w.First <= last)
            .Select(w => new InstructionRange(Math.Max(w.First, first), Math.Min(w.Last, last)))
            .ToArray();
        return windows.Length == 0 ? null : planned with { Windows = windows };
    }

    IEnumerable<MemoryAccess> Scan()
    {
        var plan = Planned().ToArray();
        if (plan.Length == 0)
            yield break;
        using var run = new ScanRun(_session, _spec, plan, Math.Max(1, Math.Min(Workers, plan.Length)), PcHooksEverywhere);
        for (var i = 0; i < plan.Length; i++)
        {
            foreach (var access in run.Results(i))
                yield return access;
        }
    }

    /// <summary>
    /// Worker threads replaying the planned segments, each with its own trace reader and engine. A
    /// worker takes a run of consecutive segments and replays on from one into the next rather than
    /// restoring each one's keyframe, which costs about as much as replaying a whole segment. Runs
    /// start long and shorten as the segments run out, so that the workers finish together.
    /// </summary>
    sealed class ScanRun : IDisposable
    {
        /// <summary>Segments started at most this far ahead of the one being read: their results wait in memory.</summary>
        const int MaxAhead = 16;

        readonly TraceSession _session;
        readonly MemoryQuerySpec _spec;
        readonly PlannedSegment[] _plan;
        readonly AccessBatches[] _results;
        readonly Thread[] _threads;
        readonly MemoryScanner?[] _active;
        readonly CancellationTokenSource _cancel = new();
        readonly Lock _gate = new();
        readonly object _progress = new();
        readonly bool _everywhere;
        int _next;
        int _read;

        public ScanRun(TraceSession session, MemoryQuerySpec spec, PlannedSegment[] plan, int workers, bool everywhere)
        {
            _everywhere = everywhere;
            _session = session;
            _spec = spec;
            _plan = plan;
            _results = new AccessBatches[plan.Length];
            for (var i = 0; i < plan.Length; i++)
                _results[i] = new AccessBatches(_cancel.Token);
            _active = new MemoryScanner?[workers];
            _threads = new Thread[workers];
            for (var w = 0; w < workers; w++)
            {
                var worker = w;
                _threads[w] = new Thread(() => Work(worker)) { Name = $"rewind memory {worker}", IsBackground = true };
                _threads[w].Start();
            }
        }

        /// <summary>The results of planned segment <paramref name="entry"/>; read them in order.</summary>
        public IEnumerable<MemoryAccess> Results(int entry)
        {
            foreach (var access in _results[entry].Read())
                yield return access;
            lock (_progress)
            {
                _read = entry + 1;
                Monitor.PulseAll(_progress);
            }
        }

        /// <summary>
        /// The next run of consecutive planned segments: a share of what is left, so that runs shorten
        /// towards the end, and short enough that every worker's run fits in <see cref="MaxAhead"/>.
        /// </summary>
        bool TakeRun(out int first, out int count)
        {
            lock (_gate)
            {
                first = _next;
                count = Math.Clamp((_plan.Length - _next) / (2 * _threads.Length), 1, Math.Max(1, MaxAhead / _threads.Length));
                _next = Math.Min(_plan.Length, _next + count);
                count = _next - first;
                return count > 0;
            }
        }

        /// <summary>Waits until the reader is close enough behind <paramref name="entry"/>; false when the query was cancelled.</summary>
        bool WaitForReader(int entry)
        {
            lock (_progress)
            {
                while (entry >= _read + MaxAhead && !_cancel.IsCancellationRequested)
                    Monitor.Wait(_progress);
            }
            return !_cancel.IsCancellationRequested;
        }

        void Work(int worker)
        {
            // One reader for all of this worker's runs: opening one reads the whole trace file.
            TraceReader? reader = null;
            try
            {
                // After a cancellation every segment still ends, empty, so that nobody waits for it.
                while (TakeRun(out var first, out var count))
                {
                    SegmentReplay? replay = null;
                    try
                    {
                        for (var i = first; i < first + count; i++)
                        {
                            try
                            {
                                if (!WaitForReader(i))
                                    throw new OperationCanceledException();
                                reader ??= TraceReader.Open(_session.Path);
                                Scan(worker, reader, i, ref replay);
                                _results[i].Complete();
                            }
                            catch (Exception e)
                            {
                                replay?.Dispose();
                                replay = null;
                                _results[i].Complete(e);
                            }
                        }
                    }
                    finally
                    {
                        replay?.Dispose();
                    }
                }
            }
            finally
            {
                reader?.Dispose();
            }
        }

        /// <summary>Scans planned segment <paramref name="i"/> with <paramref name="replay"/>, which it opens, replaces or leaves for the next segment.</summary>
        void Scan(int worker, TraceReader reader, int i, ref SegmentReplay? replay)
        {
            var (segment, windows, _) = _plan[i];
            // Run on from the segment before unless that replay has passed this segment's first window.
            if (replay is not null && (replay.Exited is not null || replay.Instructions > windows[0].First))
            {
                replay.Dispose();
                replay = null;
            }
            // When an access comes from code the index did not list, scan the segment again with pc
            // hooks on all code, leaving out what the first scan delivered.
            long skipThrough = -1;
            var everywhere = _everywhere;
            while (true)
            {
                replay ??= SegmentReplay.Open(reader, segment.Keyframe);
                if (ScanOnce(worker, replay, i, everywhere, skipThrough) is not { } delivered)
                    return;
                replay.Dispose();
                replay = null;
                (everywhere, skipThrough) = (true, delivered);
            }
        }

        /// <summary>Scans segment <paramref name="i"/>; null when done, else the last instruction delivered before the pc hooks fell short.</summary>
        long? ScanOnce(int worker, SegmentReplay replay, int i, bool everywhere, long skipThrough)
        {
            var (segment, windows, indexed) = _plan[i];
            var accessors = everywhere ? null : indexed;
            using var scanner = new MemoryScanner(replay, segment, _spec, _session.Timeline, _results[i]) { SkipThrough = skipThrough };
            lock (_gate)
                _active[worker] = scanner;
            try
            {
                foreach (var window in windows)
                {
                    if (_cancel.IsCancellationRequested || !replay.RunToBlockHolding(window.First))
                        break;
                    scanner.Install(accessors);
                    // Removed as the window ends, inside the run, so that the code after it runs without them.
                    replay.Stopping = scanner.RemoveHooks;
                    var running = replay.RunToBlockAtOrAfter(window.Last + 1);
                    replay.Stopping = null;
                    scanner.Remove();
                    if (scanner.Failure is { } failure)
                        throw new InvalidOperationException($"memory query failed in segment {segment.Keyframe}: {failure.Message}", failure);
                    if (scanner.Stale && !_cancel.IsCancellationRequested)
                        return Math.Max(skipThrough, scanner.LastDelivered);
                    if (!running || scanner.Cancelled)
                        break;
                }
                return null;
            }
            finally
            {
                lock (_gate)
                    _active[worker] = null;
            }
        }

        public void Dispose()
        {
            _cancel.Cancel();
            lock (_progress)
                Monitor.PulseAll(_progress);
            lock (_gate)
            {
                foreach (var scanner in _active)
                    scanner?.Cancel();
            }
            foreach (var thread in _threads)
                thread.Join();
            foreach (var results in _results)
                results.Dispose();
            _cancel.Dispose();
        }
    }
}
