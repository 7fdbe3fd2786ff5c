using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Signals;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Execution;

/// <summary>
/// Signal delivery. Signals become pending in three ways: an instruction faults (recomputed in
/// replay), a syscall raises one (kill to itself, EPIPE's SIGPIPE), or one arrives from a host
/// thread (a timer), which the block counter notices at the next block start. Pending signals
/// that are not blocked are delivered between two runs of the engine, where the instruction count
/// is exact: to the program's handler on a Linux signal frame, or by their default action.
/// </summary>
public sealed unsafe partial class GuestProcess
{
    readonly ConcurrentQueue<(int Pid, SignalInfo Info)> _arrivals = new();
    readonly ManualResetEventSlim _arrived = new();
    SignalFrame.Saved? _signalReturn;
    bool _stoppedForSignals;

    /// <summary>The running process's ITIMER_REAL, made on first use (live runs only: replay takes SIGALRM from the trace).</summary>
    internal RealTimer RealTimer => _current.RealTimer ??= new RealTimer(this, Pid);

    // ---- raising ----

    /// <summary>Makes <paramref name="info"/> pending in the running process; see <see cref="Raise(ProcessState, in SignalInfo)"/>.</summary>
    public void Raise(in SignalInfo info) => Raise(_current, info);

    /// <summary>
    /// Makes <paramref name="info"/> pending in <paramref name="target"/>, or for its thread <paramref name="thread"/>
    /// alone, unless the process ignores the signal and does not block it (then Linux discards it). A thread that
    /// waits for a child or a futex, and could take the signal, wakes to see it.
    /// </summary>
    public void Raise(ProcessState target, in SignalInfo info, GuestThread? thread = null)
    {
        if (target.IsGone || target.SignalHandlers.Ignores(info.Signal) && (target.Signals.BlockedMask & SignalState.Bit(info.Signal)) == 0)
            return;
        if (thread is null)
            target.Signals.Raise(info);
        else
            thread.PendingSignals.Raise(info);
        if (target != _current || thread is not null && thread != CurrentThread)
            Scheduler.Interrupt(target, thread);
    }

    /// <summary>
    /// A signal from outside the running thread's instructions (a kill, a timer) for the process
    /// <paramref name="targetPid"/>, or its thread <paramref name="targetThread"/> alone (a unique id; 0: the process):
    /// the kernel makes it pending, and a recorder logs it, since replay cannot know it otherwise.
    /// </summary>
    public void SignalArrived(int targetPid, in SignalInfo info, long targetThread = 0) => _kernel.SignalArrived(this, targetPid, info, targetThread);

    /// <summary>Called on any host thread (a timer's): the signal becomes pending at the next block start.</summary>
    internal void Arrive(int targetPid, in SignalInfo info)
    {
        _arrivals.Enqueue((targetPid, info));
        _counter.RequestInterrupt();
        _arrived.Set();
    }

    /// <summary>Signals that arrived on host threads since the last call, oldest first, with the pid each is for.</summary>
    public IEnumerable<(int Pid, SignalInfo Info)> TakeArrivals()
    {
        while (_arrivals.TryDequeue(out var arrival))
            yield return arrival;
    }

    /// <summary>
    /// Waits, in a syscall such as pause, until a signal arrives or <paramref name="timeout"/> passes
    /// (<see cref="Timeout.InfiniteTimeSpan"/>: no limit); arrived signals are then pending. False when
    /// none arrived: the wait timed out, the run is being ended, or (replay) the trace has none here.
    /// </summary>
    public bool WaitForSignal(TimeSpan timeout)
    {
        var arrived = _kernel.WaitForSignal(this, timeout);
        _kernel.CollectSignals(this);
        return arrived;
    }

