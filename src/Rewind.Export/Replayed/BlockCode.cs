using Rewind.Linux.Execution;

namespace Rewind.Export.Replayed;

/// <summary>The instructions of one translated block: where each starts, its length and its bytes.</summary>
internal sealed class BlockCode(ulong[] pcs, byte[] sizes, byte[] bytes, int[] offsets)
{
    public int Count => pcs.Length;

    public ulong Pc(int index) => pcs[index];

    public int Size(int index) => sizes[index];

    public ReadOnlySpan<byte> Bytes(int index) => bytes.AsSpan(offsets[index], sizes[index]);

    /// <summary>The interned name of the function holding each instruction, once a collector has looked them up (-1: none).</summary>
    public int[]? SymbolIds { get; set; }
}

/// <summary>
/// Decodes each block the replay enters once and keeps it in a direct-mapped cache by address and
/// size, forgotten when code is mapped, unmapped or written, or another process runs.
/// </summary>
internal sealed class BlockCodeCache
{
    const int Bits = 14;

    readonly GuestProcess _process;
    readonly ulong[] _starts = new ulong[1 << Bits];
    readonly uint[] _sizes = new uint[1 << Bits];
    readonly BlockCode?[] _blocks = new BlockCode?[1 << Bits];
    readonly BlockDecoder _decoder = new();
    readonly List<ulong> _pcs = [];
    byte[] _code = new byte[256];

    public BlockCodeCache(GuestProcess process)
    {
        _process = process;
        process.CodeChanged += (_, _) => Array.Clear(_blocks);
    }

    public BlockCode Get(ulong address, uint size)
    {
        var slot = (int)((address ^ (address >> Bits)) & ((1 << Bits) - 1));
        if (_starts[slot] == address && _sizes[slot] == size && _blocks[slot] is { } cached)
            return cached;
        var block = Decode(address, size);
        (_starts[slot], _sizes[slot], _blocks[slot]) = (address, size, block);
        return block;
    }

    BlockCode Decode(ulong address, uint size)
    {
        // The engine reports 0 bytes for a block that faults on its first fetch: one instruction, no bytes.
        if (_code.Length < size)
            _code = new byte[Math.Max(size, (uint)_code.Length * 2)];
        if (size == 0 || !_process.Memory.Peek(address, _code.AsSpan(0, (int)size)))
            return new BlockCode([address], [0], [], [0]);
        var decoder = _decoder.Start(_code, (int)size, address);
        var end = address + size;
        _pcs.Clear();
        while (decoder.IP < end)
        {
            _pcs.Add(decoder.IP);
            decoder.Decode(out _);
        }
        var pcs = _pcs.ToArray();
        var sizes = new byte[pcs.Length];
        var offsets = new int[pcs.Length];
        for (var i = 0; i < pcs.Length; i++)
        {
            offsets[i] = (int)(pcs[i] - address);
            sizes[i] = (byte)((i + 1 < pcs.Length ? pcs[i + 1] : end) - pcs[i]);
        }
        return new BlockCode(pcs, sizes, _code.AsSpan(0, (int)size).ToArray(), offsets);
    }
}
