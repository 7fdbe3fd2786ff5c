using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>linux/ioprio.h: I/O scheduling priorities, kept per process (the guest's I/O goes through Rewind's own).</summary>
internal static partial class Ioprio
{
    const int WhoProcess = 1, WhoProcessGroup = 2, WhoUser = 3;
    const int ClassNone = 0, ClassRealTime = 1, ClassBestEffort = 2, ClassIdle = 3;
    const int ClassShift = 13;

    [Syscall(SyscallNumber.ioprio_get)]
    static long Get(GuestProcess p, in SyscallArgs a)
    {
        var targets = Targets(p, a.Int(0), a.Int(1));
        if (targets is null)
            return -Errno.EINVAL;
        // Of several processes, the highest priority: the lowest class and level, a process without one counting as best effort, level 4.
        return targets.Count == 0 ? -Errno.ESRCH : targets.Select(t => t.IoPriority).MinBy(Effective);
    }

    static int Effective(int priority) => priority >> ClassShift == ClassNone ? ClassBestEffort << ClassShift | 4 : priority;

    [Syscall(SyscallNumber.ioprio_set)]
    static long Set(GuestProcess p, in SyscallArgs a)
    {
        var priority = a.Int(2);
        // The level is the low 3 bits; the 10 above them are hints (IOPRIO_HINT_*), which Linux passes on unchecked.
        var (priorityClass, level) = (priority >> ClassShift, priority & 7);
        if (priorityClass is < ClassNone or > ClassIdle || priorityClass == ClassNone && level != 0)
            return -Errno.EINVAL;
        if (priorityClass == ClassRealTime && p.Nondeterminism.User.Uid != 0)
            return -Errno.EPERM; // CAP_SYS_ADMIN
        var targets = Targets(p, a.Int(0), a.Int(1));
        if (targets is null)
            return -Errno.EINVAL;
        foreach (var target in targets)
            target.IoPriority = priority;
        return targets.Count == 0 ? -Errno.ESRCH : 0;
    }

    /// <summary>The processes of the run that (which, who) names; null for an unknown which.</summary>
    static List<ProcessState>? Targets(GuestProcess p, int which, int who)
    {
        var live = p.Processes.Where(process => !process.IsGone);
        return which switch
        {
            WhoProcess => live.Where(process => process.Pid == (who == 0 ? p.Pid : who)).ToList(),
            WhoProcessGroup => live.Where(process => process.ProcessGroup == (who == 0 ? p.CurrentProcess.ProcessGroup : who)).ToList(),
            WhoUser => who == 0 || (uint)who == p.Nondeterminism.User.Uid ? live.ToList() : [],
            _ => null,
        };
    }
}
