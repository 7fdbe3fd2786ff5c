namespace Rewind.Trace.Positions;

/// <summary>
/// Maps instruction counts to positions and back for one trace: where each sequence starts.
/// Built from the trace's events in one pass.
/// </summary>
public sealed class Timeline
{
    readonly long[] _sequenceStarts;

    public Timeline(IReadOnlyList<long> sequencingInstructions, long instructions)
    {
        var starts = new List<long>(sequencingInstructions.Count + 1) { 0 };
        foreach (var instruction in sequencingInstructions)
        {
            // The event's instruction ends its sequence; the next one starts right after it.
            var start = instruction + 1;
            if (start > starts[^1] && start < instructions)
                starts.Add(start);
        }
        _sequenceStarts = [.. starts];
        Instructions = instructions;
    }

    /// <summary>Instructions in the trace: valid counts are 0 to Instructions - 1.</summary>
    public long Instructions { get; }

    public long Sequences => _sequenceStarts.Length;

    /// <summary>The trace's first and last positions (TTD's Lifetime).</summary>
    public (Position Start, Position End) Lifetime => (At(0), At(Math.Max(0, Instructions - 1)));

    /// <summary>Builds the timeline of <paramref name="trace"/>: every syscall, signal, thread switch and module (un)load is a sequencing event.</summary>
    public static Timeline Of(TraceReader trace)
    {
        var points = new List<long>();
        foreach (var traceEvent in trace.Events())
        {
            if (IsSequencing(traceEvent))
                points.Add(traceEvent.Instruction);
        }
        return new Timeline(points, trace.End?.Instructions ?? trace.LastRecordedInstruction());
    }

    /// <summary>Whether an event starts a new sequence after its instruction: syscalls, signals, exits and thread switches.</summary>
    public static bool IsSequencing(TraceEvent traceEvent) => traceEvent is SyscallEvent or SignalEvent or ExitEvent or ThreadSwitchEvent;

    /// <summary>The position of instruction <paramref name="instruction"/>.</summary>
    public Position At(long instruction)
    {
        if (instruction < 0 || instruction >= Math.Max(1, Instructions))
            throw new ArgumentOutOfRangeException(nameof(instruction), $"instruction {instruction} is outside the trace (0 to {Instructions - 1})");
        var index = Array.BinarySearch(_sequenceStarts, instruction);
        var sequence = index >= 0 ? index : ~index - 1;
        return new Position(sequence, instruction - _sequenceStarts[sequence], instruction);
    }

    /// <summary>The first instruction after sequence <paramref name="sequence"/> (the trace's instruction count for the last one).</summary>
    public long SequenceEnd(long sequence) => sequence + 1 < _sequenceStarts.Length ? _sequenceStarts[sequence + 1] : Instructions;

    /// <summary>Resolves what the user typed; an impossible position is an <see cref="ArgumentOutOfRangeException"/> with a one-line message.</summary>
    public Position Resolve(PositionText text) => text switch
    {
        PositionText.Instruction count => At(count.Count),
        PositionText.Percent percent => At(Math.Min(Math.Max(0, Instructions - 1), (long)Math.Floor(Instructions * percent.Value / 100))),
        PositionText.SequenceSteps position => FromSequence(position.Sequence, position.Steps),
        _ => throw new ArgumentOutOfRangeException(nameof(text)),
    };

    Position FromSequence(long sequence, long steps)
    {
        if (sequence >= _sequenceStarts.Length)
            throw new ArgumentOutOfRangeException(nameof(sequence), $"position {sequence:X}:{steps:X} is past the end of the trace (last sequence {_sequenceStarts.Length - 1:X})");
        var end = SequenceEnd(sequence);
        if (_sequenceStarts[sequence] + steps >= end)
            throw new ArgumentOutOfRangeException(nameof(steps), $"position {sequence:X}:{steps:X} does not exist: sequence {sequence:X} has {end - _sequenceStarts[sequence]:X} steps");
        return new Position(sequence, steps, _sequenceStarts[sequence] + steps);
    }
}
