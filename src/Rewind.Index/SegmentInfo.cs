namespace Rewind.Index;

/// <summary>Which pages a memory query asks about: data reads, data writes, instruction fetches.</summary>
[Flags]
public enum PageUse
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
}

/// <summary>
/// One segment of a trace: the instructions from keyframe <see cref="Keyframe"/> up to the next
/// keyframe (or the end), with the memory they read, wrote and executed and the stretches of
/// instructions that did it. A segment is cut into 64 chunks of about equal length; the index keeps
/// the chunks in which each line was touched and at most one stretch per chunk for each page, so
/// that a query runs the instructions outside the stretches that touch what it asks about without
/// memory hooks.
/// </summary>
public sealed record SegmentInfo(int Keyframe, long Start, long End)
{
    public const int ChunkCount = 64;

    public PageSet Read { get; init; } = PageSet.Empty;
    public PageSet Write { get; init; } = PageSet.Empty;
    public PageSet Execute { get; init; } = PageSet.Empty;

    /// <summary>For each page read or written, the blocks of code that did it.</summary>
    public AccessorSet Accessors { get; init; } = AccessorSet.Empty;

    public long Length => End - Start;

    /// <summary>The chunk (0 to 63) that holds instruction <paramref name="instruction"/>.</summary>
    public int ChunkOf(long instruction)
    {
        if (Length <= 0 || instruction <= Start)
            return 0;
        if (instruction >= End)
            return ChunkCount - 1;
        return (int)((Int128)(instruction - Start) * ChunkCount / Length);
    }

    /// <summary>The first instruction of chunk <paramref name="chunk"/> (chunk 64: <see cref="End"/>).</summary>
    public long ChunkStart(int chunk)
    {
        if (chunk <= 0)
            return Start;
        if (chunk >= ChunkCount)
            return End;
        // The smallest instruction whose chunk is at least 'chunk'.
        return Start + (long)(((Int128)chunk * Length + ChunkCount - 1) / ChunkCount);
    }

    /// <summary>The chunks in which this segment touched any byte of [first, last] in one of the ways in <paramref name="uses"/>.</summary>
    public ulong ChunksTouching(ulong first, ulong last, PageUse uses)
    {
        ulong chunks = 0;
        if (uses.HasFlag(PageUse.Read))
            chunks |= Read.ChunksTouching(first, last);
        if (uses.HasFlag(PageUse.Write))
            chunks |= Write.ChunksTouching(first, last);
        if (uses.HasFlag(PageUse.Execute))
            chunks |= Execute.ChunksTouching(first, last);
        return chunks;
    }

    /// <summary>
    /// Adds to <paramref name="windows"/> stretches of instructions that hold every time this segment
    /// touched a byte of [first, last] in one of the ways in <paramref name="uses"/> (unsorted, possibly
    /// overlapping): the stretches of the pages that hold the bytes, cut to the chunks in which their lines were touched.
    /// A stretch ends at the last instruction of the last block that touched the page, and a window may
    /// end within a block: a replay that stops at the first block starting after a window runs that block whole.
    /// </summary>
    public void AddWindows(ulong first, ulong last, PageUse uses, List<InstructionRange> windows)
    {
        if (uses.HasFlag(PageUse.Read))
            AddWindows(Read, first, last, windows);
        if (uses.HasFlag(PageUse.Write))
            AddWindows(Write, first, last, windows);
        if (uses.HasFlag(PageUse.Execute))
            AddWindows(Execute, first, last, windows);
    }

    void AddWindows(PageSet set, ulong first, ulong last, List<InstructionRange> windows)
    {
        var chunks = set.ChunksTouching(first, last);
        if (chunks == 0)
            return;
        var stretches = new List<InstructionRange>();
        set.Stretches.AddRanges(first >> PageSet.PageShift, last >> PageSet.PageShift, stretches);
        foreach (var stretch in stretches)
        {
            for (var chunk = ChunkOf(stretch.First); chunk <= ChunkOf(stretch.Last); chunk++)
            {
                if ((chunks & (1UL << chunk)) == 0)
                    continue;
                var window = new InstructionRange(Math.Max(stretch.First, ChunkStart(chunk)), Math.Min(stretch.Last, ChunkStart(chunk + 1) - 1));
                if (window.First <= window.Last)
                    windows.Add(window);
            }
        }
    }
}
