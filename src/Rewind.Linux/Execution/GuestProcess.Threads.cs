using Rewind.Engine;

namespace Rewind.Linux.Execution;

/// <summary>
/// The threads of the run's processes: one engine, one running thread at a time. A switch saves
/// the running thread's registers and loads the next one's at a block start (the block is then
/// left before it runs), so that it happens at an exact instruction count; a switch to a thread
/// of another process also swaps the address space (GuestProcess.Processes.cs). Live runs decide
/// switches with the <see cref="Execution.Scheduler"/>; replay takes them from the trace.
/// </summary>
public sealed partial class GuestProcess
{
    /// <summary>Threads of the running process that have not ended, in creation order.</summary>
    public IReadOnlyList<GuestThread> Threads => _current.Threads;

    /// <summary>The thread whose registers are in the engine.</summary>
    public GuestThread CurrentThread => _current.CurrentThread;

    /// <summary>Every thread of every live process, in creation order.</summary>
    public IEnumerable<GuestThread> AllThreads => _processes.Where(p => !p.IsGone).SelectMany(p => p.Threads).OrderBy(t => t.UniqueId);

    /// <summary>The running thread's id (gettid).</summary>
    public int Tid => CurrentThread.Tid;

    /// <summary>Decides switches in a live run (unused in replay).</summary>
    public Scheduler Scheduler { get; }

    /// <summary>The unique id the next new thread gets.</summary>
    public long NextUniqueThreadId { get; private set; } = 1;

    /// <summary>A thread of the running process.</summary>
    public GuestThread? FindThread(int tid) => _current.Threads.Find(t => t.Tid == tid);

    /// <summary>A thread of any live process.</summary>
    public GuestThread? FindThread(long uniqueId) => AllThreads.FirstOrDefault(t => t.UniqueId == uniqueId);

    /// <summary>
    /// A tid (or pid: they share one space) for a new thread or process: the next one after the last
    /// given, skipping those in use, as Linux hands out pids (the sequence starts at the first pid, so
    /// it is the same in every run of a trace).
    /// </summary>
    public int AllocateTid()
    {
        do
            _lastPid++;
        while (_processes.Any(p => p.Pid == _lastPid || p.Threads.Any(t => t.Tid == _lastPid)));
        return _lastPid;
    }

    /// <summary>Adds a thread to the running process whose registers are <paramref name="context"/>; it runs once switched to.</summary>
    public GuestThread AddThread(int tid, long uniqueId, byte[] context, ulong signalMask)
    {
        var thread = new GuestThread(tid, uniqueId, _current) { Context = context, SignalMask = signalMask };
        _current.Threads.Add(thread);
        NextUniqueThreadId = Math.Max(NextUniqueThreadId, uniqueId + 1);
        _lastPid = Math.Max(_lastPid, tid);
        _kernel.ThreadCreated(this, thread);
        return thread;
    }

    /// <summary>execve: every other thread ends at once, and the caller goes on as the only one.</summary>
    void EndOtherThreads() => _current.Threads.RemoveAll(thread => thread != CurrentThread);

    /// <summary>The running thread has ended (exit): it leaves the thread list at the next switch.</summary>
    public void EndCurrentThread()
    {
        CurrentThread.Exited = true;
        _kernel.ThreadExited(this, CurrentThread);
    }

    /// <summary>
    /// Makes <paramref name="next"/> the running thread, from a block hook about to run the block at
    /// <paramref name="pc"/>: the running thread's registers are saved (unless it has ended) and
    /// <paramref name="next"/>'s loaded; <paramref name="result"/>, when given, is what the syscall it
    /// was blocked in returns. Loading RIP makes the engine leave the block before it runs.
    /// </summary>
    public void SwitchTo(GuestThread next, ulong pc, long? result)
    {
        var previous = CurrentThread;
        if (previous.Exited)
            _current.Threads.Remove(previous);
        else
            previous.Context = RegisterFile.Capture(Cpu, pc);
        // A syscall to run again: the thread resumes at the syscall instruction (the block at pc follows it).
        if (previous.RestartAt is { } syscall && pc == syscall + 2 && previous.Context is { } context)
            RegisterFile.Set(context, X86Register.Rip, syscall);
        previous.RestartAt = null;
        previous.SignalMask = Signals.BlockedMask;
        if (next.Process != _current)
        {
            // The other address space goes into the engine between two runs of it (see SwitchProcess).
            _pendingSwitch = (next, result);
            Cpu.Write(X86Register.Rip, pc);
            Cpu.Stop();
            return;
        }
        Resume(next, result);
    }

    /// <summary>Loads <paramref name="next"/>'s registers into the engine and makes it the running thread of its process.</summary>
    void Resume(GuestThread next, long? result)
    {
        RegisterFile.Restore(Cpu, next.Context ?? throw new InvalidOperationException($"{next} has no saved registers"));
        next.Context = null;
        next.ResumeResult = null;
        if (result is { } value)
            Cpu.Write(X86Register.Rax, (ulong)value);
        Signals.BlockedMask = next.SignalMask;
        _current.CurrentThread = next;
    }

    /// <summary>
    /// Sets the threads of <paramref name="process"/> that a keyframe recorded: <paramref name="threads"/> with their saved
    /// registers, but for the one that runs when the process runs (<paramref name="current"/>), whose registers the caller sets.
    /// </summary>
    public void RestoreThreads(ProcessState process, IEnumerable<(int Tid, long UniqueId, byte[] Context, ulong SignalMask)> threads, long current)
    {
        process.Threads.Clear();
        foreach (var (tid, uniqueId, context, signalMask) in threads)
        {
            process.Threads.Add(new GuestThread(tid, uniqueId, process) { Context = uniqueId == current ? null : context, SignalMask = signalMask });
            NextUniqueThreadId = Math.Max(NextUniqueThreadId, uniqueId + 1);
            _lastPid = Math.Max(_lastPid, tid);
        }
        process.CurrentThread = process.Threads.Find(t => t.UniqueId == current)
            ?? throw new InvalidDataException($"the current thread #{current} is not among the threads of {process}");
    }

    bool OnSwitchDue(ulong pc)
    {
        try
        {
            return _kernel.SwitchDue(this, pc);
        }
        catch (Exception e)
        {
            Fail(e);
            return false;
        }
    }
}
