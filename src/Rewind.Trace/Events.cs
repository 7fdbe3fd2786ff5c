namespace Rewind.Trace;

/// <summary>
/// Something that cannot be recomputed, at the instruction count where it happened. Replay
/// re-executes everything between events and takes these from the trace.
/// </summary>
public abstract record TraceEvent(long Instruction)
{
    internal abstract EventKind Kind { get; }
}

internal enum EventKind : byte { Start = 1, Syscall, TimeStamp, Exit, Signal, SignalArrival, ThreadSwitch }

/// <summary>The program's initial state: mappings with their contents, the stack, registers.</summary>
public sealed record StartEvent(IReadOnlyList<Effect> Effects) : TraceEvent(0)
{
    internal override EventKind Kind => EventKind.Start;
}

/// <summary>A syscall: its result and everything it changed in the guest.</summary>
public sealed record SyscallEvent(long Instruction, int Number, long Result, bool Unsupported, IReadOnlyList<Effect> Effects) : TraceEvent(Instruction)
{
    internal override EventKind Kind => EventKind.Syscall;
}

/// <summary>RDTSC or RDTSCP read the time stamp counter.</summary>
public sealed record TimeStampEvent(long Instruction, ulong Value) : TraceEvent(Instruction)
{
    internal override EventKind Kind => EventKind.TimeStamp;
}

/// <summary>The program exited (exit_group).</summary>
public sealed record ExitEvent(long Instruction, int Status) : TraceEvent(Instruction)
{
    internal override EventKind Kind => EventKind.Exit;
}

/// <summary>
/// A signal was delivered before instruction <paramref name="Instruction"/> ran: to a handler of the program
/// (<paramref name="Handled"/>), or by its default action, which ended the program. <paramref name="Pc"/> is
/// where the program was interrupted (the faulting instruction for a fault), <paramref name="Address"/>
/// the faulting address of a memory fault, <paramref name="Code"/> the si_code the program was given.
/// </summary>
public sealed record SignalEvent(long Instruction, int Signal, ulong Pc, ulong Address, int Code = 0, bool Handled = false) : TraceEvent(Instruction)
{
    internal override EventKind Kind => EventKind.Signal;
}

/// <summary>
/// A signal arrived from outside the running thread's instructions: a timer expired, at a point the host's
/// timing chose, or a process of the run sent it (with its pid and uid as the sender) to the process
/// <paramref name="TargetPid"/>, or to its thread <paramref name="TargetThread"/> alone (a unique id; 0: the
/// whole process). Replay makes it pending there at exactly this instruction count.
/// </summary>
public sealed record SignalArrivalEvent(long Instruction, int Signal, int Code, int SenderPid, uint SenderUid, int TargetPid, long TargetThread) : TraceEvent(Instruction)
{
    internal override EventKind Kind => EventKind.SignalArrival;
}

/// <summary>
/// Another thread runs from the next instruction on: <paramref name="Instruction"/> is the last one
/// the previous thread ran. <paramref name="Thread"/> is the new thread's unique id;
/// <paramref name="Result"/>, when present, is what the syscall it was blocked in returns.
/// </summary>
public sealed record ThreadSwitchEvent(long Instruction, long Thread, long? Result) : TraceEvent(Instruction)
{
    internal override EventKind Kind => EventKind.ThreadSwitch;
}

/// <summary>A change a syscall (or the program loader) made to the guest.</summary>
public abstract record Effect
{
    internal abstract EffectKind Kind { get; }
}

internal enum EffectKind : byte
{
    Write = 1, WriteBlob, Map, Unmap, Protect, Remap, Brk, InitBrk, Discard, Register, Name, Exec, ThreadCreated, ThreadExited,
    ProcessCreated, ProcessExited, Output, ProcessLeft, Image,
}

/// <summary>Bytes the kernel side wrote into guest memory.</summary>
public sealed record MemoryWrite(ulong Address, byte[] Data) : Effect
{
    internal override EffectKind Kind => EffectKind.Write;
}

/// <summary>A large write, its bytes kept once in the blob store.</summary>
public sealed record MemoryBlobWrite(ulong Address, UInt128 Blob, int Length) : Effect
{
    internal override EffectKind Kind => EffectKind.WriteBlob;
}

/// <summary>A new mapping; <paramref name="Pages"/> are the blobs of its file-backed pages (none when anonymous).</summary>
public sealed record MapEffect(ulong Address, ulong Length, int Protection, bool Shared, string? Path, ulong FileOffset, string? Label, IReadOnlyList<UInt128> Pages) : Effect
{
    internal override EffectKind Kind => EffectKind.Map;
}

