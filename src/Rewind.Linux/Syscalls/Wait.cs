using Rewind.Linux.Execution;
using Rewind.Linux.Signals;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// sys/wait.h: wait4 and waitid report a child that has ended (and, unless WNOWAIT, reap it). With
/// none ended yet, the caller waits: another thread runs, and the caller runs the syscall again
/// once a child of its process ends or a signal comes for it. Stopped and continued children are
/// never reported: no process of a run stops.
/// </summary>
internal static partial class Wait
{
    const int NoHang = 1, Exited = 4, NoWait = 0x0100_0000;
    const int AllIds = 0, ById = 1, ByGroup = 2; // waitid's idtype

    [Syscall(SyscallNumber.wait4)]
    static long WaitForChild(GuestProcess p, in SyscallArgs a)
    {
        var pid = a.Int(0);
        Func<ProcessState, bool> matches = pid switch
        {
            -1 => _ => true,
            0 => child => child.ProcessGroup == p.CurrentProcess.ProcessGroup,
            < 0 => child => child.ProcessGroup == -pid,
            _ => child => child.Pid == pid,
        };
        var (anyChild, zombie) = Find(p, matches);
        while (zombie is null)
        {
            if (!anyChild)
                return -Errno.ECHILD;
            if (Block(p, a.Int(2)) is { } result)
                return result;
            (anyChild, zombie) = Find(p, matches);
        }
        if (a.A1 != 0 && !p.Memory.TryWrite(a.A1, zombie.WaitStatus!.Value))
            return -Errno.EFAULT;
        if (a.A3 != 0 && !p.Memory.Write(a.A3, new byte[RusageSize]))
            return -Errno.EFAULT;
        p.Reap(zombie);
        return zombie.Pid;
    }

    [Syscall(SyscallNumber.waitid)]
    static long WaitForChildInfo(GuestProcess p, in SyscallArgs a)
    {
        var (idType, id, options) = (a.Int(0), a.Int(1), a.Int(3));
        if ((options & Exited) == 0)
            return -Errno.EINVAL;
        Func<ProcessState, bool>? matches = idType switch
        {
            AllIds => _ => true,
            ById => child => child.Pid == id,
            ByGroup => child => child.ProcessGroup == (id == 0 ? p.CurrentProcess.ProcessGroup : id),
            _ => null,
        };
        if (matches is null)
            return -Errno.EINVAL;
        var (anyChild, zombie) = Find(p, matches);
        while (zombie is null)
        {
            if (!anyChild)
                return -Errno.ECHILD;
            if ((options & NoHang) != 0 && a.A2 != 0 && !p.Memory.Write(a.A2, new byte[SignalInfo.Size]))
                return -Errno.EFAULT; // nothing to report: si_pid 0
            if (Block(p, options) is { } result)
                return result;
            (anyChild, zombie) = Find(p, matches);
        }
        var (code, status) = WaitStatuses.Describe(zombie.WaitStatus!.Value);
        var info = new byte[SignalInfo.Size];
        new SignalInfo((int)Signal.SIGCHLD, code, SenderPid: zombie.Pid, SenderUid: p.Nondeterminism.User.Uid, Status: status).WriteTo(info);
        if (a.A2 != 0 && !p.Memory.Write(a.A2, info))
            return -Errno.EFAULT;
        if ((options & NoWait) == 0)
            p.Reap(zombie);
        return 0;
    }

    /// <summary>size of struct rusage, reported all zero: no resource accounting.</summary>
    const int RusageSize = 144;

    /// <summary>Whether any child of the caller's process <paramref name="matches"/>, and the first of those that has ended.</summary>
    static (bool AnyChild, ProcessState? Ended) Find(GuestProcess p, Func<ProcessState, bool> matches)
    {
        p.CollectHostChildren(block: false);
        var children = p.Processes.Where(child => child.ParentPid == p.Pid && child != p.CurrentProcess && matches(child)).ToList();
        return (children.Count > 0, children.FirstOrDefault(child => child.HasEnded));
    }

    /// <summary>
    /// No matching child has ended: 0 at once with WNOHANG, EINTR when a signal is to be handled,
    /// else another thread runs and this one runs the syscall again when a child ends. Null when a
    /// child outside the engine ended while nothing else could run: the caller looks again.
    /// </summary>
    static long? Block(GuestProcess p, int options)
    {
        if ((options & NoHang) != 0)
            return 0;
        if (p.Signals.HasDeliverable)
            return -Errno.EINTR;
        // Children outside the engine end without telling the scheduler: look again after a time slice.
        var onHost = p.Processes.Any(child => child.ParentPid == p.Pid && child.HostPid > 0 && !child.HasEnded);
        if (p.Scheduler.WaitForChild(onHost ? p.Instructions + p.Scheduler.PreemptAfter : long.MaxValue))
            return -Errno.ERESTARTSYS;
        if (onHost)
        {
            p.CollectHostChildren(block: true);
            return null;
        }
        p.Scheduler.Deadlocked();
        return -Errno.EINTR;
    }
}
