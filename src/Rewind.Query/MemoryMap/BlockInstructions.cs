using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;
using Rewind.Engine;
using Rewind.Linux.Execution;

namespace Rewind.Query.MemoryMap;

/// <summary>Who ran a block: the " process=.. pid=.. tid=.. in_kernel=.." and " image_.." parts of its memorymap lines.</summary>
internal readonly record struct BlockOwner(byte[] Process, byte[] Image);

/// <summary>
/// Instructions <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1 ran, at
/// <paramref name="pcs"/>[0..count), by <paramref name="owner"/> as it was when the block was entered.
/// </summary>
internal delegate void InstructionsRan(long first, ulong[] pcs, int count, BlockOwner owner);

/// <summary>
/// Reports every instruction a replay runs, a block at a time, from a block hook rather than a hook
/// on every instruction (which costs more than the rest of a memorymap line). The addresses of a
/// block's instructions are decoded once per block. A block is reported when the next one starts,
/// cut to the instructions before that one's first: a block left early (a fault that a signal
/// handler takes over) is not reported past where it stopped. <see cref="Flush"/> reports the last.
/// Who ran a block (thread, process, image) is asked for when the block is entered, since by the time
/// it is reported another thread or process may run.
/// </summary>
internal sealed unsafe class BlockInstructions : IDisposable
{
    const int CacheBits = 14;
    const int CacheMask = (1 << CacheBits) - 1;

    readonly GuestProcess _process;
    readonly InstructionCounter _counter;
    readonly InstructionsRan _report;
    readonly Func<ulong, BlockOwner> _describe;
    readonly ulong[] _cachedStart = new ulong[1 << CacheBits];
    readonly uint[] _cachedSize = new uint[1 << CacheBits];
    readonly ulong[]?[] _cachedPcs = new ulong[]?[1 << CacheBits];
    readonly List<ulong> _decoded = [];
    byte[] _code = new byte[256];
    readonly BlockDecoder _decoder = new();
    ulong[]? _pendingPcs;
    long _pendingFirst;
    BlockOwner _pendingOwner;
    GCHandle _self;

    public BlockInstructions(GuestProcess process, Func<ulong, BlockOwner> describe, InstructionsRan report)
    {
        _process = process;
        _counter = process.Counter;
        _describe = describe;
        _report = report;
        process.CodeChanged += (_, _) => Array.Clear(_cachedPcs);
        _self = GCHandle.Alloc(this);
        // After the block counter's hook (hooks run in the order they were added), so its count of this block is known.
        process.Cpu.AddHook(HookType.Block, (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnBlock, (void*)GCHandle.ToIntPtr(_self));
        if (process.Instructions > 0)
            process.Cpu.DropAllTranslations(); // code ran already: translated again, it gets the hook
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnBlock(nint engine, ulong address, uint size, void* user)
    {
        var self = Unsafe.As<BlockInstructions>(GCHandle.FromIntPtr((nint)user).Target!);
        try
        {
            self.Entered(address, size);
        }
        catch (Exception e)
        {
            self._process.Fail(e); // comes out of Run, not through the engine
        }
    }

    void Entered(ulong address, uint size)
    {
        var first = _counter.BlockFirst;
        // Not counted: the counter sends the block to be translated again, and it is counted when it runs.
        if (_counter.Instructions == first)
            return;
        Flush(first);
        _pendingPcs = PcsOf(address, size);
        _pendingFirst = first;
        _pendingOwner = _describe(address);
    }

    /// <summary>Reports the block that is running, up to (not including) instruction <paramref name="next"/>.</summary>
    public void Flush(long next)
    {
        if (_pendingPcs is not { } pcs)
            return;
        _pendingPcs = null;
        var ran = (int)Math.Clamp(next - _pendingFirst, 0, pcs.Length);
        if (ran > 0)
            _report(_pendingFirst, pcs, ran, _pendingOwner);
    }

    ulong[] PcsOf(ulong address, uint size)
    {
        var slot = (int)((address ^ (address >> CacheBits)) & CacheMask);
        if (_cachedStart[slot] == address && _cachedSize[slot] == size && _cachedPcs[slot] is { } cached)
            return cached;
        var pcs = Decode(address, size);
        (_cachedStart[slot], _cachedSize[slot], _cachedPcs[slot]) = (address, size, pcs);
        return pcs;
    }

    /// <summary>The address of each instruction in the block [address, address + size), as the counter counts them.</summary>
    ulong[] Decode(ulong address, uint size)
    {
        if (size == 0)
            return [address]; // the engine reports 0 bytes for a block that faults on its first fetch
        if (_code.Length < size)
            _code = new byte[Math.Max(size, (uint)_code.Length * 2)];
        if (!_process.Memory.Peek(address, _code.AsSpan(0, (int)size)))
            return [address];
        var decoder = _decoder.Start(_code, (int)size, address);
        var end = address + size;
        _decoded.Clear();
        while (decoder.IP < end)
        {
            _decoded.Add(decoder.IP);
            decoder.Decode(out _);
        }
        return [.. _decoded];
    }

    public void Dispose()
    {
        if (_self.IsAllocated)
            _self.Free();
    }
}
