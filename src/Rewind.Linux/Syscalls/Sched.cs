using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>sched.h, prctl.h, resource.h, utsname.h, sysinfo.h: identity and limits of the process.</summary>
internal static unsafe partial class Sched
{
    [Syscall(SyscallNumber.getpid)]
    static long GetProcessId(GuestProcess p, in SyscallArgs a) => p.Pid;

    [Syscall(SyscallNumber.gettid)]
    static long GetThreadId(GuestProcess p, in SyscallArgs a) => p.Tid;

    [Syscall(SyscallNumber.getppid)]
    static long GetParentProcessId(GuestProcess p, in SyscallArgs a) => p.ParentPid;

    [Syscall(SyscallNumber.getpgrp)]
    static long GetOwnProcessGroup(GuestProcess p, in SyscallArgs a) => p.CurrentProcess.ProcessGroup;

    [Syscall(SyscallNumber.getpgid)]
    static long GetProcessGroup(GuestProcess p, in SyscallArgs a) =>
        Target(p, a.Int(0)) is { } target ? target.ProcessGroup : -Errno.ESRCH;

    [Syscall(SyscallNumber.getsid)]
    static long GetSession(GuestProcess p, in SyscallArgs a) =>
        Target(p, a.Int(0)) is { } target ? target.Session : -Errno.ESRCH;

    /// <summary>The process <paramref name="pid"/> names (0: the caller's), if it is in the run and has not ended.</summary>
    static ProcessState? Target(GuestProcess p, int pid) =>
        pid == 0 ? p.CurrentProcess : p.FindProcess(pid) is { IsGone: false } process ? process : null;

    /// <summary>setpgid: the caller or one of its children joins (or, with its own pid, founds) a process group of its session.</summary>
    [Syscall(SyscallNumber.setpgid)]
    static long SetProcessGroup(GuestProcess p, in SyscallArgs a)
    {
        var self = p.CurrentProcess;
        if (a.Int(1) < 0)
            return -Errno.EINVAL;
        if (Target(p, a.Int(0)) is not { } target || target != self && target.ParentPid != self.Pid)
            return -Errno.ESRCH;
        var group = a.Int(1) == 0 ? target.Pid : a.Int(1);
        if (target.Session != self.Session || target.Session == target.Pid)
            return -Errno.EPERM;
        if (group != target.Pid && !p.Processes.Any(other => other.ProcessGroup == group && other.Session == self.Session))
            return -Errno.EPERM;
        target.ProcessGroup = group;
        return 0;
    }

    /// <summary>setsid: a process that leads no group starts a session and a group of its own.</summary>
    [Syscall(SyscallNumber.setsid)]
    static long SetSession(GuestProcess p, in SyscallArgs a)
    {
        var self = p.CurrentProcess;
        if (p.Processes.Any(other => other.ProcessGroup == self.Pid))
            return -Errno.EPERM;
        self.Session = self.ProcessGroup = self.Pid;
        return self.Pid;
    }

    [Syscall(SyscallNumber.getuid)]
    [Syscall(SyscallNumber.geteuid)]
    static long GetUserId(GuestProcess p, in SyscallArgs a) => p.Nondeterminism.User.Uid;

    [Syscall(SyscallNumber.getgid)]
    [Syscall(SyscallNumber.getegid)]
    static long GetGroupId(GuestProcess p, in SyscallArgs a) => p.Nondeterminism.User.Gid;

    [Syscall(SyscallNumber.getresuid)]
    static long GetUserIds(GuestProcess p, in SyscallArgs a) => WriteTriple(p, a, p.Nondeterminism.User.Uid);

    [Syscall(SyscallNumber.getresgid)]
    static long GetGroupIds(GuestProcess p, in SyscallArgs a) => WriteTriple(p, a, p.Nondeterminism.User.Gid);

    static long WriteTriple(GuestProcess p, in SyscallArgs a, uint id) =>
        p.Memory.TryWrite(a.A0, id) && p.Memory.TryWrite(a.A1, id) && p.Memory.TryWrite(a.A2, id) ? 0 : -Errno.EFAULT;

