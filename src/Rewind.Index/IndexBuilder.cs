using System.Runtime.ExceptionServices;
using Rewind.Trace;

namespace Rewind.Index;

/// <summary>
/// Builds a <see cref="TraceIndex"/> by replaying the trace's segments in parallel, one engine per
/// worker thread. A worker takes a run of consecutive segments, restores the keyframe of the first
/// and replays on through the others: restoring a keyframe and translating the code again cost
/// more than a short segment's replay. Runs start long and shorten as the segments run out, so
/// that the workers finish together.
/// </summary>
public static class IndexBuilder
{
    /// <summary>How often progress is reported while segments run.</summary>
    static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Builds the index of the trace at <paramref name="tracePath"/>, open as <paramref name="trace"/>.</summary>
    public static TraceIndex Build(string tracePath, TraceReader trace, TraceIdentity identity, IProgress<IndexProgress>? progress = null,
        int? workers = null, CancellationToken cancellation = default)
    {
        var instructions = trace.End?.Instructions ?? trace.LastRecordedInstruction();
        var keyframes = trace.KeyframeInstructions;
        var plan = new SegmentInfo[keyframes.Count];
        for (var k = 0; k < keyframes.Count; k++)
            plan[k] = new SegmentInfo(k, keyframes[k], Math.Max(keyframes[k], k + 1 < keyframes.Count ? keyframes[k + 1] : instructions));

        var results = new byte[plan.Length][];
        var running = new SegmentReplay?[Math.Max(1, Math.Min(workers ?? Environment.ProcessorCount, Math.Max(1, plan.Length)))];
        var runningSegment = new int[running.Length];
        var finished = new long[running.Length];
        var next = 0;
        var done = 0;
        var gate = new Lock();
        ExceptionDispatchInfo? failure = null;

        // The next run of consecutive segments: a share of what is left, so that runs shorten towards the end.
        bool TakeRun(out int first, out int count)
        {
            lock (gate)
            {
                first = next;
                count = Math.Max(1, (plan.Length - next) / (2 * running.Length));
                next = Math.Min(plan.Length, next + count);
                count = next - first;
                return count > 0;
            }
        }

        void Work(int worker)
        {
            try
            {
                // One reader for all of this worker's runs: opening one reads the whole trace file.
                using var reader = TraceReader.Open(tracePath);
                while (failure is null && !cancellation.IsCancellationRequested && TakeRun(out var first, out var count))
                {
                    using var replay = SegmentReplay.Open(reader, first);
                    using var indexer = new SegmentIndexer(replay, plan[first]);
                    for (var k = first; k < first + count && failure is null && !cancellation.IsCancellationRequested; k++)
                    {
                        var segment = plan[k];
                        if (k > first)
                            indexer.Begin(segment);
                        lock (gate)
                            (running[worker], runningSegment[worker]) = (replay, k);
                        try
                        {
                            if (k + 1 < plan.Length)
                                replay.RunToBlockAtOrAfter(segment.End);
                            else
                                replay.RunToEnd();
                        }
                        finally
                        {
                            lock (gate)
                                running[worker] = null;
                        }
                        var (read, write, execute, accessors) = indexer.TakePages();
                        // Kept encoded: decoded, the segments of a long trace would take several times more memory.
                        results[k] = TraceIndex.Encode(segment with { Read = read, Write = write, Execute = execute, Accessors = accessors });
                        Interlocked.Add(ref finished[worker], segment.Length);
                        Interlocked.Increment(ref done);
                    }
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
            }
        }

        var threads = new Thread[running.Length];
        for (var i = 0; i < threads.Length; i++)
        {
            var worker = i;
            threads[i] = new Thread(() => Work(worker)) { Name = $"rewind index {worker}", IsBackground = true };
            threads[i].Start();
        }

        // Meanwhile, on this thread: the sequencing events, for positions.
        var sequencing = new List<long>();
        foreach (var traceEvent in trace.Events())
        {
            if (Rewind.Trace.Positions.Timeline.IsSequencing(traceEvent))
                sequencing.Add(traceEvent.Instruction);
        }

        while (true)
        {
            var allDone = threads.All(t => t.Join(ProgressInterval));
            if (progress is not null)
            {
                long sum = 0;
                lock (gate)
                {
                    for (var i = 0; i < running.Length; i++)
                    {
                        sum += Volatile.Read(ref finished[i]);
                        // The running segment's count, read while its engine runs: fine for a progress bar.
                        if (running[i] is { } replay)
                        {
                            var segment = plan[runningSegment[i]];
                            sum += Math.Clamp(replay.Instructions - segment.Start, 0, segment.Length);
                        }
                    }
                }
                progress.Report(new IndexProgress(Volatile.Read(ref done), plan.Length, Math.Min(sum, instructions), instructions));
            }
            if (allDone)
                break;
        }
        failure?.Throw();
        cancellation.ThrowIfCancellationRequested();
        return new TraceIndex(identity, instructions, sequencing, new TraceIndex.EncodedSegments(plan, results), plan);
    }
}
