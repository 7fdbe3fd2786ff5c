using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;
using Rewind.Engine;
using Rewind.Linux.Memory;

namespace Rewind.Linux.Execution;

/// <summary>
/// Counts instructions per translated block: the engine reports each block it enters, and the
/// number of instructions in a block is decoded once, when the block is first seen, then looked
/// up in a direct-mapped cache. The hook's common case is native code (<see cref="BlockHookFastPath"/>),
/// so that a block costs a few nanoseconds; no per-instruction hook is needed. The same hook notices
/// when a thread switch or a keyframe is due and when new code reads the time stamp counter.
/// </summary>
public sealed unsafe class InstructionCounter : IDisposable
{
    const int CacheBits = 16;
    const int CacheMask = (1 << CacheBits) - 1;

    struct State
    {
        public long Instructions;
        public long NextKeyframe;
        public ulong BlockEnd;
        public ulong BlockStart;
        public long BlockFirst; // instruction count at the start of the current block
        public long NextWatch;
        public long NextInterrupt;
        public long NextSwitch;
        public nint Owner; // GCHandle of the counter, for the slow paths
        public nint SlowPath; // the managed hook, where the native fast path jumps when it cannot finish
        public fixed ulong Addresses[1 << CacheBits];
        public fixed uint Sizes[1 << CacheBits];
        public fixed ushort Counts[1 << CacheBits];
    }

    readonly CodeReader _readCode;
    readonly State* _state;
    readonly BlockHookFastPath _fastPath;
    readonly List<(ulong Address, int Length, bool WithProcessorId)> _timeStampReads = [];
    GCHandle _self;
    byte[] _code = new byte[256];
    readonly BlockDecoder _decoder = new();

    /// <summary>Reads guest code bytes (of whichever process runs); false where nothing is mapped.</summary>
    public delegate bool CodeReader(ulong address, Span<byte> destination);

