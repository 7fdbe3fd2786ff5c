namespace Rewind.Index;

/// <summary>
/// The memory one segment read, wrote or executed: the 64-byte lines it touched, each with a mask
/// of the segment's 64 chunks in which that happened (bit c: chunk c, see <see cref="SegmentInfo.ChunkOf"/>).
/// Where a segment touched most of a 4 KiB page, the page is kept whole instead of line by line,
/// so that the index stays small for code that sweeps over memory. Lines rather than pages keep a
/// query on a variable from replaying every segment that used its neighbours. For each page, the
/// stretches of instructions that touched it (at most one per chunk, from the first to the last
/// block that did) let a query replay with hooks only the instructions around the accesses.
/// </summary>
public sealed class PageSet
{
    public const int LineShift = 6;
    public const int PageShift = 12;

    /// <summary>A page with at least this many lines touched is kept whole.</summary>
    public const int DenseLines = 16;

    readonly ulong[] _lines;
    readonly ulong[] _lineChunks;
    readonly ulong[] _pages;
    readonly ulong[] _pageChunks;

    public PageSet(ulong[] lines, ulong[] lineChunks, ulong[] pages, ulong[] pageChunks, RangeMap stretches)
    {
        if (lines.Length != lineChunks.Length || pages.Length != pageChunks.Length)
            throw new ArgumentException("one chunk mask per line and per page");
        (_lines, _lineChunks, _pages, _pageChunks, Stretches) = (lines, lineChunks, pages, pageChunks, stretches);
    }

    public static PageSet Empty { get; } = new([], [], [], [], RangeMap.Empty);

    /// <summary>Line numbers (address / 64) touched in pages kept line by line, ascending.</summary>
    public ReadOnlySpan<ulong> Lines => _lines;
    public ReadOnlySpan<ulong> LineChunks => _lineChunks;

    /// <summary>Page numbers (address / 4096) kept whole, ascending.</summary>
    public ReadOnlySpan<ulong> Pages => _pages;
    public ReadOnlySpan<ulong> PageChunks => _pageChunks;

    /// <summary>Every page touched, with the stretches of instructions that touched it.</summary>
    public RangeMap Stretches { get; }

    public int Count => _lines.Length + _pages.Length;

    /// <summary>Builds the set from touched lines in ascending order, keeping dense pages whole.</summary>
    public static PageSet FromLines(ReadOnlySpan<ulong> lines, ReadOnlySpan<ulong> chunks, RangeMap stretches)
    {
        var (keptLines, keptLineChunks, pages, pageChunks) = (new List<ulong>(), new List<ulong>(), new List<ulong>(), new List<ulong>());
        var start = 0;
        while (start < lines.Length)
        {
            var page = lines[start] >> (PageShift - LineShift);
            var end = start;
            ulong union = 0;
            while (end < lines.Length && lines[end] >> (PageShift - LineShift) == page)
                union |= chunks[end++];
            if (end - start >= DenseLines)
            {
                pages.Add(page);
                pageChunks.Add(union);
            }
            else
            {
                for (var i = start; i < end; i++)
                {
                    keptLines.Add(lines[i]);
                    keptLineChunks.Add(chunks[i]);
                }
            }
            start = end;
        }
        return new PageSet([.. keptLines], [.. keptLineChunks], [.. pages], [.. pageChunks], stretches);
    }

    /// <summary>The chunks in which any byte from <paramref name="first"/> to <paramref name="last"/> (inclusive) was touched; 0 when none was.</summary>
    public ulong ChunksTouching(ulong first, ulong last) =>
        Touching(_lines, _lineChunks, first >> LineShift, last >> LineShift) | Touching(_pages, _pageChunks, first >> PageShift, last >> PageShift);

    static ulong Touching(ulong[] keys, ulong[] chunks, ulong firstKey, ulong lastKey)
    {
        var index = Array.BinarySearch(keys, firstKey);
        if (index < 0)
            index = ~index;
        ulong touched = 0;
        for (; index < keys.Length && keys[index] <= lastKey; index++)
            touched |= chunks[index];
        return touched;
    }
}
