using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Replay;
using Rewind.Trace;

namespace Rewind.Index;

/// <summary>
/// A replay that starts at a keyframe and stops where it is told: at the start of a block (the
/// block counter raises a watch when it reaches the block, so nothing runs per instruction) or at
/// one exact instruction (then only the block holding it gets a code hook). The index replays each
/// segment with one; queries use them to run the parts of a segment they do not need without hooks,
/// and seeks to stop at a position. It runs the process directly rather than through
/// <see cref="ReplaySession.Run"/>, whose own stop machinery would take over the block counter's watch.
/// </summary>
public sealed unsafe class SegmentReplay : IDisposable
{
    enum Mode { None, BlockHolding, BlockAtOrAfter, Exactly }

    readonly InstructionCounter _counter;
    GCHandle _self;
    Mode _mode;
    long _target;
    nuint _exactHook;
    bool _exactArmed;
    bool _reached;

    SegmentReplay(ReplaySession session, int keyframe)
    {
        Session = session;
        Keyframe = keyframe;
        _counter = session.Process.Counter;
        _counter.WatchReached = OnWatch;
        _self = GCHandle.Alloc(this);
    }

    /// <summary>Opens a replay of <paramref name="trace"/> from keyframe <paramref name="keyframe"/>; the trace stays open when this is disposed.</summary>
    public static SegmentReplay Open(TraceReader trace, int keyframe) =>
        new(ReplaySession.Open(trace, fromKeyframe: keyframe, leaveTraceOpen: true), keyframe);

    public ReplaySession Session { get; }

    public GuestProcess Process => Session.Process;

    public Cpu Cpu => Session.Process.Cpu;

    public int Keyframe { get; }

    /// <summary>
    /// Called inside the run when it reaches the instruction or block it was told to stop at, just
    /// before the engine stops. Hooks removed here are gone when the run returns: Unicorn 2.1.1
    /// deletes removed hooks only when a run ends, and code translated while a removed memory hook
    /// is still listed takes the slow path for every access, as if it were hooked.
    /// </summary>
    public Action? Stopping { get; set; }

    /// <summary>The count of the next instruction to run (exact whenever a run has stopped).</summary>
    public long Instructions => Session.Process.Instructions;

    /// <summary>How the program ended, once the replay reached its end.</summary>
    public ExitStatus? Exited => Session.Process.Exited;

    /// <summary>
    /// Runs until the block that holds instruction <paramref name="instruction"/> is about to start
    /// (so at most that block's earlier instructions are still to run). False when the program ended first.
    /// </summary>
    public bool RunToBlockHolding(long instruction) => RunUntil(Mode.BlockHolding, instruction);

    /// <summary>Runs until the first block that starts at or after instruction <paramref name="instruction"/> is about to start. False when the program ended first.</summary>
    public bool RunToBlockAtOrAfter(long instruction) => RunUntil(Mode.BlockAtOrAfter, instruction);

    /// <summary>Runs until instruction <paramref name="instruction"/> is about to run. False when the program ended first.</summary>
    public bool RunTo(long instruction) => RunUntil(Mode.Exactly, instruction);

    /// <summary>
    /// Drops every translated block, so that hooks added or removed since apply. Unicorn 2.1.1's
    /// whole-cache flush (uc_ctl_flush_tb) leaves the engine retranslating blocks over and over
    /// (3x slower, and its 1 GiB code buffer fills up), so this drops the code of each executable
    /// mapping instead.
    /// </summary>
    public void DropTranslatedCode()
    {
        foreach (var mapping in Process.Memory.Mappings)
        {
            if ((mapping.Protection & Protection.Execute) != 0)
                Cpu.DropTranslations(mapping.Start, mapping.End);
        }
    }

    /// <summary>Runs to the end of the trace.</summary>
    public ExitStatus RunToEnd()
    {
        if (Exited is { } exited)
            return exited;
        _mode = Mode.None;
        _counter.NextWatch = long.MaxValue;
        return Session.Process.Run()!;
    }

    bool RunUntil(Mode mode, long target)
    {
        if (Exited is not null)
            return false;
        if (Instructions >= target && (mode != Mode.Exactly || Instructions == target))
            return true;
        if (Instructions > target)
            throw new InvalidOperationException($"the replay is at instruction {Instructions}, past {target}");
        _mode = mode;
        _target = target;
        _reached = false;
        _counter.NextWatch = target;
        Session.Process.Run();
        _counter.NextWatch = long.MaxValue;
        _mode = Mode.None;
        if (_exactHook != 0)
        {
            Cpu.RemoveHook(_exactHook);
            _exactHook = 0;
            _exactArmed = false;
            if (_reached)
            {
                // The block was counted whole when it was entered; the rest of it runs as a new block.
                _counter.Instructions = target;
            }
        }
        return _reached && Exited is null;
    }

    /// <summary>The block counter reached the block that holds the watched count (not counted yet).</summary>
    bool OnWatch(ulong block, int count)
    {
        var first = _counter.BlockFirst;
        switch (_mode)
        {
            case Mode.BlockAtOrAfter when first < _target:
                return false;
            case Mode.BlockHolding or Mode.BlockAtOrAfter:
            case Mode.Exactly when first == _target:
                Stop(block);
                return true;
            case Mode.Exactly when !_exactArmed:
                // Hook the one instruction and run the block again, translated with the hook.
                var pc = PcOf(block, _counter.BlockEnd, (int)(_target - first));
                _exactHook = Cpu.AddHook(HookType.Code, (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnExact,
                    (void*)GCHandle.ToIntPtr(_self), pc, pc);
                _exactArmed = true;
                Cpu.DropTranslations(block, _counter.BlockEnd);
                Cpu.Write(X86Register.Rip, block);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Stops before the instruction at <paramref name="pc"/>. RIP is set explicitly: when the engine
    /// leaves a block before running it, it puts RIP back to the block's start only when no code
    /// hook exists at all (Unicorn 2.1.1, cpu_tb_exec); with one, RIP would keep an older address.
    /// </summary>
    void Stop(ulong pc)
    {
        _reached = true;
        _counter.NextWatch = long.MaxValue;
        Cpu.Write(X86Register.Rip, pc);
        Stopping?.Invoke();
        Session.Process.Pause();
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnExact(nint engine, ulong address, uint size, void* user)
    {
        var self = Unsafe.As<SegmentReplay>(GCHandle.FromIntPtr((nint)user).Target!);
        if (self._mode == Mode.Exactly && !self._reached && self._counter.BlockFirst + self._counter.CountBetween(self._counter.BlockStart, address) == self._target)
            self.Stop(address);
    }

    /// <summary>The address of the <paramref name="skip"/>-th instruction (from 0) of the block [block, end).</summary>
    ulong PcOf(ulong block, ulong end, int skip)
    {
        Span<byte> code = stackalloc byte[(int)Math.Min(end - block, 4096)];
        if (code.Length == 0 || !Process.Memory.Peek(block, code))
            return block;
        var decoder = Iced.Intel.Decoder.Create(64, new Iced.Intel.ByteArrayCodeReader(code.ToArray()), block);
        for (var i = 0; i < skip && decoder.IP < end; i++)
            decoder.Decode(out _);
        return decoder.IP;
    }

    public void Dispose()
    {
        _counter.WatchReached = null;
        Session.Dispose();
        if (_self.IsAllocated)
            _self.Free();
    }
}
