using System.Runtime.InteropServices;

namespace Rewind.Index;

/// <summary>
/// Lines (or any other keys) touched in one segment, each with a 64-bit mask of the parts of the
/// segment (chunks) that touched it: an open-addressing hash table in native memory, so that a
/// memory hook adds to it without allocating (the table grows rarely, by doubling).
/// </summary>
internal unsafe struct PageTable
{
    // Keys are page numbers + 1, so that 0 marks an empty slot.
    ulong* _keys;
    ulong* _masks;
    int _capacity;
    int _count;

    public readonly int Count => _count;

    public void Initialize(int capacity = 1024)
    {
        _capacity = capacity;
        _count = 0;
        _keys = (ulong*)NativeMemory.AllocZeroed((nuint)capacity, sizeof(ulong));
        _masks = (ulong*)NativeMemory.AllocZeroed((nuint)capacity, sizeof(ulong));
    }

    /// <summary>Marks <paramref name="line"/> as touched in the chunks of <paramref name="chunks"/>.</summary>
    public void Add(ulong line, ulong chunks)
    {
        var key = line + 1;
        var mask = (ulong)_capacity - 1;
        var slot = Hash(key) & mask;
        while (true)
        {
            var existing = _keys[slot];
            if (existing == key)
            {
                _masks[slot] |= chunks;
                return;
            }
            if (existing == 0)
                break;
            slot = (slot + 1) & mask;
        }
        _keys[slot] = key;
        _masks[slot] = chunks;
        if (++_count * 2 > _capacity)
            Grow();
    }

    static ulong Hash(ulong key) => (key * 0x9E3779B97F4A7C15UL) >> 17;

    void Grow()
    {
        var oldKeys = _keys;
        var oldMasks = _masks;
        var oldCapacity = _capacity;
        Initialize(oldCapacity * 2);
        for (var i = 0; i < oldCapacity; i++)
        {
            if (oldKeys[i] != 0)
                Add(oldKeys[i] - 1, oldMasks[i]);
        }
        NativeMemory.Free(oldKeys);
        NativeMemory.Free(oldMasks);
    }

    /// <summary>The lines in ascending order with their chunk masks, as a <see cref="PageSet"/> with <paramref name="stretches"/>.</summary>
    public readonly PageSet ToPageSet(RangeMap stretches)
    {
        var lines = new ulong[_count];
        var masks = new ulong[_count];
        var n = 0;
        for (var i = 0; i < _capacity; i++)
        {
            if (_keys[i] != 0)
            {
                lines[n] = _keys[i] - 1;
                masks[n] = _masks[i];
                n++;
            }
        }
        Array.Sort(lines, masks);
        return PageSet.FromLines(lines, masks, stretches);
    }

    public void Free()
    {
        NativeMemory.Free(_keys);
        NativeMemory.Free(_masks);
        _keys = null;
        _masks = null;
        _capacity = _count = 0;
    }
}
