using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// sys/epoll.h on a host epoll instance: descriptors are added under their host numbers, and the
/// guest's event data (opaque to the kernel) comes back as it was given, so events need no translation.
/// </summary>
internal static unsafe partial class Epoll
{
    const int EventSize = 12; // struct epoll_event is packed on x86-64: u32 events, u64 data
    const int MaxEvents = (int.MaxValue - 1) / EventSize;

    [Syscall(SyscallNumber.epoll_create)]
    static long Create(GuestProcess p, in SyscallArgs a) => a.Int(0) <= 0 ? -Errno.EINVAL : CreateCore(p, 0);

    [Syscall(SyscallNumber.epoll_create1)]
    static long CreateWithFlags(GuestProcess p, in SyscallArgs a)
    {
        const int CloseOnExec = 0x80000;
        return (a.Int(0) & ~CloseOnExec) != 0 ? -Errno.EINVAL : CreateCore(p, a.Int(0));
    }

    static long CreateCore(GuestProcess p, int flags)
    {
        const int CloseOnExec = 0x80000;
        var host = HostSyscall.Invoke(SyscallNumber.epoll_create1, CloseOnExec);
        return host < 0 ? host : p.Files.Add((int)host, null, closeOnExec: (flags & CloseOnExec) != 0);
    }

    [Syscall(SyscallNumber.epoll_ctl)]
    static long Control(GuestProcess p, in SyscallArgs a)
    {
        const int Delete = 2;
        var epoll = p.HostFd(a.Int(0));
        var target = p.HostFd(a.Int(2));
        if (epoll < 0 || target < 0)
            return -Errno.EBADF;
        var operation = a.Int(1);
        var evt = stackalloc byte[EventSize];
        if (operation != Delete && !p.Memory.Read(a.A3, new Span<byte>(evt, EventSize)))
            return -Errno.EFAULT;
        return HostSyscall.Invoke(SyscallNumber.epoll_ctl, epoll, operation, target, operation == Delete ? 0 : (long)evt);
    }

    [Syscall(SyscallNumber.epoll_wait)]
    static long WaitForEvents(GuestProcess p, in SyscallArgs a) => WaitCore(p, a.Int(0), a.A1, a.Int(2), a.Int(3));

    /// <summary>epoll_pwait: the signal mask (a.A4) is not applied for the wait; signals arrive between syscalls here.</summary>
    [Syscall(SyscallNumber.epoll_pwait)]
    static long WaitForEventsWithMask(GuestProcess p, in SyscallArgs a) => WaitCore(p, a.Int(0), a.A1, a.Int(2), a.Int(3));

    /// <summary>
    /// A wait that would block while another thread or process could run only looks (zero timeout); when
    /// nothing is ready, the other runs and this one waits again when its turn comes, as poll does.
    /// </summary>
    static long WaitCore(GuestProcess p, int guestEpoll, ulong events, int maxEvents, int timeoutMs)
    {
        var epoll = p.HostFd(guestEpoll);
        if (epoll < 0)
            return -Errno.EBADF;
        if (maxEvents <= 0 || maxEvents > MaxEvents)
            return -Errno.EINVAL;
        var yields = timeoutMs != 0 && p.Scheduler.AnotherCanRun;
        var result = GuestBuffer.Into(p, events, (ulong)(maxEvents * EventSize),
            (buffer, _) => HostSyscall.Invoke(SyscallNumber.epoll_wait, epoll, (long)buffer, maxEvents, yields ? 0 : timeoutMs) is var n && n > 0 ? n * EventSize : n);
        if (yields && result == 0)
        {
            p.Scheduler.Yield();
            return -Errno.ERESTARTSYS;
        }
        return result > 0 ? result / EventSize : result;
    }
}
