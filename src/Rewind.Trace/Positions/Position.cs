using System.Globalization;

namespace Rewind.Trace.Positions;

/// <summary>
/// A point in a trace as TTD names it: Sequence (one more at each instruction that has a
/// sequencing event: syscall, module load or unload, thread start, switch or exit, signal) and
/// Steps (instructions since). Printed in upper-case hex, "5D:113". Each position is exactly one
/// 0-based instruction count, and positions sort in execution order.
/// </summary>
public readonly record struct Position(long Sequence, long Steps, long Instruction) : IComparable<Position>
{
    public int CompareTo(Position other) => Instruction.CompareTo(other.Instruction);

    public override string ToString() => $"{Sequence:X}:{Steps:X}";

    public static bool operator <(Position left, Position right) => left.Instruction < right.Instruction;
    public static bool operator >(Position left, Position right) => left.Instruction > right.Instruction;
    public static bool operator <=(Position left, Position right) => left.Instruction <= right.Instruction;
    public static bool operator >=(Position left, Position right) => left.Instruction >= right.Instruction;
}

/// <summary>A position as the user typed it, before it is checked against a trace.</summary>
public abstract record PositionText
{
    /// <summary>"SEQ:STEPS" in hex.</summary>
    public sealed record SequenceSteps(long Sequence, long Steps) : PositionText;

    /// <summary>"50%" (up to two decimals).</summary>
    public sealed record Percent(double Value) : PositionText;

    /// <summary>A plain decimal instruction count.</summary>
    public sealed record Instruction(long Count) : PositionText;

    /// <summary>Parses a position; a malformed one is a <see cref="FormatException"/> with a one-line message.</summary>
    public static PositionText Parse(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.EndsWith('%'))
        {
            if (double.TryParse(trimmed[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var percent) && percent is >= 0 and <= 100)
                return new Percent(percent);
            throw new FormatException($"'{text}' is not a percentage from 0% to 100%");
        }
        var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            if (long.TryParse(trimmed[..colon], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var sequence) && sequence >= 0
                && long.TryParse(trimmed[(colon + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var steps) && steps >= 0)
                return new SequenceSteps(sequence, steps);
            throw new FormatException($"'{text}' is not a position: expected SEQUENCE:STEPS in hex, like 5D:113");
        }
        if (long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            return new Instruction(count);
        throw new FormatException($"'{text}' is not a position: expected SEQUENCE:STEPS in hex (5D:113), a percentage (50%) or an instruction count");
    }
}