    /// <summary>
    /// setuid, setgid, setresuid, setresgid: the guest runs as the user Rewind runs as, and may "change"
    /// to that same user (what make and shells do when they drop privileges they never had); any other id is EPERM.
    /// </summary>
    [Syscall(SyscallNumber.setuid)]
    static long SetUserId(GuestProcess p, in SyscallArgs a) => SetIds(p.Nondeterminism.User.Uid, a.A0);

    [Syscall(SyscallNumber.setreuid)]
    static long SetUserIds(GuestProcess p, in SyscallArgs a) => SetIds(p.Nondeterminism.User.Uid, a.A0, a.A1);

    [Syscall(SyscallNumber.setresuid)]
    static long SetAllUserIds(GuestProcess p, in SyscallArgs a) => SetIds(p.Nondeterminism.User.Uid, a.A0, a.A1, a.A2);

    [Syscall(SyscallNumber.setgid)]
    static long SetGroupId(GuestProcess p, in SyscallArgs a) => SetIds(p.Nondeterminism.User.Gid, a.A0);

    [Syscall(SyscallNumber.setregid)]
    static long SetGroupIds(GuestProcess p, in SyscallArgs a) => SetIds(p.Nondeterminism.User.Gid, a.A0, a.A1);

    [Syscall(SyscallNumber.setresgid)]
    static long SetAllGroupIds(GuestProcess p, in SyscallArgs a) => SetIds(p.Nondeterminism.User.Gid, a.A0, a.A1, a.A2);

    /// <summary>Each id must be -1 (unchanged) or the current one.</summary>
    static long SetIds(uint current, params ReadOnlySpan<ulong> ids)
    {
        foreach (var id in ids)
        {
            if ((uint)id != uint.MaxValue && (uint)id != current)
                return -Errno.EPERM;
        }
        return 0;
    }

    [Syscall(SyscallNumber.exit_group)]
    static long ExitGroup(GuestProcess p, in SyscallArgs a)
    {
        p.Exit(a.Int(0));
        return 0;
    }

    /// <summary>
    /// Ends the calling thread: its clear-tid word becomes 0 and one waiter on it is woken (that is
    /// how pthread_join learns of it), and another thread runs. The last thread's exit ends the process.
    /// </summary>
    [Syscall(SyscallNumber.exit)]
    static long ExitThread(GuestProcess p, in SyscallArgs a)
    {
        if (p.Threads.Count == 1)
        {
            p.Exit(a.Int(0));
            return 0;
        }
        var thread = p.CurrentThread;
        if (thread.ClearChildTid != 0 && p.Memory.TryWrite(thread.ClearChildTid, 0))
            p.Scheduler.Wake(thread.ClearChildTid, 1);
        p.EndCurrentThread();
        if (!p.Scheduler.Exited())
            p.Scheduler.Deadlocked();
        return 0;
    }

    [Syscall(SyscallNumber.set_tid_address)]
    static long SetTidAddress(GuestProcess p, in SyscallArgs a)
    {
        p.CurrentThread.ClearChildTid = a.A0;
        return p.Tid;
    }

    [Syscall(SyscallNumber.set_robust_list)]
    static long SetRobustList(GuestProcess p, in SyscallArgs a)
    {
        if (a.A1 != 24)
            return -Errno.EINVAL;
        p.CurrentThread.RobustList = a.A0;
        return 0;
    }

    [Syscall(SyscallNumber.get_robust_list)]
    static long GetRobustList(GuestProcess p, in SyscallArgs a)
    {
        var thread = a.Int(0) == 0 ? p.CurrentThread : p.FindThread(a.Int(0));
        if (thread is null)
            return -Errno.ESRCH;
        return p.Memory.TryWrite(a.A1, thread.RobustList) && p.Memory.TryWrite(a.A2, 24UL) ? 0 : -Errno.EFAULT;
    }

    /// <summary>rseq: declined, as a kernel without it would; glibc then goes on without restartable sequences.</summary>
    [Syscall(SyscallNumber.rseq)]
    static long RestartableSequences(GuestProcess p, in SyscallArgs a) => -Errno.ENOSYS;

