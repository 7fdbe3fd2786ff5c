using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Linux.Syscalls;
using Rewind.Trace;

namespace Rewind.Replay;

/// <summary>Called before each instruction runs: its 0-based instruction count, address and length.</summary>
public delegate void InstructionCallback(long instruction, ulong pc, int length);

/// <summary>A syscall was replayed: what the trace recorded for it, and the six argument registers as the program set them.</summary>
public delegate void SyscallReplayedCallback(SyscallEvent recorded, in SyscallArgs args);

/// <summary>A data access by the instruction at <paramref name="pc"/>: address, size and the value read or written.</summary>
public delegate void MemoryCallback(long instruction, ulong pc, ulong address, int size, ulong value);

/// <summary>
/// Per-instruction and per-access hooks for a replay, installed only when asked for: the plain
/// replay runs with block counting alone. With any of them on, a code hook tracks the exact
/// instruction count and pc of every access.
/// </summary>
internal sealed unsafe class ReplayHooks : IDisposable
{
    readonly GuestProcess _process;
    GCHandle _self;
    long _instruction;
    ulong _pc;
    long _stopAt = long.MaxValue;

    public ReplayHooks(GuestProcess process) => _process = process;

    public InstructionCallback? BeforeInstruction { get; set; }
    public MemoryCallback? MemoryRead { get; set; }
    public MemoryCallback? MemoryWrite { get; set; }

    /// <summary>Whether the run stopped because it reached <see cref="Install"/>'s stop position.</summary>
    public bool Stopped { get; private set; }

    /// <summary>
    /// Installs the hooks that are needed, once; <paramref name="stopAt"/> stops before that instruction runs.
    /// A later call (a run that continues after a stop) only moves the stop position.
    /// <paramref name="translated"/>: code already ran, so its translations must be dropped for the hooks to apply.
    /// </summary>
    public void Install(long stopAt, bool translated)
    {
        _stopAt = stopAt;
        Stopped = false;
        if (_self.IsAllocated || (BeforeInstruction is null && MemoryRead is null && MemoryWrite is null && stopAt == long.MaxValue))
            return;
        _self = GCHandle.Alloc(this);
        var user = (void*)GCHandle.ToIntPtr(_self);
        var cpu = _process.Cpu;
        _instruction = _process.Instructions;
        cpu.AddHook(HookType.Code, (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnCode, user);
        if (MemoryRead is not null)
            cpu.AddHook(HookType.MemReadAfter, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, void*, void>)&OnMemory, user);
        if (MemoryWrite is not null)
            cpu.AddHook(HookType.MemWrite, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, void*, void>)&OnMemory, user);
        // Dropping every translation is costly in the engine (it commits its whole code buffer): only when there are some.
        if (translated)
            cpu.DropAllTranslations();
    }

    static ReplayHooks From(void* user) => Unsafe.As<ReplayHooks>(GCHandle.FromIntPtr((nint)user).Target!);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnCode(nint engine, ulong address, uint size, void* user)
    {
        var self = From(user);
        // The previous hook call's instruction has completed; this one is about to run.
        var index = self._instruction++;
        self._pc = address;
        if (index >= self._stopAt)
        {
            self._instruction--;
            // The block was counted whole when it was entered; from this instruction on it has not
            // run, and a later run counts it again as a new block.
            self._process.Counter.Instructions = index;
            self.Stopped = true;
            self._process.Pause();
            return;
        }
        try
        {
            self.BeforeInstruction?.Invoke(index, address, (int)size);
        }
        catch (Exception e)
        {
            self._process.Fail(e); // comes out of Run, not through the engine
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnMemory(nint engine, int type, ulong address, int size, long value, void* user)
    {
        var self = From(user);
        var callback = (MemoryAccessKind)type == MemoryAccessKind.Write ? self.MemoryWrite : self.MemoryRead;
        try
        {
            callback?.Invoke(self._instruction - 1, self._pc, address, size, (ulong)value);
        }
        catch (Exception e)
        {
            self._process.Fail(e);
        }
    }

    public void Dispose()
    {
        if (_self.IsAllocated)
            _self.Free();
    }
}
