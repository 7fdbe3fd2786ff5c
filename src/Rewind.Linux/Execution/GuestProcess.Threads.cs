using Rewind.Engine;

namespace Rewind.Linux.Execution;

/// <summary>
/// The threads of a process: one engine, one address space, one running thread at a time. A
/// switch saves the running thread's registers and loads the next one's at a block start (the
/// block is then left before it runs), so that it happens at an exact instruction count. Live
/// runs decide switches with the <see cref="Execution.Scheduler"/>; replay takes them from the trace.
/// </summary>
public sealed partial class GuestProcess
{
    readonly List<GuestThread> _threads = [];
    int _lastTid;

    /// <summary>Threads that have not ended, in creation order.</summary>
    public IReadOnlyList<GuestThread> Threads => _threads;

    /// <summary>The thread whose registers are in the engine.</summary>
    public GuestThread CurrentThread { get; private set; } = null!;

    /// <summary>The running thread's id (gettid).</summary>
    public int Tid => CurrentThread.Tid;

    /// <summary>Decides switches in a live run (unused in replay).</summary>
    public Scheduler Scheduler { get; }

    /// <summary>The unique id the next new thread gets.</summary>
    public long NextUniqueThreadId { get; private set; } = 1;

    public GuestThread? FindThread(int tid) => _threads.Find(t => t.Tid == tid);

    public GuestThread? FindThread(long uniqueId) => _threads.Find(t => t.UniqueId == uniqueId);

    /// <summary>
    /// A tid for a new thread: the next one after the last given, skipping those in use, as Linux
    /// hands out pids (the sequence starts at the pid, so it is the same in every run of a trace).
    /// </summary>
    public int AllocateTid()
    {
        do
            _lastTid++;
        while (FindThread(_lastTid) is not null);
        return _lastTid;
    }

    /// <summary>Adds a thread whose registers are <paramref name="context"/>; it runs once switched to.</summary>
    public GuestThread AddThread(int tid, long uniqueId, byte[] context, ulong signalMask)
    {
        var thread = new GuestThread(tid, uniqueId) { Context = context, SignalMask = signalMask };
        _threads.Add(thread);
        NextUniqueThreadId = Math.Max(NextUniqueThreadId, uniqueId + 1);
        _lastTid = Math.Max(_lastTid, tid);
        _kernel.ThreadCreated(this, thread);
        return thread;
    }

    /// <summary>execve: every other thread ends at once, and the caller goes on as the only one.</summary>
    void EndOtherThreads() => _threads.RemoveAll(thread => thread != CurrentThread);

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
            _threads.Remove(previous);
        else
            previous.Context = RegisterFile.Capture(Cpu, pc);
        // A syscall to run again: the thread resumes at the syscall instruction (the block at pc follows it).
        if (previous.RestartAt is { } syscall && pc == syscall + 2 && previous.Context is { } context)
            RegisterFile.Set(context, X86Register.Rip, syscall);
        previous.RestartAt = null;
        previous.SignalMask = Signals.BlockedMask;
        RegisterFile.Restore(Cpu, next.Context ?? throw new InvalidOperationException($"{next} has no saved registers"));
        next.Context = null;
        next.ResumeResult = null;
        if (result is { } value)
            Cpu.Write(X86Register.Rax, (ulong)value);
        Signals.BlockedMask = next.SignalMask;
        CurrentThread = next;
    }

    /// <summary>
    /// Sets the threads a keyframe recorded: <paramref name="threads"/> with their saved registers
    /// (the current one's are in the engine already).
    /// </summary>
    public void RestoreThreads(IEnumerable<(int Tid, long UniqueId, byte[] Context, ulong SignalMask)> threads, long current)
    {
        _threads.Clear();
        foreach (var (tid, uniqueId, context, signalMask) in threads)
        {
            var thread = new GuestThread(tid, uniqueId) { Context = uniqueId == current ? null : context, SignalMask = signalMask };
            _threads.Add(thread);
            NextUniqueThreadId = Math.Max(NextUniqueThreadId, uniqueId + 1);
            _lastTid = Math.Max(_lastTid, tid);
        }
        CurrentThread = FindThread(current) ?? throw new InvalidDataException($"the current thread #{current} is not among the threads");
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