    [Syscall(SyscallNumber.arch_prctl)]
    static long ArchitectureControl(GuestProcess p, in SyscallArgs a)
    {
        const int SetGs = 0x1001, SetFs = 0x1002, GetFs = 0x1003, GetGs = 0x1004, GetCpuid = 0x1011, SetCpuid = 0x1012;
        switch (a.Int(0))
        {
            // A base must be a user address (below TASK_SIZE_MAX): Linux refuses others, whose use would fault.
            case SetFs or SetGs when a.A1 >= Memory.AddressSpace.UserTop:
                return -Errno.EPERM;
            case SetFs:
                p.Cpu.Write(Engine.X86Register.FsBase, a.A1);
                return 0;
            case SetGs:
                p.Cpu.Write(Engine.X86Register.GsBase, a.A1);
                return 0;
            case GetFs:
                return p.Memory.TryWrite(a.A1, p.Cpu.Read(Engine.X86Register.FsBase)) ? 0 : -Errno.EFAULT;
            case GetGs:
                return p.Memory.TryWrite(a.A1, p.Cpu.Read(Engine.X86Register.GsBase)) ? 0 : -Errno.EFAULT;
            case GetCpuid:
                return 1;
            case SetCpuid:
                return -Errno.ENODEV;
            default:
                return -Errno.EINVAL;
        }
    }

    [Syscall(SyscallNumber.prctl)]
    static long ProcessControl(GuestProcess p, in SyscallArgs a)
    {
        const int SetName = 15, GetName = 16, GetDumpable = 3, SetDumpable = 4;
        switch (a.Int(0))
        {
            case SetName:
                // The name is cut at 15 bytes, as the kernel's TASK_COMM_LEN allows.
                var name = new List<byte>(15);
                for (var i = 0UL; i < 15; i++)
                {
                    if (!p.Memory.TryRead(a.A1 + i, out byte c))
                        return -Errno.EFAULT;
                    if (c == 0)
                        break;
                    name.Add(c);
                }
                p.Name = System.Text.Encoding.UTF8.GetString(name.ToArray());
                return 0;
            case GetName:
                var current = new byte[16];
                System.Text.Encoding.UTF8.GetBytes(p.Name, current);
                return p.Memory.Write(a.A1, current) ? 0 : -Errno.EFAULT;
            case GetDumpable:
                return 1;
            case SetDumpable:
                return 0;
            default:
                return -Errno.EINVAL;
        }
    }

    [Syscall(SyscallNumber.sched_getaffinity)]
    static long GetAffinity(GuestProcess p, in SyscallArgs a)
    {
        // The host's CPUs, so that programs size themselves as they would natively; guest threads
        // still run one at a time.
        var size = a.A1;
        return GuestBuffer.Into(p, a.A2, Math.Min(size, 1024), (buffer, length) => HostSyscall.Invoke(SyscallNumber.sched_getaffinity, 0, (long)length, (long)buffer));
    }

    [Syscall(SyscallNumber.sched_setaffinity)]
    static long SetAffinity(GuestProcess p, in SyscallArgs a) => 0;

    [Syscall(SyscallNumber.sched_yield)]
    static long Yield(GuestProcess p, in SyscallArgs a)
    {
        p.Scheduler.Yield();
        return 0;
    }

    [Syscall(SyscallNumber.getcpu)]
    static long GetCpu(GuestProcess p, in SyscallArgs a) =>
        (a.A0 == 0 || p.Memory.TryWrite(a.A0, 0u)) && (a.A1 == 0 || p.Memory.TryWrite(a.A1, 0u)) ? 0 : -Errno.EFAULT;

    [Syscall(SyscallNumber.uname)]
    static long Uname(GuestProcess p, in SyscallArgs a) =>
        GuestBuffer.Struct(p, a.A0, 390, (buffer, _) => HostSyscall.Invoke(SyscallNumber.uname, (long)buffer));

    [Syscall(SyscallNumber.sysinfo)]
    static long SystemInformation(GuestProcess p, in SyscallArgs a) =>
        GuestBuffer.Struct(p, a.A0, 112, (buffer, _) => HostSyscall.Invoke(SyscallNumber.sysinfo, (long)buffer));

    [Syscall(SyscallNumber.getrlimit)]
    static long GetLimit(GuestProcess p, in SyscallArgs a) => ProcessLimit(p, p.CurrentProcess, a.Int(0), 0, a.A1);

    [Syscall(SyscallNumber.setrlimit)]
    static long SetLimit(GuestProcess p, in SyscallArgs a) => ProcessLimit(p, p.CurrentProcess, a.Int(0), a.A1, 0);

