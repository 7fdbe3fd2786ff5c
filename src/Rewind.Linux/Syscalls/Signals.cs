using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Linux.Host;
using Rewind.Linux.Signals;

namespace Rewind.Linux.Syscalls;

/// <summary>signal.h: handlers, masks, the alternate stack, sending signals to oneself and waiting for them.</summary>
public static partial class Signals
{
    const int SigBlock = 0, SigUnblock = 1, SigSetMask = 2;
    const int SigSetSize = 8;

    [Syscall(SyscallNumber.rt_sigaction)]
    static long Action(GuestProcess p, in SyscallArgs a)
    {
        var signal = a.Int(0);
        if (signal is < 1 or > 64 || a.A3 != SigSetSize)
            return -Errno.EINVAL;
        if (a.A1 != 0 && signal is (int)Signal.SIGKILL or (int)Signal.SIGSTOP)
            return -Errno.EINVAL;
        var previous = p.SignalHandlers[signal];
        if (a.A1 != 0)
        {
            Span<byte> bytes = stackalloc byte[SignalAction.Size];
            if (!p.Memory.Read(a.A1, bytes))
                return -Errno.EFAULT;
            var action = SignalAction.Read(bytes);
            p.SignalHandlers[signal] = action with { Mask = action.Mask & ~SignalState.Unblockable };
            // A signal now ignored is discarded even while pending (POSIX), blocked or not.
            if (p.SignalHandlers.Ignores(signal))
                p.Signals.Discard(signal);
        }
        if (a.A2 == 0)
            return 0;
        Span<byte> old = stackalloc byte[SignalAction.Size];
        previous.WriteTo(old);
        return p.Memory.Write(a.A2, old) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.rt_sigprocmask)]
    static long ProcessMask(GuestProcess p, in SyscallArgs a)
    {
        if (a.A3 != SigSetSize)
            return -Errno.EINVAL;
        var old = p.Signals.BlockedMask;
        if (a.A1 != 0)
        {
            if (!p.Memory.TryRead(a.A1, out ulong set))
                return -Errno.EFAULT;
            var mask = a.Int(0) switch
            {
                SigBlock => old | set,
                SigUnblock => old & ~set,
                SigSetMask => set,
                _ => (ulong?)null,
            };
            if (mask is null)
                return -Errno.EINVAL;
            p.Signals.BlockedMask = mask.Value & ~SignalState.Unblockable;
        }
        return a.A2 == 0 || p.Memory.TryWrite(a.A2, old) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.rt_sigpending)]
    static long Pending(GuestProcess p, in SyscallArgs a)
    {
        if (a.A1 > SigSetSize)
            return -Errno.EINVAL;
        // Pending signals that are blocked: the others are delivered before the program could ask.
        var pending = p.Signals.Pending & p.Signals.BlockedMask;
        return p.Memory.Write(a.A0, BitConverter.GetBytes(pending).AsSpan(0, (int)a.A1)) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.sigaltstack)]
    static long AlternateStack(GuestProcess p, in SyscallArgs a)
    {
        var signals = p.Signals;
        var rsp = p.Cpu.Read(X86Register.Rsp);
        var old = signals.AlternateStack;
        if (a.A0 != 0)
        {
            if (!p.Memory.TryRead(a.A0, out ulong pointer) || !p.Memory.TryRead(a.A0 + 8, out int flags) || !p.Memory.TryRead(a.A0 + 16, out ulong size))
                return -Errno.EFAULT;
            if (signals.IsOnAlternateStack(rsp))
                return -Errno.EPERM;
            const int AutoDisarm = 1 << 31; // accepted; the stack stays armed while its handler runs
            var mode = flags & ~AutoDisarm;
            if (mode is not (0 or SignalState.AlternateStackInUse or SignalState.AlternateStackDisabled))
                return -Errno.EINVAL;
            if (mode != SignalState.AlternateStackDisabled && size < SignalState.MinimumAlternateStackSize)
                return -Errno.ENOMEM;
            signals.AlternateStack = mode == SignalState.AlternateStackDisabled ? (0, SignalState.AlternateStackDisabled, 0) : (pointer, 0, size);
        }
        if (a.A1 != 0)
        {
            var oldFlags = old.Flags != 0 ? old.Flags : signals.IsOnAlternateStack(rsp) ? SignalState.AlternateStackInUse : 0;
            if (!(p.Memory.TryWrite(a.A1, old.Pointer) && p.Memory.TryWrite(a.A1 + 8, (long)oldFlags) && p.Memory.TryWrite(a.A1 + 16, old.Size)))
                return -Errno.EFAULT;
        }
        return 0;
    }

    [Syscall(SyscallNumber.rt_sigreturn)]
    static long Return(GuestProcess p, in SyscallArgs a) => p.ReturnFromSignal();

    // ---- waiting ----

    [Syscall(SyscallNumber.pause)]
    static long Pause(GuestProcess p, in SyscallArgs a)
    {
        if (YieldsInsteadOfWaiting(p, p.Signals.BlockedMask))
            return -Errno.ERESTARTSYS;
        WaitUntilDeliverable(p);
        return -Errno.EINTR;
    }

    [Syscall(SyscallNumber.rt_sigsuspend)]
    static long Suspend(GuestProcess p, in SyscallArgs a)
    {
        if (a.A1 != SigSetSize)
            return -Errno.EINVAL;
        if (!p.Memory.TryRead(a.A0, out ulong mask))
            return -Errno.EFAULT;
        if (YieldsInsteadOfWaiting(p, mask & ~SignalState.Unblockable))
            return -Errno.ERESTARTSYS;
        p.Signals.MaskToRestore = p.Signals.BlockedMask;
        p.Signals.BlockedMask = mask & ~SignalState.Unblockable;
        WaitUntilDeliverable(p);
        return -Errno.EINTR;
    }

    /// <summary>
    /// Whether a wait for a signal that none of the pending ones (under <paramref name="mask"/>)
    /// ends should let another thread run instead, which may send one: the syscall then runs again
    /// when this thread's turn comes, rather than block the whole process.
    /// </summary>
    static bool YieldsInsteadOfWaiting(GuestProcess p, ulong mask)
    {
        if ((p.Signals.Pending & ~mask) != 0 || !p.Scheduler.AnotherCanRun)
            return false;
        p.Scheduler.Yield();
        return true;
    }

    /// <summary>Waits until a signal is to be delivered, or the wait ends without one (the run is being ended).</summary>
    static void WaitUntilDeliverable(GuestProcess p)
    {
        while (!p.Signals.HasDeliverable && p.WaitForSignal(Timeout.InfiniteTimeSpan))
        {
        }
    }

    [Syscall(SyscallNumber.rt_sigtimedwait)]
    static long TimedWait(GuestProcess p, in SyscallArgs a)
    {
        if (a.A3 != SigSetSize)
            return -Errno.EINVAL;
        if (!p.Memory.TryRead(a.A0, out ulong set))
            return -Errno.EFAULT;
        var timeout = Timeout.InfiniteTimeSpan;
        if (a.A2 != 0)
        {
            if (!p.Memory.TryRead(a.A2, out long seconds) || !p.Memory.TryRead(a.A2 + 8, out long nanoseconds))
                return -Errno.EFAULT;
            if (seconds < 0 || nanoseconds is < 0 or >= 1_000_000_000)
                return -Errno.EINVAL;
            timeout = TimeSpan.FromSeconds(Math.Min(seconds, 1L << 31)) + TimeSpan.FromTicks(nanoseconds / 100);
        }
        var wanted = set & ~SignalState.Unblockable;
        while (true)
        {
            if (p.Signals.TryTake(wanted, out var info))
            {
                if (a.A1 != 0)
                {
                    Span<byte> bytes = stackalloc byte[SignalInfo.Size];
                    info.WriteTo(bytes);
                    if (!p.Memory.Write(a.A1, bytes))
                        return -Errno.EFAULT;
                }
                return info.Signal;
            }
            if (p.Signals.HasDeliverable)
                return -Errno.EINTR; // a signal outside the set, for its handler
            if (timeout == TimeSpan.Zero || !p.WaitForSignal(timeout))
                return timeout == Timeout.InfiniteTimeSpan ? -Errno.EINTR : -Errno.EAGAIN;
            if (timeout != Timeout.InfiniteTimeSpan)
                timeout = TimeSpan.Zero; // one wait for the whole timeout; what arrived is checked once more
        }
    }

    // ---- sending ----

    /// <summary>kill: to one process, to a process group (0: the caller's), or to every process but the caller (-1).</summary>
    [Syscall(SyscallNumber.kill)]
    static long Kill(GuestProcess p, in SyscallArgs a)
    {
        var pid = a.Int(0);
        var self = p.CurrentProcess;
        var targets = p.Processes.Where(target => !target.HasEnded && pid switch
        {
            -1 => target != self,
            0 => target.ProcessGroup == self.ProcessGroup,
            < 0 => target.ProcessGroup == -pid,
            _ => target.Pid == pid,
        }).ToList();
        if (pid == -1 && targets.Count == 0)
            targets.Add(self); // alone in the run: Linux's kill(-1) reaches nothing else, but this is what the program asked
        return targets.Count == 0 ? -Errno.ESRCH : Send(p, targets, a.Int(1), SignalCodes.User);
    }

    /// <summary>tgkill: to one thread, which takes it before any other thread could (it is pending for that thread alone).</summary>
    [Syscall(SyscallNumber.tgkill)]
    static long ThreadGroupKill(GuestProcess p, in SyscallArgs a)
    {
        var tid = a.Int(1);
        return p.FindProcess(a.Int(0)) is { IsGone: false } target && target.Threads.Find(t => t.Tid == tid) is { } thread
            ? Send(p, [target], a.Int(2), SignalCodes.ThreadKill, thread)
            : -Errno.ESRCH;
    }

    [Syscall(SyscallNumber.tkill)]
    static long ThreadKill(GuestProcess p, in SyscallArgs a)
    {
        var tid = a.Int(0);
        var target = p.Processes.FirstOrDefault(target => !target.IsGone && target.Threads.Any(t => t.Tid == tid));
        return target is null ? -Errno.ESRCH : Send(p, [target], a.Int(1), SignalCodes.ThreadKill, target.Threads.Find(t => t.Tid == tid));
    }

    /// <summary>Signal 0 only checks that the targets exist.</summary>
    static long Send(GuestProcess p, IEnumerable<ProcessState> targets, int signal, int code, GuestThread? thread = null)
    {
        if (signal is < 0 or > 64)
            return -Errno.EINVAL;
        if (signal == 0)
            return 0;
        foreach (var target in targets)
        {
            // A child that left for the host (--no-follow-children) is a host process now.
            if (target.HostPid > 0)
                HostSyscall.Invoke(SyscallNumber.kill, target.HostPid.Value, signal);
            else
                p.SignalArrived(target.Pid, new SignalInfo(signal, code, SenderPid: p.Pid, SenderUid: p.Nondeterminism.User.Uid), thread?.UniqueId ?? 0);
        }
        return 0;
    }

    /// <summary>
    /// The syscalls of this family that only read and change the emulated process: replay runs them
    /// again (they must return what the recording got), since later deliveries depend on their state.
    /// The others (kill, timers) reach the process through logged arrivals.
    /// </summary>
    public static bool RunsAgainInReplay(long number) => (SyscallNumber)number is SyscallNumber.rt_sigaction or SyscallNumber.rt_sigprocmask
        or SyscallNumber.rt_sigpending or SyscallNumber.sigaltstack or SyscallNumber.rt_sigreturn or SyscallNumber.pause
        or SyscallNumber.rt_sigsuspend or SyscallNumber.rt_sigtimedwait;
}
