using System.Globalization;
using Rewind.Index;
using Rewind.Trace.Positions;

namespace Rewind.Query;

/// <summary>The kind of a <see cref="MemoryAccess"/>, as TTD names it.</summary>
public enum MemoryAccessType
{
    Execute,
    Read,
    Write,
}

/// <summary>
/// One access to memory, as TTD.Memory reports it: who (thread), when (the position of the
/// accessing instruction: <see cref="TimeStart"/> = <see cref="TimeEnd"/>), what (read, write or
/// the execution of an instruction), where (<see cref="IP"/>: the instruction; <see cref="Address"/>
/// and <see cref="Size"/>: the bytes) and the value: the bytes packed little-endian, as a number.
/// </summary>
public readonly record struct MemoryAccess
{
#pragma warning disable CA1822 // an instance property, as TTD shows it with each access
    public string EventType => "MemoryAccess";
#pragma warning restore CA1822

    /// <summary>The guest's thread id (tid).</summary>
    public required int ThreadId { get; init; }

    /// <summary>Threads numbered 1, 2, 3... in creation order over the trace; never reused.</summary>
    public required int UniqueThreadId { get; init; }

    /// <summary>The position of the accessing instruction.</summary>
    public required Position TimeStart { get; init; }

    /// <summary>Always <see cref="TimeStart"/>: an access takes one instruction.</summary>
    public Position TimeEnd => TimeStart;

    public required MemoryAccessType AccessType { get; init; }

    /// <summary>The address of the accessing instruction.</summary>
    public required ulong IP { get; init; }

    /// <summary>The first byte accessed (it may lie before the queried range when the access straddles its start).</summary>
    public required ulong Address { get; init; }

    /// <summary>Bytes accessed; for Execute, the instruction's length.</summary>
    public required int Size { get; init; }

    /// <summary>The bytes read, written or executed, packed little-endian (so byte 0 is the lowest).</summary>
    public required UInt128 Value { get; init; }

    /// <summary>The 0-based instruction count of the accessing instruction (PANDA's instr_count).</summary>
    public long InstrCount => TimeStart.Instruction;

    /// <summary>For writes found by a query with 'c' in its mask: the bytes the write replaced.</summary>
    public UInt128? OverwrittenValue { get; init; }

    /// <summary>For an executions query, what it took from the replay at this instruction.</summary>
    internal object? Captured { get; init; }

    /// <summary><see cref="Value"/> as TTD shows it: "0x" and lower-case hex.</summary>
    public string ValueText => Hex(Value);

    public static string Hex(UInt128 value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}

/// <summary>Which accesses a memory query reports: TTD's data access mask, letters r, w, e and c.</summary>
[Flags]
public enum MemoryMask
{
    None = 0,
    /// <summary>r: data reads.</summary>
    Read = 1,
    /// <summary>w: data writes.</summary>
    Write = 2,
    /// <summary>e: instructions executed from the range.</summary>
    Execute = 4,
    /// <summary>c: writes that change the bytes (reported as writes, with the value they replaced).</summary>
    Change = 8,
}

public static class MemoryMasks
{
    /// <summary>Parses a mask such as "rw", "e" or "ec"; anything else is a <see cref="FormatException"/> with a one-line message.</summary>
    public static MemoryMask Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
            throw new FormatException("the access mask is empty: use letters r (read), w (write), e (execute) and c (change)");
        var mask = MemoryMask.None;
        foreach (var letter in text)
        {
            mask |= letter switch
            {
                'r' or 'R' => MemoryMask.Read,
                'w' or 'W' => MemoryMask.Write,
                'e' or 'E' => MemoryMask.Execute,
                'c' or 'C' => MemoryMask.Change,
                _ => throw new FormatException($"'{letter}' is not an access mask letter in \"{text}\": use r (read), w (write), e (execute) and c (change)"),
            };
        }
        return mask;
    }

    public static string ToText(this MemoryMask mask) =>
        (mask.HasFlag(MemoryMask.Read) ? "r" : "") + (mask.HasFlag(MemoryMask.Write) ? "w" : "")
        + (mask.HasFlag(MemoryMask.Execute) ? "e" : "") + (mask.HasFlag(MemoryMask.Change) ? "c" : "");

    /// <summary>The kinds of page use in the index that can hold accesses of <paramref name="mask"/>.</summary>
    internal static PageUse PageUses(this MemoryMask mask) =>
        (mask.HasFlag(MemoryMask.Read) ? PageUse.Read : PageUse.None)
        | (mask.HasFlag(MemoryMask.Write) || mask.HasFlag(MemoryMask.Change) ? PageUse.Write : PageUse.None)
        | (mask.HasFlag(MemoryMask.Execute) ? PageUse.Execute : PageUse.None);
}
