using Rewind.Engine;
using Rewind.Linux.Memory;
using Rewind.Linux.Signals;

namespace Rewind.Linux.Execution;

/// <summary>
/// The processes of the run. They share the engine: the running process's mappings are in it,
/// the others' wait in host memory. A switch to a thread of another process is asked for in a
/// block hook like any thread switch, but completed between two runs of the engine, where its
/// memory can be swapped and every translation dropped. The run ends when the first process ends.
/// </summary>
public sealed unsafe partial class GuestProcess
{
    readonly List<ProcessState> _processes = [];
    ProcessState _current;
    int _lastPid;
    (GuestThread Thread, long? Result)? _pendingSwitch;

    /// <summary>The process that runs.</summary>
    public ProcessState CurrentProcess => _current;

    /// <summary>The first process, the one the run started: when it ends, the run ends.</summary>
    public ProcessState Root => _processes[0];

    /// <summary>Processes of the run not yet waited for (zombies included), in creation order.</summary>
    public IReadOnlyList<ProcessState> Processes => _processes;

    public ProcessState? FindProcess(int pid) => _processes.Find(p => p.Pid == pid);

    /// <summary>
    /// Raised when code in the engine may have changed: a mapping of the running process changed, or
    /// another process runs now (then for each code mapping of both). Caches of decoded code listen.
    /// </summary>
    public event Action<ulong, ulong>? CodeChanged;

    AddressSpace NewAddressSpace() => WatchCode(new AddressSpace(Cpu));

    AddressSpace WatchCode(AddressSpace memory)
    {
        memory.CodeChanged += (start, end) =>
        {
            if (memory.Attached)
                CodeChangedInEngine(start, end);
        };
        return memory;
    }

    void CodeChangedInEngine(ulong start, ulong end)
    {
        Cpu.DropTranslations(start, end);
        _counter.Clear();
        CodeChanged?.Invoke(start, end);
    }

    /// <summary>
    /// Drops the translations of <paramref name="memory"/>'s code, by range: dropping them all makes the
    /// engine touch its whole code buffer, which costs far more than a process switch should.
    /// </summary>
    void DropCode(AddressSpace memory)
    {
        foreach (var mapping in memory.Mappings.Where(m => m.Protection.HasFlag(Protection.Execute)))
            CodeChangedInEngine(mapping.Start, mapping.End);
    }

    /// <summary>
    /// fork: a copy of the running process whose one thread, <paramref name="uniqueId"/> with tid
    /// <paramref name="pid"/>, starts with <paramref name="registers"/>. Its tid is written at
    /// <paramref name="setTidAt"/> in its memory (CLONE_CHILD_SETTID) and cleared at <paramref name="clearTidAt"/>
    /// when it ends (CLONE_CHILD_CLEARTID), when not 0. Null when the host has no memory for it.
    /// </summary>
    public ProcessState? Fork(int pid, long uniqueId, byte[] registers, ulong setTidAt, ulong clearTidAt)
    {
        if (Memory.CopyForFork() is not { } memory)
            return null;
        // Not a write a recorder logs (the observer comes after): replay's fork makes it again.
        if (setTidAt != 0)
            memory.Poke(setTidAt, BitConverter.GetBytes(pid));
        memory.Observer = Memory.Observer;
        var child = _current.Fork(pid, WatchCode(memory));
        var thread = new GuestThread(pid, uniqueId, child) { Context = registers, SignalMask = Signals.BlockedMask, ClearChildTid = clearTidAt };
        child.Threads.Add(thread);
        child.CurrentThread = thread;
        foreach (var (address, withProcessorId) in _current.TimeStampReads)
            child.TimeStampReads[address] = withProcessorId;
        _processes.Add(child);
        NextUniqueThreadId = Math.Max(NextUniqueThreadId, uniqueId + 1);
        _lastPid = Math.Max(_lastPid, pid);
        _kernel.ProcessCreated(this, child, setTidAt, clearTidAt);
        return child;
    }

