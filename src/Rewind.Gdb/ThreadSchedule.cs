using Rewind.Trace;

namespace Rewind.Gdb;

/// <summary>
/// Which thread ran each instruction of the trace: the runs between thread switches, read from the
/// trace's events once. Finds the next or previous instruction that a thread (or any thread of a
/// process) ran, so that stepping one thread passes over what the others did in between.
/// </summary>
internal sealed class ThreadSchedule
{
    readonly long[] _starts; // run k is instructions [_starts[k], _starts[k + 1]) of thread _threads[k]
    readonly long[] _threads;

    ThreadSchedule(long[] starts, long[] threads, long instructions)
    {
        _starts = starts;
        _threads = threads;
        Instructions = instructions;
    }

    public long Instructions { get; }

    public static ThreadSchedule Build(TraceReader trace, long instructions)
    {
        var starts = new List<long> { 0 };
        var threads = new List<long> { 1 }; // the first thread of the run has unique id 1
        foreach (var traceEvent in trace.Events())
        {
            if (traceEvent is not ThreadSwitchEvent threadSwitch)
                continue;
            var start = threadSwitch.Instruction + 1;
            if (starts[^1] == start)
                threads[^1] = threadSwitch.Thread;
            else
            {
                starts.Add(start);
                threads.Add(threadSwitch.Thread);
            }
        }
        return new ThreadSchedule([.. starts], [.. threads], instructions);
    }

    int RunOf(long instruction)
    {
        var k = Array.BinarySearch(_starts, instruction);
        return k >= 0 ? k : ~k - 1;
    }

    long RunEnd(int k) => k + 1 < _starts.Length ? _starts[k + 1] : Instructions;

    /// <summary>The unique id of the thread that runs instruction <paramref name="instruction"/>.</summary>
    public long ThreadAt(long instruction) => _threads[RunOf(instruction)];

    /// <summary>The first instruction at or after <paramref name="from"/> run by a thread that <paramref name="runs"/> accepts.</summary>
    public long? NextOf(Func<long, bool> runs, long from)
    {
        if (from >= Instructions)
            return null;
        for (var k = RunOf(Math.Max(0, from)); k < _starts.Length; k++)
        {
            if (runs(_threads[k]) && RunEnd(k) > _starts[k])
                return Math.Max(_starts[k], from);
        }
        return null;
    }

    /// <summary>The last instruction before <paramref name="before"/> run by a thread that <paramref name="runs"/> accepts.</summary>
    public long? LastOf(Func<long, bool> runs, long before)
    {
        if (before <= 0)
            return null;
        for (var k = RunOf(Math.Min(before, Instructions) - 1); k >= 0; k--)
        {
            if (runs(_threads[k]) && RunEnd(k) > _starts[k])
                return Math.Min(RunEnd(k), before) - 1;
        }
        return null;
    }
}
