using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Index;
using Rewind.Linux.Execution;
using Rewind.Trace.Positions;

namespace Rewind.Query;

/// <summary>
/// The hooks of one memory query on one segment's replay, installed for the parts of the segment
/// (windows) that the index says can hold matches. Memory hooks are limited to the queried range,
/// so the callback runs only for accesses near it. The engine does not keep RIP current in memory
/// hooks (measured on Unicorn 2.1.1: it holds the address of an earlier instruction), so code
/// hooks note the pc of each instruction in native memory while data accesses are watched: on the
/// blocks that the index says read or wrote the range's pages, or on all code when it cannot say.
/// An access's exact count is the count at the start of its block plus the instructions before it
/// there. Execution is watched by a code hook on the range alone. The accessing thread is the one
/// running in the replay.
/// </summary>
internal sealed unsafe class MemoryScanner : IDisposable
{
    struct State
    {
        public ulong Pc;
    }

    readonly SegmentReplay _replay;
    readonly SegmentInfo _segment;
    readonly MemoryQuerySpec _query;
    readonly Timeline _timeline;
    readonly InstructionCounter _counter;
    readonly AccessBatches _output;
    readonly State* _state;
    readonly Dictionary<(ulong Block, ulong Pc), int> _prefixes = [];
    readonly List<nuint> _hooks = [];
    readonly List<MemoryAccess> _pending = [];
    long _pendingInstruction = -1;
    GCHandle _self;

    public MemoryScanner(SegmentReplay replay, SegmentInfo segment, MemoryQuerySpec query, Timeline timeline, AccessBatches output)
    {
        _replay = replay;
        _segment = segment;
        _query = query;
        _timeline = timeline;
        _output = output;
        _counter = replay.Process.Counter;
        _state = (State*)NativeMemory.AllocZeroed((nuint)sizeof(State));
        _self = GCHandle.Alloc(this);
        replay.Process.CodeChanged += ForgetPrefixes;
    }

    void ForgetPrefixes(ulong start, ulong end) => _prefixes.Clear();

    /// <summary>Set from another thread to stop: the next hit pauses the replay.</summary>
    public volatile bool Cancelled;

    /// <summary>An access came from code the pc hooks did not cover; the results delivered so far are good.</summary>
    public bool Stale { get; private set; }

    /// <summary>Accesses at or before this instruction are left out (they were delivered by an earlier scan).</summary>
    public long SkipThrough { get; init; } = -1;

    /// <summary>The instruction of the last access handed to the reader (-1: none).</summary>
    public long LastDelivered { get; private set; } = -1;

    bool _sparse;

    /// <summary>Stops the replay soon; safe to call from another thread.</summary>
    public void Cancel()
    {
        Cancelled = true;
        _replay.Process.Pause();
    }

