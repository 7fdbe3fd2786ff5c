using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>signal.h: handlers, masks and the alternate stack, kept as the guest set them.</summary>
internal static class Signals
{
    const int SigBlock = 0, SigUnblock = 1, SigSetMask = 2;
    const ulong Unblockable = 1UL << ((int)Signal.SIGKILL - 1) | 1UL << ((int)Signal.SIGSTOP - 1);

    [Syscall(SyscallNumber.rt_sigaction)]
    static long Action(GuestProcess p, in SyscallArgs a)
    {
        var signal = a.Int(0);
        if (signal is < 1 or > 64 || a.A3 != 8)
            return -Errno.EINVAL;
        if (a.A1 != 0 && signal is (int)Signal.SIGKILL or (int)Signal.SIGSTOP)
            return -Errno.EINVAL;
        var previous = p.Signals.Action(signal).ToArray();
        if (a.A1 != 0 && !p.Memory.Read(a.A1, p.Signals.Action(signal)))
            return -Errno.EFAULT;
        return a.A2 == 0 || p.Memory.Write(a.A2, previous) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.rt_sigprocmask)]
    static long ProcessMask(GuestProcess p, in SyscallArgs a)
    {
        if (a.A3 != 8)
            return -Errno.EINVAL;
        var old = p.Signals.BlockedMask;
        if (a.A1 != 0)
        {
            if (!p.Memory.TryRead(a.A1, out ulong set))
                return -Errno.EFAULT;
            switch (a.Int(0))
            {
                case SigBlock:
                    p.Signals.BlockedMask = old | set;
                    break;
                case SigUnblock:
                    p.Signals.BlockedMask = old & ~set;
                    break;
                case SigSetMask:
                    p.Signals.BlockedMask = set;
                    break;
                default:
                    return -Errno.EINVAL;
            }
            p.Signals.BlockedMask &= ~Unblockable;
        }
        return a.A2 == 0 || p.Memory.TryWrite(a.A2, old) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.sigaltstack)]
    static long AlternateStack(GuestProcess p, in SyscallArgs a)
    {
        var old = p.Signals.AlternateStack;
        if (a.A0 != 0)
        {
            if (!p.Memory.TryRead(a.A0, out ulong pointer) || !p.Memory.TryRead(a.A0 + 8, out int flags) || !p.Memory.TryRead(a.A0 + 16, out ulong size))
                return -Errno.EFAULT;
            const int Disable = 2, MinimumSize = 2048;
            if ((flags & ~Disable) != 0)
                return -Errno.EINVAL;
            if ((flags & Disable) == 0 && size < MinimumSize)
                return -Errno.ENOMEM;
            p.Signals.AlternateStack = (flags & Disable) != 0 ? (0, Disable, 0) : (pointer, 0, size);
        }
        if (a.A1 != 0 && !(p.Memory.TryWrite(a.A1, old.Pointer) && p.Memory.TryWrite(a.A1 + 8, (long)old.Flags) && p.Memory.TryWrite(a.A1 + 16, old.Size)))
            return -Errno.EFAULT;
        return 0;
    }

    [Syscall(SyscallNumber.kill)]
    static long Kill(GuestProcess p, in SyscallArgs a) => a.Int(0) is 0 or -1 || a.Int(0) == p.Pid ? SendToSelf(p, a.Int(1)) : -Errno.ESRCH;

    // A signal sent to one thread takes the process-wide path below for now; the target thread
    // (p.FindThread) is where per-thread delivery will start from.
    [Syscall(SyscallNumber.tgkill)]
    static long ThreadGroupKill(GuestProcess p, in SyscallArgs a) => a.Int(0) == p.Pid && p.FindThread(a.Int(1)) is not null ? SendToSelf(p, a.Int(2)) : -Errno.ESRCH;

    [Syscall(SyscallNumber.tkill)]
    static long ThreadKill(GuestProcess p, in SyscallArgs a) => p.FindThread(a.Int(0)) is not null ? SendToSelf(p, a.Int(1)) : -Errno.ESRCH;

    /// <summary>
    /// Until signal delivery exists, a signal a program sends itself takes its default action
    /// unless it is ignored; signal 0 only checks that the target exists.
    /// </summary>
    static long SendToSelf(GuestProcess p, int signal)
    {
        if (signal == 0)
            return 0;
        if (signal is < 1 or > 64)
            return -Errno.EINVAL;
        var handler = BitConverter.ToUInt64(p.Signals.Action(signal));
        const ulong Ignore = 1;
        if (handler == Ignore || (Signal)signal is Signal.SIGCHLD or Signal.SIGURG or Signal.SIGWINCH or Signal.SIGCONT)
            return 0;
        p.Terminate((Signal)signal, 0);
        return 0;
    }
}
