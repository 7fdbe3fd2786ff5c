using System.Runtime.InteropServices;

namespace Rewind.Index;

/// <summary>
/// Which blocks of code read or wrote each page in one segment: (page, block start, block size)
/// triples in an open-addressing hash table in native memory, filled by the memory hook without
/// allocating (it grows rarely, by doubling).
/// </summary>
internal unsafe struct AccessorTable
{
    struct Entry
    {
        public ulong Page; // + 1, so that 0 marks an empty slot
        public ulong Block;
        public uint Size;
    }

    Entry* _entries;
    int _capacity;
    int _count;

    public void Initialize(int capacity = 1024)
    {
        _capacity = capacity;
        _count = 0;
        _entries = (Entry*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(Entry));
    }

    public void Add(ulong page, ulong block, uint size)
    {
        var key = page + 1;
        var mask = (ulong)_capacity - 1;
        var slot = Hash(key, block) & mask;
        while (true)
        {
            ref var entry = ref _entries[slot];
            if (entry.Page == key && entry.Block == block)
            {
                entry.Size = Math.Max(entry.Size, size);
                return;
            }
            if (entry.Page == 0)
                break;
            slot = (slot + 1) & mask;
        }
        _entries[slot] = new Entry { Page = key, Block = block, Size = size };
        if (++_count * 2 > _capacity)
            Grow();
    }

    public static ulong Hash(ulong page, ulong block) => ((page * 0x9E3779B97F4A7C15UL) ^ (block * 0xC2B2AE3D27D4EB4FUL)) >> 17;

    void Grow()
    {
        var old = _entries;
        var oldCapacity = _capacity;
        Initialize(oldCapacity * 2);
        for (var i = 0; i < oldCapacity; i++)
        {
            if (old[i].Page != 0)
                Add(old[i].Page - 1, old[i].Block, old[i].Size);
        }
        NativeMemory.Free(old);
    }

    /// <summary>The table as an <see cref="AccessorSet"/>: pages ascending, each with its blocks or, past the limit, "too many".</summary>
    public readonly AccessorSet ToAccessorSet()
    {
        var triples = new (ulong Page, ulong Block, uint Size)[_count];
        var n = 0;
        for (var i = 0; i < _capacity; i++)
        {
            if (_entries[i].Page != 0)
                triples[n++] = (_entries[i].Page - 1, _entries[i].Block, _entries[i].Size);
        }
        Array.Sort(triples);
        return AccessorSet.FromSorted(triples);
    }

    public void Free()
    {
        NativeMemory.Free(_entries);
        _entries = null;
        _capacity = _count = 0;
    }
}

/// <summary>
/// For each page one segment read or wrote, the blocks of code that did it (start and size), or
/// "too many" when more than <see cref="Limit"/> did. A query puts its code hooks on these blocks
/// alone, so that only the code that can touch the range pays for them.
/// </summary>
public sealed class AccessorSet
{
    /// <summary>Pages read or written by more blocks than this keep no list.</summary>
    public const int Limit = 64;

    readonly ulong[] _pages;
    readonly int[] _starts; // index of each page's first block in _blocks; -1: too many
    readonly (ulong Start, uint Size)[] _blocks;

    public AccessorSet(ulong[] pages, int[] starts, (ulong Start, uint Size)[] blocks)
    {
        if (pages.Length != starts.Length)
            throw new ArgumentException("one start per page", nameof(starts));
        (_pages, _starts, _blocks) = (pages, starts, blocks);
    }

    public static AccessorSet Empty { get; } = new([], [], []);

    public int PageCount => _pages.Length;

    public static AccessorSet FromSorted(ReadOnlySpan<(ulong Page, ulong Block, uint Size)> triples)
    {
        var pages = new List<ulong>();
        var starts = new List<int>();
        var blocks = new List<(ulong, uint)>();
        var i = 0;
        while (i < triples.Length)
        {
            var page = triples[i].Page;
            var end = i;
            while (end < triples.Length && triples[end].Page == page)
                end++;
            pages.Add(page);
            if (end - i > Limit)
            {
                starts.Add(-1);
            }
            else
            {
                starts.Add(blocks.Count);
                for (var j = i; j < end; j++)
                    blocks.Add((triples[j].Block, triples[j].Size));
            }
            i = end;
        }
        return new AccessorSet([.. pages], [.. starts], [.. blocks]);
    }

    /// <summary>Each page with its blocks (null: too many), in order, for saving.</summary>
    public IEnumerable<(ulong Page, IReadOnlyList<(ulong Start, uint Size)>? Blocks)> Entries()
    {
        for (var i = 0; i < _pages.Length; i++)
            yield return (_pages[i], BlocksOf(i));
    }

    (ulong Start, uint Size)[]? BlocksOf(int index)
    {
        if (_starts[index] < 0)
            return null;
        var end = _blocks.Length;
        for (var next = index + 1; next < _starts.Length; next++)
        {
            if (_starts[next] >= 0)
            {
                end = _starts[next];
                break;
            }
        }
        return _blocks[_starts[index]..end];
    }

    /// <summary>
    /// Adds the blocks that read or wrote any page from <paramref name="firstPage"/> to
    /// <paramref name="lastPage"/> to <paramref name="blocks"/>; false when a page had too many to list.
    /// </summary>
    public bool TryGetBlocks(ulong firstPage, ulong lastPage, ICollection<(ulong Start, uint Size)> blocks)
    {
        var index = Array.BinarySearch(_pages, firstPage);
        if (index < 0)
            index = ~index;
        for (; index < _pages.Length && _pages[index] <= lastPage; index++)
        {
            if (BlocksOf(index) is not { } list)
                return false;
            foreach (var block in list)
                blocks.Add(block);
        }
        return true;
    }
}