    /// <summary>
    /// The running process has ended with <paramref name="waitStatus"/> while the run goes on: its threads
    /// are gone, its descriptors close (so its pipes' readers see the end), its children go to the first
    /// process, and its parent gets SIGCHLD. It stays a zombie until the parent waits for it. Another
    /// thread is switched in between two runs of the engine.
    /// </summary>
    public void EndProcess(int waitStatus)
    {
        var ended = _current;
        ended.WaitStatus = waitStatus;
        ended.End();
        foreach (var orphan in _processes.Where(p => p.ParentPid == ended.Pid))
            orphan.ParentPid = Root.Pid;
        if (FindProcess(ended.ParentPid) is { } parent)
        {
            var (code, status) = WaitStatuses.Describe(waitStatus);
            Raise(parent, new SignalInfo((int)Signal.SIGCHLD, code, SenderPid: ended.Pid, SenderUid: Nondeterminism.User.Uid, Status: status));
            // A parent that ignores SIGCHLD outright does not keep zombies (Linux reaps them at once).
            if (parent.SignalHandlers[(int)Signal.SIGCHLD].Handler == SignalAction.Ignore)
                Reap(ended);
        }
        else
        {
            Reap(ended);
        }
        _kernel.ProcessEnded(this, ended);
        Cpu.Stop();
    }

    /// <summary>Whether children run in the engine all their life (see <see cref="RunOptions.FollowChildren"/>).</summary>
    public bool FollowsChildren => _options.FollowChildren;

    /// <summary>
    /// --no-follow-children: a child's exec starts the program as a host process, with the child's descriptors,
    /// working directory and signal state, and the child leaves the engine. Returns 0, or the negative errno
    /// with which the exec fails (the child then goes on in the engine).
    /// </summary>
    public long LeaveForHost(string hostPath, IReadOnlyList<string> arguments, IReadOnlyList<string> environment)
    {
        ulong defaults = 0;
        for (var signal = 1; signal <= 64; signal++)
        {
            if (SignalHandlers[signal].Handler != SignalAction.Ignore && signal is not ((int)Signal.SIGKILL or (int)Signal.SIGSTOP))
                defaults |= SignalState.Bit(signal);
        }
        var hostPid = Host.HostSpawn.Start(hostPath, arguments, environment, Cwd,
            Files.All.Select(f => (f.Key, f.Value.HostFd)), Signals.BlockedMask, defaults);
        if (hostPid < 0)
            return hostPid;
        LeaveEngine((int)hostPid);
        return 0;
    }

    /// <summary>
    /// The running process goes on outside the engine as host process <paramref name="hostPid"/> (-1 in replay):
    /// its threads end here, its descriptors close (the host process has its own), and another thread runs.
    /// </summary>
    public void LeaveEngine(int hostPid)
    {
        var left = _current;
        left.HostPid = hostPid;
        left.End();
        _kernel.ProcessEnded(this, left);
        Cpu.Stop();
    }

    /// <summary>
    /// Children of the running process that left for the host and have exited since last asked: they become
    /// zombies with the host's wait status, and the parent gets SIGCHLD (an arrival, since only the host knew when).
    /// With <paramref name="block"/>, waits on the host until one of them exits first.
    /// </summary>
    public void CollectHostChildren(bool block)
    {
        var children = _processes.Where(p => p.ParentPid == Pid && p.HostPid > 0 && !p.HasEnded).ToList();
        var info = stackalloc byte[SignalInfo.Size];
        while (children.Count > 0)
        {
            var collected = false;
            foreach (var child in children)
            {
                int status;
                if (Host.HostSyscall.Invoke(Syscalls.SyscallNumber.wait4, child.HostPid!.Value, (long)&status, 1 /* WNOHANG */, 0) <= 0)
                    continue;
                child.WaitStatus = status;
                var (code, value) = WaitStatuses.Describe(status);
                SignalArrived(Pid, new SignalInfo((int)Signal.SIGCHLD, code, SenderPid: child.Pid, SenderUid: Nondeterminism.User.Uid, Status: value));
                collected = true;
            }
            if (collected || !block)
                return;
            // WNOWAIT: only wait for one to exit; the loop above collects it.
            Host.HostSyscall.Invoke(Syscalls.SyscallNumber.waitid, 0 /* P_ALL */, 0, (long)info, 4 | 0x0100_0000 /* WEXITED | WNOWAIT */);
        }
    }