    /// <summary>prlimit64: any process of the run (0: the caller), the new limits read before the old ones are written.</summary>
    [Syscall(SyscallNumber.prlimit64)]
    static long ProcessLimit(GuestProcess p, in SyscallArgs a)
    {
        var target = a.Int(0) == 0 ? p.CurrentProcess : p.FindProcess(a.Int(0));
        return target is null || target.IsGone ? -Errno.ESRCH : ProcessLimit(p, target, a.Int(1), a.A2, a.A3);
    }

    static long ProcessLimit(GuestProcess p, ProcessState target, int resource, ulong newLimit, ulong oldLimit)
    {
        if (resource is < 0 or >= ResourceLimits.Count)
            return -Errno.EINVAL;
        ulong soft = 0, hard = 0;
        if (newLimit != 0 && !(p.Memory.TryRead(newLimit, out soft) && p.Memory.TryRead(newLimit + 8, out hard)))
            return -Errno.EFAULT;
        var (oldSoft, oldHard) = target.Limits[resource];
        if (newLimit != 0)
        {
            var result = target.Limits.Set(resource, soft, hard, privileged: p.Nondeterminism.User.Uid == 0);
            if (result < 0)
                return result;
            target.Files.Limit = target.Limits.OpenFilesLimit;
        }
        return oldLimit == 0 || p.Memory.TryWrite(oldLimit, oldSoft) && p.Memory.TryWrite(oldLimit + 8, oldHard) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.getrusage)]
    static long ResourceUsage(GuestProcess p, in SyscallArgs a)
    {
        var usage = new byte[144];
        // User time from the instruction count at a nominal 1 GHz, so that it is reproducible.
        var microseconds = p.Instructions / 1000;
        BitConverter.TryWriteBytes(usage.AsSpan(0), microseconds / 1_000_000);
        BitConverter.TryWriteBytes(usage.AsSpan(8), microseconds % 1_000_000);
        return p.Memory.Write(a.A1, usage) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.getpriority)]
    static long GetPriority(GuestProcess p, in SyscallArgs a) => 20; // the kernel returns 20 - nice

    [Syscall(SyscallNumber.setpriority)]
    static long SetPriority(GuestProcess p, in SyscallArgs a) => 0;

    const int SchedOther = 0, SchedFifo = 1, SchedRoundRobin = 2, SchedBatch = 3, SchedIdle = 5, SchedDeadline = 6;
    const int ResetOnFork = 0x40000000;

    [Syscall(SyscallNumber.sched_get_priority_max)]
    static long MaximumPriority(GuestProcess p, in SyscallArgs a) => a.Int(0) switch
    {
        SchedFifo or SchedRoundRobin => 99,
        SchedOther or SchedBatch or SchedIdle or SchedDeadline => 0,
        _ => -Errno.EINVAL,
    };

    [Syscall(SyscallNumber.sched_get_priority_min)]
    static long MinimumPriority(GuestProcess p, in SyscallArgs a) => a.Int(0) switch
    {
        SchedFifo or SchedRoundRobin => 1,
        SchedOther or SchedBatch or SchedIdle or SchedDeadline => 0,
        _ => -Errno.EINVAL,
    };

    /// <summary>The process a sched_* call names: 0 is the caller; any process of the run by its pid.</summary>
    static ProcessState? SchedulingTarget(GuestProcess p, int pid) =>
        pid == 0 ? p.CurrentProcess : p.FindProcess(pid) is { IsGone: false } target ? target : null;

    [Syscall(SyscallNumber.sched_getscheduler)]
    static long GetScheduler(GuestProcess p, in SyscallArgs a) =>
        a.Int(0) < 0 ? -Errno.EINVAL : SchedulingTarget(p, a.Int(0)) is { } target ? target.Scheduling.Policy : -Errno.ESRCH;

    [Syscall(SyscallNumber.sched_getparam)]
    static long GetSchedulerParameters(GuestProcess p, in SyscallArgs a)
    {
        if (a.Int(0) < 0 || a.A1 == 0)
            return -Errno.EINVAL;
        if (SchedulingTarget(p, a.Int(0)) is not { } target)
            return -Errno.ESRCH;
        return p.Memory.TryWrite(a.A1, target.Scheduling.Priority) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.sched_setscheduler)]
    static long SetScheduler(GuestProcess p, in SyscallArgs a) => SetScheduling(p, a.Int(0), a.Int(1) & ~ResetOnFork, a.A2);

    [Syscall(SyscallNumber.sched_setparam)]
    static long SetSchedulerParameters(GuestProcess p, in SyscallArgs a) =>
        SchedulingTarget(p, Math.Max(a.Int(0), 0)) is { } target ? SetScheduling(p, a.Int(0), target.Scheduling.Policy, a.A1) : -Errno.ESRCH;

    /// <summary>
    /// Keeps the policy and priority, checked as Linux checks them (priority 1-99 for the real-time policies, 0 for the
    /// others; real-time only with privilege). Guest threads run one at a time whatever the policy.
    /// </summary>
    static long SetScheduling(GuestProcess p, int pid, int policy, ulong parameters)
    {
        if (pid < 0 || parameters == 0)
            return -Errno.EINVAL;
        if (!p.Memory.TryRead(parameters, out int priority))
            return -Errno.EFAULT;
        if (SchedulingTarget(p, pid) is not { } target)
            return -Errno.ESRCH;
        var realTime = policy is SchedFifo or SchedRoundRobin;
        if (policy is not (SchedOther or SchedFifo or SchedRoundRobin or SchedBatch or SchedIdle) || (realTime ? priority is < 1 or > 99 : priority != 0))
            return -Errno.EINVAL;
        if (realTime && p.Nondeterminism.User.Uid != 0)
            return -Errno.EPERM;
        target.Scheduling = (policy, priority);
        return 0;
    }

    /// <summary>sched_rr_get_interval: SCHED_RR's time slice, 100 ms (Linux's default); 0 for the other policies.</summary>
    [Syscall(SyscallNumber.sched_rr_get_interval)]
    static long RoundRobinInterval(GuestProcess p, in SyscallArgs a)
    {
        if (a.Int(0) < 0)
            return -Errno.EINVAL;
        if (SchedulingTarget(p, a.Int(0)) is not { } target)
            return -Errno.ESRCH;
        var nanoseconds = target.Scheduling.Policy == SchedRoundRobin ? 100_000_000L : 0;
        return p.Memory.TryWrite(a.A1, 0L) && p.Memory.TryWrite(a.A1 + 8, nanoseconds) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.personality)]
    static long Personality(GuestProcess p, in SyscallArgs a) => 0; // PER_LINUX; changes are accepted and ignored

    [Syscall(SyscallNumber.capget)]
    static long GetCapabilities(GuestProcess p, in SyscallArgs a) =>
        a.A1 == 0 || p.Memory.Write(a.A1, new byte[24]) ? 0 : -Errno.EFAULT;

    [Syscall(SyscallNumber.sync)]
    [Syscall(SyscallNumber.syncfs)]
    static long SynchronizeFileSystems(GuestProcess p, in SyscallArgs a) => 0;

    [Syscall(SyscallNumber.membarrier)]
    static long MemoryBarrier(GuestProcess p, in SyscallArgs a) => 0; // threads run one at a time: every barrier is a no-op

    [Syscall(SyscallNumber.mincore)]
    static long Residency(GuestProcess p, in SyscallArgs a)
    {
        // Every mapped guest page counts as resident.
        var pages = (a.A1 + Memory.AddressSpace.PageSize - 1) / Memory.AddressSpace.PageSize;
        if (!p.Memory.IsAccessible(a.A0, pages * Memory.AddressSpace.PageSize, Engine.Protection.None))
            return -Errno.ENOMEM;
        var vector = new byte[pages];
        Array.Fill(vector, (byte)1);
        return p.Memory.Write(a.A2, vector) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.times)]
    static long Times(GuestProcess p, in SyscallArgs a)
    {
        // Clock ticks (100 Hz) from the instruction count at a nominal 1 GHz, like getrusage.
        var ticks = p.Instructions / 10_000_000;
        if (a.A0 != 0 && !p.Memory.Write(a.A0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(new[] { ticks, 0L, 0L, 0L }.AsSpan())))
            return -Errno.EFAULT;
        return ticks;
    }
}
