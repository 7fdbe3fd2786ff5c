namespace Rewind.Linux.Execution;

/// <summary>
/// One thread of a guest process. All threads of the run share one engine and run one at a time:
/// the running thread's registers live in the engine, every other thread's in <see cref="Context"/>
/// (a <see cref="Engine.RegisterFile"/> image) until it is switched in again.
/// </summary>
public sealed class GuestThread(int tid, long uniqueId, ProcessState process)
{
    /// <summary>The process the thread belongs to.</summary>
    public ProcessState Process { get; } = process;

    /// <summary>The guest's thread id; the main thread's is the pid. Reused after a thread ends, as Linux does.</summary>
    public int Tid { get; } = tid;

    /// <summary>1, 2, 3... in creation order over the whole trace, never reused.</summary>
    public long UniqueId { get; } = uniqueId;

    /// <summary>The saved registers while the thread is not running; null while it runs.</summary>
    public byte[]? Context { get; set; }

    /// <summary>Where the kernel writes 0 and wakes a futex when the thread ends (CLONE_CHILD_CLEARTID, set_tid_address).</summary>
    public ulong ClearChildTid { get; set; }

    /// <summary>Head of the thread's robust futex list (set_robust_list).</summary>
    public ulong RobustList { get; set; }

    /// <summary>
    /// The thread's blocked-signal mask, kept while another thread runs: the process's
    /// <see cref="SignalState.BlockedMask"/> always holds the running thread's.
    /// </summary>
    public ulong SignalMask { get; set; }

    /// <summary>Signals sent to this thread alone (tgkill), taken before the process's; see <see cref="SignalState.ThreadPending"/>.</summary>
    public PendingSignals PendingSignals { get; } = new();

    /// <summary>What the syscall the thread is blocked in returns when it runs again (set when it is woken or times out).</summary>
    public long? ResumeResult { get; set; }

    /// <summary>
    /// The address of the syscall instruction the thread is to run again when it is switched in
    /// (its handler returned -ERESTARTSYS rather than block); null otherwise.
    /// </summary>
    public ulong? RestartAt { get; set; }

    /// <summary>The futex the thread waits on, while it waits.</summary>
    public FutexWait? Waiting { get; set; }

    public bool Exited { get; set; }

    public bool IsRunnable => !Exited && Waiting is null;

    public override string ToString() => $"thread {Tid} (#{UniqueId})";
}

/// <summary>
/// A thread blocked in FUTEX_WAIT: the word's key (see <see cref="GuestProcess.FutexKey"/>), the bitset it
/// waits for, and the instruction count after which it times out (long.MaxValue: never). A thread that
/// <paramref name="Retries"/> its syscall when woken (wait4 for a child) runs it again rather than return a result.
/// </summary>
public sealed record FutexWait(ulong Address, uint Bitset, long Deadline, bool Retries = false);
