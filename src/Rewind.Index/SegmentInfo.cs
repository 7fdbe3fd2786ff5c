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
/// keyframe (or the end), with the memory they read, wrote and executed. A segment is cut into 64
/// chunks of about equal length, so that a query can run the chunks that touch nothing it asks
/// about without memory hooks.
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

    /// <summary>The mask of the chunks that hold instructions <paramref name="first"/> to <paramref name="last"/>.</summary>
    public ulong ChunksBetween(long first, long last)
    {
        var a = ChunkOf(first);
        var b = ChunkOf(last);
        var upper = b == 63 ? ulong.MaxValue : (1UL << (b + 1)) - 1;
        return upper & ~((1UL << a) - 1);
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
    /// The instruction ranges [start, end) covering the chunks in <paramref name="chunks"/>,
    /// adjacent chunks merged, in order.
    /// </summary>
    public IEnumerable<(long Start, long End)> Windows(ulong chunks)
    {
        var chunk = 0;
        while (chunk < ChunkCount)
        {
            if ((chunks & (1UL << chunk)) == 0)
            {
                chunk++;
                continue;
            }
            var first = chunk;
            while (chunk < ChunkCount && (chunks & (1UL << chunk)) != 0)
                chunk++;
            yield return (ChunkStart(first), ChunkStart(chunk));
        }
    }
}
