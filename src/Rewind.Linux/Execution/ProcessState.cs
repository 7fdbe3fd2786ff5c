using Rewind.Linux.Files;
using Rewind.Linux.Host;
using Rewind.Linux.Memory;
using Rewind.Linux.Signals;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Execution;

/// <summary>
/// What Linux keeps per process (a thread group): identity, address space, descriptors, signal
/// actions, threads. All processes of a run share one engine and run one at a time: the running
/// one's memory is in the engine, the others' stays in host memory until they run again (see
/// <see cref="GuestProcess"/>, whose process-level properties are the running process's).
/// </summary>
public sealed class ProcessState(int pid, int parentPid, AddressSpace memory, FileTable files, string cwd) : IDisposable
{
    public int Pid { get; } = pid;

    /// <summary>The parent's pid; the first process's parent is outside the run (Rewind's own parent).</summary>
    public int ParentPid { get; set; } = parentPid;

    public int ProcessGroup { get; set; } = pid;
    public int Session { get; set; } = pid;

    /// <summary>Task name (comm): executable base name, at most 15 bytes; prctl(PR_SET_NAME) changes it.</summary>
    public string Name { get; set; } = "";

    /// <summary>Absolute guest path of the running executable (/proc/self/exe).</summary>
    public string ExecutablePath { get; set; } = "";

    /// <summary>argv as the program received it (after any #! interpreter was inserted).</summary>
    public IReadOnlyList<string> Arguments { get; set; } = [];

    public string Cwd { get; set; } = cwd;

    /// <summary>Host O_PATH descriptor of <see cref="Cwd"/>, for *at syscalls relative to AT_FDCWD.</summary>
    public int CwdFd { get; set; } = -1;

    public uint Umask { get; set; }

    /// <summary>The resource limits (setrlimit); RLIMIT_NOFILE bounds <see cref="Files"/>.</summary>
    public ResourceLimits Limits { get; init; } = ResourceLimits.FromHost();

    /// <summary>The current image's initial stack: where /proc/PID/cmdline, environ and auxv read from.</summary>
    public Loader.InitialStackLayout Stack { get; set; } = Loader.InitialStackLayout.None;

    /// <summary>Supplementary group ids (setgroups, getgroups); Rewind's own at first.</summary>
    public uint[] Groups { get; set; } = HostIdentity.Groups();

    /// <summary>I/O scheduling class and level (ioprio_set), in the kernel's encoding; 0 (IOPRIO_CLASS_NONE) until set.</summary>
    public int IoPriority { get; set; }

    /// <summary>CPU scheduling policy and static priority (sched_setscheduler); SCHED_OTHER and 0 at first.</summary>
    public (int Policy, int Priority) Scheduling { get; set; }

    /// <summary>When the process started, in clock ticks (100 Hz) since the host booted, as /proc/PID/stat shows it.</summary>
    public ulong StartTime { get; init; } = Host.HostClock.TicksSinceBoot();

    public AddressSpace Memory { get; } = memory;
    public FileTable Files { get; } = files;

    /// <summary>Pending signals, the alternate stack, and the blocked mask of the thread that runs (or ran last).</summary>
    public SignalState Signals { get; } = new();

    /// <summary>Actions installed with rt_sigaction, shared by all threads.</summary>
    public SignalHandlers SignalHandlers { get; } = new();

    /// <summary>Threads that have not ended, in creation order.</summary>
    public List<GuestThread> Threads { get; } = [];

    /// <summary>The thread that runs when this process runs; its own pending signals join the process's.</summary>
    public GuestThread CurrentThread
    {
        get;
        set
        {
            field = value;
            Signals.ThreadPending = value.PendingSignals;
        }
    } = null!;

    /// <summary>
    /// The instructions that read the time stamp counter (address, and whether it is RDTSCP), hooked
    /// while this process runs.
    /// </summary>
    public Dictionary<ulong, bool> TimeStampReads { get; } = [];

    /// <summary>ITIMER_REAL, once armed (live runs only).</summary>
    internal RealTimer? RealTimer { get; set; }

    /// <summary>How the process ended (a wait status, as wait4 reports it), once it has: until its parent waits for it, a zombie.</summary>
    public int? WaitStatus { get; set; }

    public bool HasEnded => WaitStatus is not null;

    /// <summary>
    /// The host pid of the program the process exec'd outside the trace (--no-follow-children): it runs
    /// natively from then on, and only its exit status comes back. -1 in replay, where only the trace is known.
    /// </summary>
    public int? HostPid { get; set; }

    /// <summary>Whether the process runs no more instructions in the engine: it ended, or it left for the host.</summary>
    public bool IsGone => HasEnded || HostPid is not null;

    /// <summary>
    /// The copy fork makes: memory copied (shared mappings stay shared), descriptors duplicated
    /// (sharing their open files, as fork does), the same signal actions and blocked mask, no pending signals.
    /// </summary>
    public ProcessState Fork(int childPid, AddressSpace memory)
    {
        var files = new FileTable { Limit = Files.Limit };
        foreach (var (fd, descriptor) in Files.All)
        {
            if (FileTable.Duplicate(descriptor, descriptor.CloseOnExec, out _) is { } copy)
                files.Set(fd, copy);
        }
        var child = new ProcessState(childPid, Pid, memory, files, Cwd)
        {
            ProcessGroup = ProcessGroup,
            Session = Session,
            Name = Name,
            ExecutablePath = ExecutablePath,
            Arguments = Arguments,
            CwdFd = CwdFd < 0 ? -1 : (int)HostSyscall.Duplicate(CwdFd),
            Umask = Umask,
            Limits = Limits.Copy(),
            Groups = Groups,
            IoPriority = IoPriority,
            Scheduling = Scheduling,
            Stack = Stack,
        };
        child.Signals.BlockedMask = Signals.BlockedMask;
        child.Signals.AlternateStack = Signals.AlternateStack;
        for (var signal = 1; signal <= 64; signal++)
            child.SignalHandlers[signal] = SignalHandlers[signal];
        return child;
    }

    /// <summary>
    /// The process stops running here (it exited, was killed, or goes on as a host process): its threads are over,
    /// its timer stops and its descriptors close, so that its pipes' readers see the end. Its memory stays until
    /// the engine has switched away from it (<see cref="Release"/>).
    /// </summary>
    public void End()
    {
        foreach (var thread in Threads)
            thread.Exited = true;
        StopTimerAndCloseFiles();
    }

    /// <summary>Releases what only a running process needs: its memory, descriptors and timer (a zombie keeps its status).</summary>
    public void Release()
    {
        StopTimerAndCloseFiles();
        if (CwdFd >= 0)
            HostSyscall.Invoke(SyscallNumber.close, CwdFd);
        CwdFd = -1;
        Memory.Dispose();
    }

    void StopTimerAndCloseFiles()
    {
        RealTimer?.Dispose();
        RealTimer = null;
        Files.Dispose();
    }

    public void Dispose() => Release();

    public override string ToString() => $"process {Pid} ({Name})";
}