    /// <summary>
    /// Installs the hooks. <paramref name="accessors"/> are the code ranges that can read or write
    /// the range (pc hooks go there only); null: any code can.
    /// </summary>
    public void Install(IReadOnlyList<(ulong Start, ulong End)>? accessors)
    {
        var cpu = _replay.Cpu;
        var user = (void*)GCHandle.ToIntPtr(_self);
        var (begin, end, mask) = (_query.Begin, _query.End, _query.Mask);
        // Accesses up to 16 bytes long that start before the range can still overlap it.
        var low = begin >= 16 ? begin - 16 : 0;
        if ((mask & (MemoryMask.Read | MemoryMask.Write | MemoryMask.Change)) != 0)
        {
            _sparse = accessors is not null;
            if (accessors is null)
            {
                _hooks.Add(cpu.AddHook(HookType.Code, (delegate* unmanaged[Cdecl]<nint, ulong, uint, State*, void>)&OnPc, _state));
            }
            else
            {
                foreach (var (start, stop) in accessors)
                    _hooks.Add(cpu.AddHook(HookType.Code, (delegate* unmanaged[Cdecl]<nint, ulong, uint, State*, void>)&OnPc, _state, start, stop - 1));
            }
            // A read hook (here on address 0 only) makes the engine take its slow path for every
            // access, where the hooks are called; read-after hooks alone would not.
            _hooks.Add(cpu.AddHook(HookType.MemRead, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, void*, void>)&OnNothing, null, 0, 0));
            if (mask.HasFlag(MemoryMask.Read))
                _hooks.Add(cpu.AddHook(HookType.MemReadAfter, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, void*, void>)&OnRead, user, low, end - 1));
            if ((mask & (MemoryMask.Write | MemoryMask.Change)) != 0)
                _hooks.Add(cpu.AddHook(HookType.MemWrite, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, void*, void>)&OnWrite, user, low, end - 1));
        }
        if (_query.Points is { } points)
        {
            foreach (var (start, stop) in MemoryQuery.MergeRanges(points.Select(p => (p, p + 1)), MaxPointHooks))
                _hooks.Add(cpu.AddHook(HookType.Code, (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnExecute, user, start, stop - 1));
        }
        else if (mask.HasFlag(MemoryMask.Execute))
        {
            _hooks.Add(cpu.AddHook(HookType.Code, (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnExecute, user, begin >= 15 ? begin - 15 : 0, end - 1));
        }
        _replay.DropTranslatedCode();
    }

    /// <summary>At most this many code hooks for the points of an executions query; points between them in one hook are told apart in the callback.</summary>
    const int MaxPointHooks = 16;

    /// <summary>Removes the hooks; safe inside the run (the replay calls it as it stops at a window's end, see <see cref="SegmentReplay.Stopping"/>).</summary>
    public void RemoveHooks()
    {
        foreach (var hook in _hooks)
            _replay.Cpu.RemoveHook(hook);
        _hooks.Clear();
    }

    /// <summary>After a window: delivers what is pending, removes the hooks if still there, and drops the code translated with them.</summary>
    public void Remove()
    {
        if (!Stale)
            FlushPending();
        RemoveHooks();
        _replay.DropTranslatedCode();
    }

    static MemoryScanner From(void* user) => Unsafe.As<MemoryScanner>(GCHandle.FromIntPtr((nint)user).Target!);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnPc(nint engine, ulong address, uint size, State* state) => state->Pc = address;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnNothing(nint engine, int type, ulong address, int size, long value, void* user)
    {
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnRead(nint engine, int type, ulong address, int size, long value, void* user) =>
        From(user).Guard(MemoryAccessType.Read, address, size, (ulong)value);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnWrite(nint engine, int type, ulong address, int size, long value, void* user) =>
        From(user).Guard(MemoryAccessType.Write, address, size, (ulong)value);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnExecute(nint engine, ulong address, uint size, void* user) =>
        From(user).Guard(MemoryAccessType.Execute, address, (int)size, 0);

    /// <summary>Failures inside a hook cannot unwind through the engine: they stop the replay and are rethrown after it.</summary>
    public Exception? Failure { get; private set; }

    void Guard(MemoryAccessType type, ulong address, int size, ulong value)
    {
        try
        {
            if (type == MemoryAccessType.Execute)
                Executed(address, size);
            else
                Data(type, address, size, value);
        }
        catch (Exception e)
        {
            Failure ??= e;
            Cancelled = true;
            _replay.Process.Pause();
        }
    }

    bool Overlaps(ulong address, int size) => address < _query.End && address + (ulong)Math.Max(size, 1) > _query.Begin;

    void Data(MemoryAccessType type, ulong address, int size, ulong value)
    {
        if (!Overlaps(address, size))
            return;
        if (Cancelled)
        {
            _replay.Process.Pause();
            return;
        }
        var pc = _state->Pc;
        if (_sparse && (pc < _counter.BlockStart || pc >= _counter.BlockEnd))
        {
            // No pc hook ran in this block: the index did not list the code that made this access.
            // The segment is scanned again with pc hooks everywhere.
            Stale = true;
            Cancelled = true;
            _replay.Process.Pause();
            return;
        }
        var instruction = InstructionAt(pc);
        if (instruction < _segment.Start || instruction >= _segment.End || instruction <= SkipThrough)
            return;
        UInt128 bytes = size >= 8 ? value : value & ((1UL << (size * 8)) - 1);
        if (size > 8 && type == MemoryAccessType.Read)
            bytes = ReadValue(address, size); // after the read, memory holds what was read
        UInt128? overwritten = null;
        if (type == MemoryAccessType.Write && _query.Mask.HasFlag(MemoryMask.Change))
        {
            // The write hook runs before the bytes are stored: memory still holds the old ones.
            var old = ReadValue(address, size);
            if (!ChangesRange(address, size, old, bytes) && !_query.Mask.HasFlag(MemoryMask.Write))
                return;
            overwritten = old;
        }
        var thread = _replay.Process.CurrentThread;
        Add(new MemoryAccess
        {
            ThreadId = thread.Tid,
            UniqueThreadId = (int)thread.UniqueId,
            TimeStart = _timeline.At(instruction),
            AccessType = type,
            IP = pc,
            Address = address,
            Size = size,
            Value = bytes,
            OverwrittenValue = overwritten,
        });
    }

    /// <summary>Whether a write of <paramref name="size"/> bytes at <paramref name="address"/> changes a byte of the queried range.</summary>
    bool ChangesRange(ulong address, int size, UInt128 old, UInt128 written)
    {
        for (var i = 0; i < Math.Min(size, 16); i++)
        {
            var at = address + (ulong)i;
            if (at >= _query.Begin && at < _query.End && (byte)(old >> (i * 8)) != (byte)(written >> (i * 8)))
                return true;
        }
        return false;
    }

    UInt128 ReadValue(ulong address, int size)
    {
        Span<byte> buffer = stackalloc byte[16];
        var span = buffer[..Math.Min(size, 16)];
        if (!_replay.Process.Memory.Peek(address, span))
            return 0;
        return BinaryPrimitives.ReadUInt128LittleEndian(buffer);
    }

    void Executed(ulong address, int size)
    {
        if (_query.Points is { } points ? !points.Contains(address) : !Overlaps(address, size))
            return;
        if (Cancelled)
        {
            _replay.Process.Pause();
            return;
        }
        var instruction = InstructionAt(address);
        if (instruction < _segment.Start || instruction >= _segment.End || instruction <= SkipThrough || instruction < _query.From)
            return;
        var thread = _replay.Process.CurrentThread;
        Add(new MemoryAccess
        {
            ThreadId = thread.Tid,
            UniqueThreadId = (int)thread.UniqueId,
            TimeStart = _timeline.At(instruction),
            AccessType = MemoryAccessType.Execute,
            IP = address,
            Address = address,
            Size = size,
            Value = ReadValue(address, size),
            Captured = _query.Capture?.Invoke(_replay, instruction),
        });
    }

    /// <summary>The exact count of the instruction at <paramref name="pc"/> in the block being run.</summary>
    long InstructionAt(ulong pc)
    {
        var block = _counter.BlockStart;
        if (!_prefixes.TryGetValue((block, pc), out var prefix))
        {
            prefix = _counter.CountBetween(block, pc);
            _prefixes[(block, pc)] = prefix;
        }
        return _counter.BlockFirst + prefix;
    }

    /// <summary>Collects the accesses of one instruction, so that they go out in TTD's order: execute, reads, writes.</summary>
    void Add(in MemoryAccess access)
    {
        if (access.InstrCount != _pendingInstruction)
        {
            FlushPending();
            _pendingInstruction = access.InstrCount;
        }
        _pending.Add(access);
    }

    void FlushPending()
    {
        if (_pending.Count == 0)
            return;
        var delivered = true;
        foreach (var type in (ReadOnlySpan<MemoryAccessType>)[MemoryAccessType.Execute, MemoryAccessType.Read, MemoryAccessType.Write])
        {
            foreach (var access in _pending)
            {
                if (access.AccessType == type)
                    delivered &= _output.Add(access);
            }
        }
        LastDelivered = _pendingInstruction;
        _pending.Clear();
        if (!delivered)
        {
            Cancelled = true;
            _replay.Process.Pause();
        }
    }

    public void Dispose()
    {
        // The replay may go on into the next segment, with another scanner.
        _replay.Process.CodeChanged -= ForgetPrefixes;
        NativeMemory.Free(_state);
        if (_self.IsAllocated)
            _self.Free();
    }
}

/// <summary>
/// What a memory query asks: the range [Begin, End) and the mask; or, for an executions query,
/// the instructions at <paramref name="Points"/> run from instruction <paramref name="From"/> on,
/// with what <paramref name="Capture"/> takes from the replay at each.
/// </summary>
internal sealed record MemoryQuerySpec(ulong Begin, ulong End, MemoryMask Mask, IReadOnlySet<ulong>? Points = null, long From = 0, ExecutionCapture? Capture = null);

/// <summary>Takes what a query needs from the replay just before instruction <paramref name="instruction"/> runs (its registers, its stack).</summary>
internal delegate object? ExecutionCapture(SegmentReplay replay, long instruction);