    /// <summary>Blocks the calling (engine) thread until a host thread delivers a signal; see <see cref="WaitForSignal"/>.</summary>
    internal bool WaitForArrival(TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            _arrived.Reset();
            if (!_arrivals.IsEmpty)
                return true;
            if (_terminationRequest != 0)
                return false;
            var left = timeout == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : timeout - Stopwatch.GetElapsedTime(start);
            if (left <= TimeSpan.Zero)
                return false;
            // In slices, so that a request to end the run is noticed.
            _arrived.Wait(left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>rt_sigreturn: the frame is read now and applied before the engine runs again.</summary>
    internal long ReturnFromSignal()
    {
        var saved = SignalFrame.Read(Memory, Cpu.Read(X86Register.Rsp));
        if (saved is null)
        {
            Terminate(Signal.SIGSEGV, 0, SignalCodes.Kernel); // a bad frame: Linux forces SIGSEGV
            return 0;
        }
        _signalReturn = saved;
        return (long)saved.Rax;
    }

    // ---- when ----

    /// <summary>After a syscall: raises what its result implies, and stops the engine when something is to be delivered.</summary>
    void AfterSyscall(long number, in SyscallArgs args, long result)
    {
        if (result == -Errno.EPIPE && RaisesBrokenPipe(number, args))
            SignalArrived(Pid, new SignalInfo((int)Signal.SIGPIPE, SignalCodes.User, SenderPid: Pid, SenderUid: Nondeterminism.User.Uid));
        if (Signals.HasDeliverable || _signalReturn is not null || Signals.MaskToRestore is not null)
            StopForSignals();
    }

    /// <summary>Writes to a pipe or socket whose reader is gone raise SIGPIPE, unless send was given MSG_NOSIGNAL.</summary>
    static bool RaisesBrokenPipe(long number, in SyscallArgs args)
    {
        const int NoSignal = 0x4000;
        return (SyscallNumber)number switch
        {
            SyscallNumber.write or SyscallNumber.writev or SyscallNumber.pwrite64 or SyscallNumber.pwritev or SyscallNumber.sendfile
                or SyscallNumber.splice => true,
            SyscallNumber.sendto => (args.Int(3) & NoSignal) == 0,
            SyscallNumber.sendmsg or SyscallNumber.sendmmsg => (args.Int(number == (long)SyscallNumber.sendmsg ? 2 : 3) & NoSignal) == 0,
            _ => false,
        };
    }

    /// <summary>
    /// The block counter's interrupt, at the start of the block at <paramref name="blockStart"/>:
    /// signals that arrived become pending, and if one is to be delivered the block does not run
    /// (true: the counter does not count it); the run loop delivers it with the count exact.
    /// </summary>
    bool OnInterrupted(ulong blockStart)
    {
        _counter.NextInterrupt = long.MaxValue;
        Guard(() => _kernel.CollectSignals(this));
        if (!Signals.HasDeliverable)
            return false;
        // Writing RIP leaves the block before it runs; in a block hook it may hold an older address.
        Cpu.Write(X86Register.Rip, blockStart);
        StopForSignals();
        return true;
    }

    void StopForSignals()
    {
        _stoppedForSignals = true;
        Cpu.Stop();
    }

    /// <summary>
    /// Whether the engine stopped with no reason given (no error, no stop asked for): it halts like that on
    /// an exception it takes as a triple fault (see <see cref="IsDivision"/>), and at address 0, where it
    /// was told to end; both are faults of the instruction at RIP.
    /// </summary>
    bool StoppedWithoutReason()
    {
        var onPurpose = _stoppedForSignals;
        _stoppedForSignals = false;
        return !onPurpose;
    }

    // ---- delivery ----

    /// <summary>The run loop's step between two runs: finishes an rt_sigreturn, then delivers every pending signal that is not blocked.</summary>
    void DeliverPendingSignals()
    {
        if (_signalReturn is { } saved)
        {
            _signalReturn = null;
            SignalFrame.Restore(this, saved);
        }
        while (_exit is null && Signals.TryTake(~Signals.BlockedMask, out var info))
            Deliver(info);
        if (Signals.MaskToRestore is { } mask)
        {
            Signals.BlockedMask = mask;
            Signals.MaskToRestore = null;
        }
    }

    void Deliver(in SignalInfo info)
    {
        var action = SignalHandlers[info.Signal];
        if (action.Handler == SignalAction.Ignore)
            return;
        if (action.Handler == SignalAction.Default)
        {
            switch (SignalText.DefaultActionOf(info.Signal))
            {
                case DefaultAction.Terminate or DefaultAction.Core:
                    Terminate((Signal)info.Signal, info.Address, info.Code);
                    return;
                case DefaultAction.Stop:
                    Warn($"{SignalText.Name(info.Signal)} would stop the program; it continues");
                    return;
                default:
                    return;
            }
        }
        var pc = Cpu.Read(X86Register.Rip);
        var savedMask = Signals.MaskToRestore ?? Signals.BlockedMask;
        if (!SignalFrame.Push(this, info, action, savedMask))
        {
            // As Linux's force_sigsegv: the stack cannot take the frame.
            Terminate(Signal.SIGSEGV, 0, SignalCodes.Kernel);
            return;
        }
        Signals.MaskToRestore = null;
        Signals.BlockedMask |= (action.Mask | (action.Has(SignalAction.NoDefer) ? 0 : SignalState.Bit(info.Signal))) & ~SignalState.Unblockable;
        if (action.Has(SignalAction.ResetHandler))
            SignalHandlers[info.Signal] = action with { Handler = SignalAction.Default };
        _kernel.SignalHandled(this, info, pc);
    }

    // ---- faults ----

    SignalInfo _fault;

    /// <summary>
    /// The instruction at RIP faulted: its signal goes to the program's handler, or, when there is none
    /// or the signal is blocked or ignored, ends the program (Linux's force_sig).
    /// </summary>
    void TakeFault(UcError error)
    {
        if (_fault.Trap == SignalFrame.PageFault && (_fault.ErrorCode & 16) == 0)
            Cpu.Write(X86Register.Rip, DataFaultPc(_fault.Address));
        // The block was counted whole when entered; the faulting instruction and the ones after it never completed.
        _counter.Instructions -= _counter.CountBetween(Cpu.Read(X86Register.Rip), _counter.BlockEnd);
        var info = _fault.Signal != 0 ? _fault : FaultOf(error, Cpu.Read(X86Register.Rip));
        _stoppedForSignals = false;
        _fault = default;
        var handler = SignalHandlers[info.Signal].Handler;
        if (handler is SignalAction.Default or SignalAction.Ignore || (Signals.BlockedMask & SignalState.Bit(info.Signal)) != 0)
            Terminate((Signal)info.Signal, info.Address, info.Code);
        else
            Signals.Raise(info);
    }

    /// <summary>
    /// The instruction whose data access at <paramref name="address"/> faulted. The engine's RIP is stale then
    /// (it restores registers, not RIP): the first instruction of the block whose memory operands, computed
    /// with the registers as the fault left them, cover the address is the one.
    /// </summary>
    ulong DataFaultPc(ulong address)
    {
        var start = _counter.BlockStart;
        var end = Math.Max(_counter.BlockEnd, start + 15);
        var code = new byte[end - start];
        var length = code.Length;
        while (length > 0 && !Memory.Peek(start, code.AsSpan(0, length)))
            length--;
        var decoder = Iced.Intel.Decoder.Create(64, new Iced.Intel.ByteArrayCodeReader(code, 0, length), start);
        var factory = new Iced.Intel.InstructionInfoFactory();
        while (decoder.IP < start + (ulong)length)
        {
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid)
                break;
            foreach (var used in factory.GetInfo(instruction).GetUsedMemory())
            {
                var size = (ulong)Math.Max(1, Iced.Intel.MemorySizeExtensions.GetSize(used.MemorySize));
                if (used.TryGetVirtualAddress(0, out var at, RegisterValue) && address - at < size)
                    return instruction.IP;
            }
        }
        return start;
    }

    bool RegisterValue(Iced.Intel.Register register, int elementIndex, int elementSize, out ulong value)
    {
        value = register switch
        {
            Iced.Intel.Register.FS => Cpu.Read(X86Register.FsBase),
            Iced.Intel.Register.GS => Cpu.Read(X86Register.GsBase),
            Iced.Intel.Register.ES or Iced.Intel.Register.CS or Iced.Intel.Register.SS or Iced.Intel.Register.DS => 0,
            _ => ReadFullRegister(register),
        };
        return true;
    }

    /// <summary>The registers an address can be computed from (Iced reports RIP-relative operands as absolute).</summary>
    static readonly Dictionary<Iced.Intel.Register, X86Register> AddressRegisters = new()
    {
        [Iced.Intel.Register.RAX] = X86Register.Rax,
        [Iced.Intel.Register.RBX] = X86Register.Rbx,
        [Iced.Intel.Register.RCX] = X86Register.Rcx,
        [Iced.Intel.Register.RDX] = X86Register.Rdx,
        [Iced.Intel.Register.RSI] = X86Register.Rsi,
        [Iced.Intel.Register.RDI] = X86Register.Rdi,
        [Iced.Intel.Register.RBP] = X86Register.Rbp,
        [Iced.Intel.Register.RSP] = X86Register.Rsp,
        [Iced.Intel.Register.R8] = X86Register.R8,
        [Iced.Intel.Register.R9] = X86Register.R9,
        [Iced.Intel.Register.R10] = X86Register.R10,
        [Iced.Intel.Register.R11] = X86Register.R11,
        [Iced.Intel.Register.R12] = X86Register.R12,
        [Iced.Intel.Register.R13] = X86Register.R13,
        [Iced.Intel.Register.R14] = X86Register.R14,
        [Iced.Intel.Register.R15] = X86Register.R15,
    };

    /// <summary>A general register's value, for address computation: 32-bit registers zero-extended.</summary>
    ulong ReadFullRegister(Iced.Intel.Register register)
    {
        var value = AddressRegisters.TryGetValue(Iced.Intel.RegisterExtensions.GetFullRegister(register), out var full) ? Cpu.Read(full) : 0;
        return Iced.Intel.RegisterExtensions.GetSize(register) == 4 ? (uint)value : value;
    }

    /// <summary>A fault the engine reported only by its error code, or by stopping without a reason.</summary>
    SignalInfo FaultOf(UcError error, ulong pc) => error switch
    {
        UcError.InvalidInstruction => new SignalInfo((int)Signal.SIGILL, SignalCodes.IllegalOperand, pc, Trap: 6),
        UcError.ReadUnaligned or UcError.WriteUnaligned or UcError.FetchUnaligned => new SignalInfo((int)Signal.SIGBUS, SignalCodes.BusAlignment, Trap: 17),
        _ when Memory.Find(pc) is null => new SignalInfo((int)Signal.SIGSEGV, SignalCodes.SegvMapError, pc, Trap: SignalFrame.PageFault, ErrorCode: 4 | 16),
        _ when IsDivision(pc) => new SignalInfo((int)Signal.SIGFPE, SignalCodes.FpeIntegerDivide, pc, Trap: 0),
        _ => new SignalInfo((int)Signal.SIGSEGV, SignalCodes.Kernel, Trap: 13),
    };

    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    static byte OnInvalidMemory(nint engine, int type, ulong address, int size, long value, void* user)
    {
        var kind = (MemoryAccessKind)type;
        var unmapped = kind is MemoryAccessKind.ReadUnmapped or MemoryAccessKind.WriteUnmapped or MemoryAccessKind.FetchUnmapped;
        // The page-fault error code: protection violation (page present), write, user mode, instruction fetch.
        var errorCode = (unmapped ? 0UL : 1) | (kind is MemoryAccessKind.WriteUnmapped or MemoryAccessKind.WriteProtected ? 2UL : 0) | 4
            | (kind is MemoryAccessKind.FetchUnmapped or MemoryAccessKind.FetchProtected ? 16UL : 0);
        From(user)._fault = new SignalInfo((int)Signal.SIGSEGV, unmapped ? SignalCodes.SegvMapError : SignalCodes.SegvAccessError, address,
            Trap: SignalFrame.PageFault, ErrorCode: errorCode);
        return 0;
    }

    /// <summary>
    /// Whether the instruction at <paramref name="pc"/> divides. The engine never forgets the last exception
    /// a hook took (QEMU clears it only when it delivers one itself), so after a divide error the next divide
    /// error or general protection fault comes as a double fault, and any fault after that as a triple fault,
    /// which halts the engine without calling a hook; the instruction tells which fault it was.
    /// </summary>
    bool IsDivision(ulong pc)
    {
        Span<byte> bytes = stackalloc byte[15];
        var available = bytes.Length;
        while (available > 0 && !Memory.Peek(pc, bytes[..available]))
            available--;
        var decoder = Iced.Intel.Decoder.Create(64, new Iced.Intel.ByteArrayCodeReader(bytes[..available].ToArray()), pc);
        decoder.Decode(out var instruction);
        return instruction.Mnemonic is Iced.Intel.Mnemonic.Div or Iced.Intel.Mnemonic.Idiv;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    static void OnInterrupt(nint engine, uint number, void* user)
    {
        var self = From(user);
        var pc = self.Cpu.Read(X86Register.Rip);
        const uint DoubleFault = 8;
        if (number == DoubleFault)
            number = self.IsDivision(pc) ? 0U : 13U;
        self._fault = number switch
        {
            0 => new SignalInfo((int)Signal.SIGFPE, SignalCodes.FpeIntegerDivide, pc, Trap: 0),
            1 or 3 => new SignalInfo((int)Signal.SIGTRAP, SignalCodes.Kernel, Trap: (int)number),
            6 => new SignalInfo((int)Signal.SIGILL, SignalCodes.IllegalOperand, pc, Trap: 6),
            16 or 19 => new SignalInfo((int)Signal.SIGFPE, SignalCodes.Kernel, pc, Trap: (int)number),
            17 => new SignalInfo((int)Signal.SIGBUS, SignalCodes.BusAlignment, Trap: 17),
            _ => new SignalInfo((int)Signal.SIGSEGV, SignalCodes.Kernel, Trap: 13), // #GP, and software interrupts Linux does not offer
        };
        self.Cpu.Stop();
    }
}