/// <summary>
/// The whole file an executable mapping came from (<paramref name="Length"/> bytes, page by page,
/// the last page padded with zeros), stored once per file, so that symbols, debug information and
/// unwind tables of every image can be read from the trace alone. Replay has nothing to do for it.
/// </summary>
public sealed record ImageEffect(string Path, ulong Length, IReadOnlyList<UInt128> Pages) : Effect
{
    internal override EffectKind Kind => EffectKind.Image;
}

public sealed record UnmapEffect(ulong Address, ulong Length) : Effect
{
    internal override EffectKind Kind => EffectKind.Unmap;
}

public sealed record ProtectEffect(ulong Address, ulong Length, int Protection) : Effect
{
    internal override EffectKind Kind => EffectKind.Protect;
}

public sealed record RemapEffect(ulong OldAddress, ulong OldLength, ulong NewLength, ulong NewAddress) : Effect
{
    internal override EffectKind Kind => EffectKind.Remap;
}

/// <summary>The program break moved.</summary>
public sealed record BrkEffect(ulong Value) : Effect
{
    internal override EffectKind Kind => EffectKind.Brk;
}

/// <summary>Where the program break starts, set once by the loader.</summary>
public sealed record InitBrkEffect(ulong Value) : Effect
{
    internal override EffectKind Kind => EffectKind.InitBrk;
}

/// <summary>Pages dropped with MADV_DONTNEED: anonymous memory reads back as zeros.</summary>
public sealed record DiscardEffect(ulong Address, ulong Length) : Effect
{
    internal override EffectKind Kind => EffectKind.Discard;
}

/// <summary>A register the kernel side set (FS base by arch_prctl, the initial RSP and RIP).</summary>
public sealed record RegisterEffect(int Register, ulong Value) : Effect
{
    internal override EffectKind Kind => EffectKind.Register;
}

/// <summary>The task name (comm) changed.</summary>
public sealed record NameEffect(string Name) : Effect
{
    internal override EffectKind Kind => EffectKind.Name;
}

/// <summary>
/// execve replaced the program: the registers and per-image state start afresh (the effects that
/// follow set up the new image), and the process now runs <paramref name="Path"/> with <paramref name="Arguments"/>.
/// </summary>
public sealed record ExecEffect(string Path, IReadOnlyList<string> Arguments) : Effect
{
    internal override EffectKind Kind => EffectKind.Exec;
}

/// <summary>clone made a thread: its tid, unique id and the registers it starts with (a register file image).</summary>
public sealed record ThreadCreatedEffect(int Tid, long UniqueId, byte[] Registers) : Effect
{
    internal override EffectKind Kind => EffectKind.ThreadCreated;
}

/// <summary>The calling thread ended (exit) while other threads go on.</summary>
public sealed record ThreadExitedEffect(long UniqueId) : Effect
{
    internal override EffectKind Kind => EffectKind.ThreadExited;
}

/// <summary>
/// fork made process <paramref name="Pid"/>, a copy of the caller, whose one thread <paramref name="UniqueId"/>
/// starts with <paramref name="Registers"/>; its tid goes to <paramref name="SetTidAt"/> in its memory and is
/// cleared at <paramref name="ClearTidAt"/> when it ends (0: neither).
/// </summary>
public sealed record ProcessCreatedEffect(int Pid, long UniqueId, byte[] Registers, ulong SetTidAt, ulong ClearTidAt) : Effect
{
    internal override EffectKind Kind => EffectKind.ProcessCreated;
}

/// <summary>The calling process ended (exit_group, or its last thread's exit) with <paramref name="WaitStatus"/> while the run goes on.</summary>
public sealed record ProcessExitedEffect(int WaitStatus) : Effect
{
    internal override EffectKind Kind => EffectKind.ProcessExited;
}

/// <summary>
/// The syscall's bytes (a write or writev) went to Rewind's own stdout (1) or stderr (2), whatever the
/// descriptor's number in the guest: replay shows them there. Writes to pipes, files and other descriptors have none.
/// </summary>
public sealed record OutputEffect(int Stream) : Effect
{
    internal override EffectKind Kind => EffectKind.Output;
}

/// <summary>
/// The calling process exec'd a program that runs natively, outside the trace (--no-follow-children): it runs
/// no more instructions here, and what it does reaches the trace only through the other processes' syscalls.
/// </summary>
public sealed record ProcessLeftEffect : Effect
{
    internal override EffectKind Kind => EffectKind.ProcessLeft;
}
