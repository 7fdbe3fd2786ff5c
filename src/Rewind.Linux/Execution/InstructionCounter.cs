using Iced.Intel;
using Rewind.Linux.Memory;

namespace Rewind.Linux.Execution;

/// <summary>
/// Counts instructions per translated block: the engine reports each block it enters, and the
/// number of instructions in a block is decoded once, when the block is first seen, then looked
/// up in a direct-mapped cache. No per-instruction hook is needed.
/// </summary>
public sealed class InstructionCounter
{
    const int CacheBits = 16;
    const int CacheMask = (1 << CacheBits) - 1;

    readonly AddressSpace _memory;
    readonly ulong[] _addresses = new ulong[1 << CacheBits];
    readonly uint[] _sizes = new uint[1 << CacheBits];
    readonly ushort[] _counts = new ushort[1 << CacheBits];
    byte[] _code = new byte[256];

    public InstructionCounter(AddressSpace memory)
    {
        _memory = memory;
        memory.CodeChanged += (_, _) => Clear();
    }

    /// <summary>Instructions in the block at <paramref name="address"/> of <paramref name="size"/> bytes.</summary>
    public int CountBlock(ulong address, uint size)
    {
        var slot = (int)((address ^ (address >> CacheBits)) & CacheMask);
        if (_addresses[slot] == address && _sizes[slot] == size && _counts[slot] != 0)
            return _counts[slot];
        var count = Decode(address, size);
        _addresses[slot] = address;
        _sizes[slot] = size;
        _counts[slot] = (ushort)count;
        return count;
    }

    /// <summary>Instructions from <paramref name="address"/> up to (not including) <paramref name="stop"/>.</summary>
    public int CountBetween(ulong address, ulong stop) => stop <= address ? 0 : Decode(address, (uint)(stop - address));

    int Decode(ulong address, uint size)
    {
        if (size == 0)
            return 1; // the engine reports 0 bytes for a block that faults on its first fetch
        if (_code.Length < size)
            _code = new byte[Math.Max(size, (uint)_code.Length * 2)];
        if (!_memory.Peek(address, _code.AsSpan(0, (int)size)))
            return 1;
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(_code, 0, (int)size), address);
        var end = address + size;
        var count = 0;
        while (decoder.IP < end)
        {
            decoder.Decode(out _);
            count++;
        }
        return count;
    }

    public void Clear() => Array.Clear(_counts);
}