    /// <summary>Counts blocks whose code <paramref name="readCode"/> reads; <see cref="Clear"/> must be called when code changes.</summary>
    public InstructionCounter(CodeReader readCode)
    {
        _readCode = readCode;
        _state = (State*)NativeMemory.AllocZeroed((nuint)sizeof(State));
        _state->NextKeyframe = long.MaxValue;
        _state->NextWatch = long.MaxValue;
        _state->NextInterrupt = long.MaxValue;
        _state->NextSwitch = long.MaxValue;
        _self = GCHandle.Alloc(this);
        _state->Owner = GCHandle.ToIntPtr(_self);
        _state->SlowPath = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, uint, State*, void>)&OnBlock;
        _fastPath = new BlockHookFastPath(LayoutOf(_state));
    }

    static BlockHookFastPath.Layout LayoutOf(State* state)
    {
        int At(void* field) => (int)((byte*)field - (byte*)state);
        return new(
            At(&state->Instructions), At(&state->NextInterrupt), At(&state->NextSwitch), At(&state->NextKeyframe), At(&state->NextWatch),
            At(&state->BlockStart), At(&state->BlockEnd), At(&state->BlockFirst), At(state->Addresses), At(state->Sizes), At(state->Counts),
            CacheBits, At(&state->SlowPath));
    }

    /// <summary>Instructions executed so far, counting the current block whole.</summary>
    public long Instructions
    {
        get => _state->Instructions;
        set => _state->Instructions = value;
    }

    /// <summary>Instruction count at which <see cref="KeyframeDue"/> is raised next (long.MaxValue: never).</summary>
    public long NextKeyframe
    {
        get => _state->NextKeyframe;
        set => _state->NextKeyframe = value;
    }

    /// <summary>Instruction count at which <see cref="SwitchDue"/> is raised next (long.MaxValue: never, as with one thread).</summary>
    public long NextSwitch
    {
        get => _state->NextSwitch;
        set => _state->NextSwitch = value;
    }

    /// <summary>
    /// Raised at the start of a block, before it runs and before a due keyframe, once <see cref="NextSwitch"/> is
    /// reached. Returning true means another thread's registers were loaded and the block is left: it is not counted.
    /// </summary>
    public Func<ulong, bool>? SwitchDue { get; set; }

    /// <summary>End address of the block entered last.</summary>
    public ulong BlockEnd => _state->BlockEnd;

    /// <summary>Start address of the block entered last.</summary>
    public ulong BlockStart => _state->BlockStart;

    /// <summary>The instruction count when the block entered last started: the index of its first instruction.</summary>
    public long BlockFirst => _state->BlockFirst;

    /// <summary>
    /// Instruction count watched for (long.MaxValue: none): <see cref="WatchReached"/> is raised when a block that
    /// holds this instruction is entered, before it runs and before it is counted.
    /// </summary>
    public long NextWatch
    {
        get => _state->NextWatch;
        set => _state->NextWatch = value;
    }

    /// <summary>
    /// Raised with the block's address and instruction count when it holds <see cref="NextWatch"/>. Returning true
    /// means the block was redirected to be translated again (with new hooks) before it runs: it is not counted now.
    /// </summary>
    public Func<ulong, int, bool>? WatchReached { get; set; }

    /// <summary>
    /// Instruction count at which <see cref="Interrupted"/> is raised next (long.MaxValue: never): replay sets the
    /// count where a signal arrived, a live run's timers set 0 (from any thread) through <see cref="RequestInterrupt"/>.
    /// </summary>
    public long NextInterrupt
    {
        get => Volatile.Read(ref _state->NextInterrupt);
        set => Volatile.Write(ref _state->NextInterrupt, value);
    }

    /// <summary>Makes the next block start raise <see cref="Interrupted"/>; safe on any thread.</summary>
    public void RequestInterrupt() => NextInterrupt = 0;

    /// <summary>
    /// Raised at the start of a block, before it runs and before keyframes, once <see cref="NextInterrupt"/> is
    /// reached. Returning true means the block was left without running (a signal is delivered first): it is not counted.
    /// </summary>
    public Func<ulong, bool>? Interrupted { get; set; }

    /// <summary>Raised at the start of a block, before it runs, once <see cref="NextKeyframe"/> is reached.</summary>
    public Action<ulong>? KeyframeDue { get; set; }

    /// <summary>
    /// Raised for a new block that contains RDTSC or RDTSCP, with the block's address and theirs. Returning true
    /// means the block is to be translated again (with hooks on those instructions) before it runs.
    /// </summary>
    public Func<ulong, IReadOnlyList<(ulong Address, int Length, bool WithProcessorId)>, bool>? TimeStampReadsFound { get; set; }

    /// <summary>Starts counting on <paramref name="cpu"/>.</summary>
    public void Attach(Cpu cpu) => cpu.AddHook(HookType.Block, _fastPath.Entry, _state);

    // Called by the fast path (BlockHookFastPath) whenever it cannot finish alone; the two must agree.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnBlock(nint engine, ulong address, uint size, State* state)
    {
        // Signals first, then thread switches: the order is the same when recording and replaying.
        if (state->Instructions >= Volatile.Read(ref state->NextInterrupt) && Owner(state).Interrupted?.Invoke(address) == true)
            return;
        if (state->Instructions >= state->NextSwitch && Owner(state).SwitchDue?.Invoke(address) == true)
            return;
        if (state->Instructions >= state->NextKeyframe)
            Owner(state).KeyframeDue?.Invoke(address);
        state->BlockEnd = address + size;
        state->BlockStart = address;
        state->BlockFirst = state->Instructions;
        var slot = (int)((address ^ (address >> CacheBits)) & CacheMask);
        if (state->Addresses[slot] == address && state->Sizes[slot] == size && state->Counts[slot] != 0)
        {
            if (state->Instructions + state->Counts[slot] > state->NextWatch && Owner(state).WatchReached?.Invoke(address, state->Counts[slot]) == true)
                return; // retranslated and run again: counted then
            state->Instructions += state->Counts[slot];
            return;
        }
        var counter = Owner(state);
        var count = counter.Decode(address, size);
        if (counter._timeStampReads.Count > 0 && counter.TimeStampReadsFound?.Invoke(address, counter._timeStampReads) == true)
            return; // retranslated and run again: counted then
        state->Addresses[slot] = address;
        state->Sizes[slot] = size;
        state->Counts[slot] = (ushort)count;
        if (state->Instructions + count > state->NextWatch && counter.WatchReached?.Invoke(address, count) == true)
            return;
        state->Instructions += count;
    }

    static InstructionCounter Owner(State* state) => Unsafe.As<InstructionCounter>(GCHandle.FromIntPtr(state->Owner).Target!);

    /// <summary>Instructions from <paramref name="address"/> up to (not including) <paramref name="stop"/>.</summary>
    public int CountBetween(ulong address, ulong stop) => stop <= address ? 0 : Decode(address, (uint)(stop - address));

    int Decode(ulong address, uint size)
    {
        _timeStampReads.Clear();
        if (size == 0)
            return 1; // the engine reports 0 bytes for a block that faults on its first fetch
        if (_code.Length < size)
            _code = new byte[Math.Max(size, (uint)_code.Length * 2)];
        if (!_readCode(address, _code.AsSpan(0, (int)size)))
            return 1;
        var decoder = _decoder.Start(_code, (int)size, address);
        var end = address + size;
        var count = 0;
        while (decoder.IP < end)
        {
            decoder.Decode(out var instruction);
            if (instruction.Code is Code.Rdtsc or Code.Rdtscp)
                _timeStampReads.Add((instruction.IP, instruction.Length, instruction.Code == Code.Rdtscp));
            count++;
        }
        return count;
    }

    /// <summary>Forgets every block's count: the code they were counted from changed.</summary>
    public void Clear() => new Span<ushort>(_state->Counts, 1 << CacheBits).Clear();

    public void Dispose()
    {
        _fastPath.Dispose();
        NativeMemory.Free(_state);
        if (_self.IsAllocated)
            _self.Free();
    }
}
