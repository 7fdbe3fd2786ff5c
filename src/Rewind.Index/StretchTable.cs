using System.Runtime.InteropServices;

namespace Rewind.Index;

/// <summary>
/// Pages touched in one segment, each with the first and last instruction that touched it in each
/// chunk of the segment (keyed by page and chunk, so that a page used at both ends of a segment keeps
/// the gap between): an open-addressing hash table in native memory, so that a memory hook adds to
/// it without allocating (the table grows rarely, by doubling). Pages rather than lines: code that
/// sweeps over memory touches 64 times fewer.
/// </summary>
internal unsafe struct StretchTable
{
    struct Entry
    {
        public ulong Key; // page + 1, so that 0 marks an empty slot
        public long Chunk;
        public long First;
        public long Last;
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

    /// <summary>Notes that instructions <paramref name="first"/> to <paramref name="last"/> of chunk <paramref name="chunk"/> touched <paramref name="page"/>.</summary>
    public void Add(ulong page, long chunk, long first, long last)
    {
        var key = page + 1;
        var mask = (ulong)_capacity - 1;
        var slot = Hash(key, chunk) & mask;
        while (true)
        {
            ref var entry = ref _entries[slot];
            if (entry.Key == key && entry.Chunk == chunk)
            {
                entry.First = Math.Min(entry.First, first);
                entry.Last = Math.Max(entry.Last, last);
                return;
            }
            if (entry.Key == 0)
                break;
            slot = (slot + 1) & mask;
        }
        _entries[slot] = new Entry { Key = key, Chunk = chunk, First = first, Last = last };
        if (++_count * 2 > _capacity)
            Grow();
    }

    static ulong Hash(ulong key, long chunk) => ((key * 0x9E3779B97F4A7C15UL) ^ ((ulong)chunk * 0xC2B2AE3D27D4EB4FUL)) >> 17;

    void Grow()
    {
        var old = _entries;
        var oldCapacity = _capacity;
        Initialize(oldCapacity * 2);
        for (var i = 0; i < oldCapacity; i++)
        {
            if (old[i].Key != 0)
                Add(old[i].Key - 1, old[i].Chunk, old[i].First, old[i].Last);
        }
        NativeMemory.Free(old);
    }

    /// <summary>The pages in ascending order with the stretches of instructions that touched them.</summary>
    public readonly RangeMap ToRangeMap()
    {
        var touches = new (ulong Page, long First, long Last)[_count];
        var n = 0;
        for (var i = 0; i < _capacity; i++)
        {
            if (_entries[i].Key != 0)
                touches[n++] = (_entries[i].Key - 1, _entries[i].First, _entries[i].Last);
        }
        Array.Sort(touches);
        var map = new RangeMap.Builder();
        var ranges = new List<InstructionRange>();
        for (var i = 0; i < n;)
        {
            var page = touches[i].Page;
            ranges.Clear();
            for (; i < n && touches[i].Page == page; i++)
                ranges.Add(new InstructionRange(touches[i].First, touches[i].Last));
            map.Add(page, ranges);
        }
        return map.Build();
    }

    public void Free()
    {
        NativeMemory.Free(_entries);
        _entries = null;
        _capacity = _count = 0;
    }
}
