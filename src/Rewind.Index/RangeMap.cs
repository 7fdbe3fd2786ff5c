namespace Rewind.Index;

/// <summary>Instructions <see cref="First"/> to <see cref="Last"/> (inclusive) of a trace.</summary>
public readonly record struct InstructionRange(long First, long Last)
{
    /// <summary>Sorts <paramref name="ranges"/> and merges, in place, those that overlap or lie fewer than <paramref name="gap"/> instructions apart.</summary>
    public static void SortAndMerge(List<InstructionRange> ranges, long gap = 1)
    {
        ranges.Sort(static (a, b) => a.First.CompareTo(b.First));
        var kept = 0;
        for (var i = 0; i < ranges.Count; i++)
        {
            var range = ranges[i];
            if (kept > 0 && range.First <= ranges[kept - 1].Last + gap)
                ranges[kept - 1] = ranges[kept - 1] with { Last = Math.Max(ranges[kept - 1].Last, range.Last) };
            else
                ranges[kept++] = range;
        }
        ranges.RemoveRange(kept, ranges.Count - kept);
    }
}

/// <summary>Keys (pages) in ascending order, each with the stretches of instructions that touched it: ascending, disjoint and not adjacent.</summary>
public sealed class RangeMap
{
    readonly ulong[] _keys;
    readonly int[] _starts; // the ranges of key i are _ranges[_starts[i].._starts[i + 1]]
    readonly InstructionRange[] _ranges;

    public RangeMap(ulong[] keys, int[] starts, InstructionRange[] ranges)
    {
        if (starts.Length != keys.Length + 1 || starts[0] != 0 || starts[^1] != ranges.Length)
            throw new ArgumentException("one start per key, and one past the last");
        (_keys, _starts, _ranges) = (keys, starts, ranges);
    }

    public static RangeMap Empty { get; } = new([], [0], []);

    public int Count => _keys.Length;

    public ReadOnlySpan<ulong> Keys => _keys;

    public ReadOnlySpan<InstructionRange> RangesOf(int index) => _ranges.AsSpan(_starts[index].._starts[index + 1]);

    /// <summary>Adds the ranges of the keys from <paramref name="firstKey"/> to <paramref name="lastKey"/> to <paramref name="ranges"/>.</summary>
    public void AddRanges(ulong firstKey, ulong lastKey, List<InstructionRange> ranges)
    {
        var index = Array.BinarySearch(_keys, firstKey);
        if (index < 0)
            index = ~index;
        for (; index < _keys.Length && _keys[index] <= lastKey; index++)
            ranges.AddRange(RangesOf(index));
    }

    /// <summary>Collects keys in ascending order with their ranges.</summary>
    public sealed class Builder
    {
        readonly List<ulong> _keys = [];
        readonly List<int> _starts = [0];
        readonly List<InstructionRange> _ranges = [];

        /// <summary>Adds <paramref name="key"/> with <paramref name="ranges"/>, which it sorts and merges where they overlap or meet.</summary>
        public void Add(ulong key, List<InstructionRange> ranges)
        {
            InstructionRange.SortAndMerge(ranges);
            _keys.Add(key);
            _ranges.AddRange(ranges);
            _starts.Add(_ranges.Count);
        }

        public RangeMap Build() => new([.. _keys], [.. _starts], [.. _ranges]);
    }
}