    /// <summary>A zombie is waited for: it leaves the run.</summary>
    public void Reap(ProcessState zombie) => _processes.Remove(zombie);

    /// <summary>
    /// Between two runs of the engine, after the running process ended: asks the kernel for the next
    /// thread (the scheduler's choice, or the trace's). False when there is none (the run then ends).
    /// </summary>
    bool SwitchAwayFromEnded()
    {
        if (!_current.IsGone || _exit is not null)
            return true;
        if (_kernel.SwitchDue(this, Cpu.Read(X86Register.Rip)) || _exit is not null)
            return true;
        if (_terminationRequest != 0)
        {
            // Nothing can run (the run was found deadlocked, or ended from outside): the run ends here.
            Terminate((Signal)_terminationRequest, 0);
            return false;
        }
        throw new InvalidOperationException($"{_current} ended and no thread was switched in");
    }

    /// <summary>
    /// Replay from a keyframe: the process <paramref name="pid"/> as the keyframe has it, made empty
    /// (its memory and threads are then restored). The first process exists from the start.
    /// </summary>
    public ProcessState RestoreProcess(int pid, int parentPid, int processGroup, int session)
    {
        var process = FindProcess(pid);
        if (process is null)
        {
            process = new ProcessState(pid, parentPid, NewAddressSpace(), new Files.FileTable(), Cwd);
            _processes.Add(process);
        }
        process.ParentPid = parentPid;
        process.ProcessGroup = processGroup;
        process.Session = session;
        _lastPid = Math.Max(_lastPid, pid);
        return process;
    }

    /// <summary>Replay from a keyframe: <paramref name="process"/> runs first; its current thread's registers go into the engine.</summary>
    public void AttachProcess(ProcessState process)
    {
        if (process != _current)
        {
            _current.Memory.Detach();
            _current = process;
            process.Memory.Attach();
        }
        RegisterFile.Restore(Cpu, process.CurrentThread.Context!);
        process.CurrentThread.Context = null;
    }

    /// <summary>Puts <paramref name="next"/>'s process into the engine and resumes <paramref name="next"/> (see <see cref="SwitchTo"/>).</summary>
    void SwitchProcess(GuestThread next, long? result)
    {
        var previous = _current;
        RemoveTimeStampHooks();
        DropCode(previous.Memory);
        previous.Memory.Detach();
        if (previous.IsGone)
            previous.Release();
        _current = next.Process;
        _current.Memory.Attach();
        DropCode(_current.Memory);
        foreach (var (address, withProcessorId) in _current.TimeStampReads)
            AddTimeStampHook(address, withProcessorId);
        Resume(next, result);
    }

    /// <summary>
    /// The key a futex word is known by: in private memory its host address (each process has its own);
    /// in shared memory the object it is a view of and its offset there, so that it is the same futex in
    /// every process that maps that memory, at whatever address (bit 62 keeps the two kinds apart).
    /// </summary>
    public unsafe ulong FutexKey(ulong address)
    {
        if (Memory.Find(address) is not { } mapping)
            return address;
        if (mapping.SharedObject == 0)
            return (ulong)(mapping.Host + (address - mapping.Start));
        var offset = mapping.SharedOffset + (address - mapping.Start);
        return 1UL << 62 | (mapping.SharedObject * 0x9E37_79B9_7F4A_7C15UL ^ offset) & ((1UL << 62) - 1);
    }
}

/// <summary>wait statuses (sys/wait.h) and the SIGCHLD si_code that goes with each.</summary>
public static class WaitStatuses
{
    public const int ChildExited = 1, ChildKilled = 2, ChildDumped = 3; // CLD_*

    public static int Exited(int code) => (code & 0xff) << 8;

    public static int Signaled(Signal signal, bool core) => (int)signal | (core ? 0x80 : 0);

    /// <summary>The si_code and si_status that describe <paramref name="waitStatus"/> in a SIGCHLD or waitid.</summary>
    public static (int Code, int Status) Describe(int waitStatus) => (waitStatus & 0x7f) == 0
        ? (ChildExited, waitStatus >> 8 & 0xff)
        : ((waitStatus & 0x80) != 0 ? ChildDumped : ChildKilled, waitStatus & 0x7f);
}
