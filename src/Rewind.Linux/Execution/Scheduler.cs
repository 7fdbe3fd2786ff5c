using Rewind.Linux.Host;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Execution;

/// <summary>
/// Decides which thread of a live run runs, deterministically: threads of every process take turns in creation
/// order; the running one keeps the CPU until it blocks (futex wait), yields, exits, or has run
/// <see cref="PreemptAfter"/> instructions while another thread could run. Switches happen at block
/// starts, at exact instruction counts, through the block counter's <see cref="InstructionCounter.NextSwitch"/>,
/// so no per-instruction work is needed. A timed wait that nobody wakes times out once its deadline
/// (its timeout read as instructions at a nominal 1 GHz) has passed, or at once when every other
/// thread is blocked. Replay does not use this class: it follows the switches the trace recorded.
/// </summary>
public sealed class Scheduler(GuestProcess process, long preemptAfter)
{
    readonly List<GuestThread> _waiters = [];
    long _sliceEnd = long.MaxValue;
    GuestThread? _next;

    /// <summary>Instructions a thread runs before another runnable thread gets the CPU.</summary>
    public long PreemptAfter { get; } = preemptAfter;

    /// <summary>A new thread can run: from now on the running one is preempted when its time is up.</summary>
    public void Added()
    {
        if (_sliceEnd == long.MaxValue)
            _sliceEnd = process.Instructions + PreemptAfter;
        Rearm();
    }

    /// <summary>
    /// Blocks the running thread on the futex at <paramref name="address"/>. Returns the syscall's
    /// result when it does not block after all (no other thread can run and its own timeout is the
    /// earliest, or no thread can ever run again), null when another thread runs next.
    /// </summary>
    public long? Wait(ulong address, uint bitset, long deadline) => WaitOn(new FutexWait(process.FutexKey(address), bitset, deadline));

    /// <summary>
    /// wait4 found no child to report: the running thread waits until a child of its process ends (or a
    /// signal comes, or <paramref name="deadline"/> passes), then runs the syscall again. False when no other
    /// thread can run (it would wait forever).
    /// </summary>
    public bool WaitForChild(long deadline)
    {
        if (!AnotherCanRun)
            return false;
        WaitOn(new FutexWait(ChildKey(process.Pid), uint.MaxValue, deadline, Retries: true));
        return true;
    }

    /// <summary>A child of <paramref name="parent"/> ended: its threads waiting in wait4 look again.</summary>
    public void ChildEnded(ProcessState parent) => WakeKey(ChildKey(parent.Pid), int.MaxValue, uint.MaxValue);

    /// <summary>
    /// A signal came for <paramref name="target"/> (for its thread <paramref name="thread"/> alone, when given), which
    /// does not run: its waiting threads (or that one) wake to take it (EINTR).
    /// </summary>
    public void Interrupt(ProcessState target, GuestThread? thread = null)
    {
        foreach (var waiter in _waiters.Where(w => w.Process == target && (thread is null || w == thread)).ToList())
            Resume(waiter, -Errno.EINTR);
        Rearm();
    }

    /// <summary>Keys of child waits: outside any address a futex word can have.</summary>
    static ulong ChildKey(int pid) => 1UL << 63 | (uint)pid;

    long? WaitOn(FutexWait wait)
    {
        var current = process.CurrentThread;
        current.Waiting = wait;
        _waiters.Add(current);
        switch (PickNext())
        {
            case null:
                Deadlocked();
                return 0;
            case var next when next == current:
                var result = current.ResumeResult!.Value;
                current.ResumeResult = null;
                return result;
            case var next:
                SwitchAtNextBlock(next);
                return null;
        }
    }

    /// <summary>Ends a program whose threads all wait for something only another of them could do.</summary>
    public void Deadlocked()
    {
        process.Warn("every thread waits for something that only another of them could do (a futex, a child): the program is deadlocked");
        // Ended after the syscall that found it, as a signal arriving then would end it: replay ends there too.
        process.RequestTermination(Signal.SIGKILL);
    }

    /// <summary>Wakes up to <paramref name="count"/> threads waiting on <paramref name="address"/> for a bit of <paramref name="bitset"/>.</summary>
    public int Wake(ulong address, int count, uint bitset = uint.MaxValue) => WakeKey(process.FutexKey(address), count, bitset);

    int WakeKey(ulong key, int count, uint bitset)
    {
        var woken = 0;
        for (var i = 0; i < _waiters.Count && woken < count;)
        {
            var wait = _waiters[i].Waiting!;
            if (wait.Address == key && (wait.Bitset & bitset) != 0)
            {
                Resume(_waiters[i], 0);
                woken++;
                continue;
            }
            i++;
        }
        Rearm();
        return woken;
    }

    /// <summary>Wakes up to <paramref name="wake"/> waiters of <paramref name="from"/> and moves up to <paramref name="move"/> more to <paramref name="to"/>.</summary>
    public (int Woken, int Moved) Requeue(ulong from, int wake, ulong to, int move)
    {
        (from, to) = (process.FutexKey(from), process.FutexKey(to));
        var woken = WakeKey(from, wake, uint.MaxValue);
        var moved = 0;
        foreach (var waiter in _waiters)
        {
            if (moved == move)
                break;
            if (waiter.Waiting!.Address == from)
            {
                waiter.Waiting = waiter.Waiting with { Address = to };
                moved++;
            }
        }
        return (woken, moved);
    }

    /// <summary>Whether a thread other than the running one, of any process, could run now.</summary>
    public bool AnotherCanRun => process.AllThreads.Any(t => t != process.CurrentThread && t.IsRunnable);

    /// <summary>
    /// Whether a syscall about to wait for the host descriptor <paramref name="hostFd"/> to become
    /// readable (or, <paramref name="writing"/>, writable) should let another thread run instead:
    /// it would block the whole process while another thread could run (and perhaps make it ready).
    /// Then another thread runs next, and the handler returns -ERESTARTSYS so that this thread
    /// tries again when its turn comes. Descriptors in non-blocking mode never block.
    /// </summary>
    public unsafe bool YieldsInsteadOfWaiting(int hostFd, bool writing)
    {
        const int GetFlags = 3, NonBlocking = 0x800, PollIn = 1, PollOut = 4;
        if (!AnotherCanRun || (HostSyscall.Invoke(SyscallNumber.fcntl, hostFd, GetFlags) & NonBlocking) != 0)
            return false;
        var entry = stackalloc int[2];
        entry[0] = hostFd;
        entry[1] = writing ? PollOut : PollIn; // events; revents (the upper half) starts at 0
        if (HostSyscall.Invoke(SyscallNumber.poll, (long)entry, 1, 0) != 0)
            return false; // ready, or an error the syscall itself will report
        Yield();
        return true;
    }

    /// <summary>sched_yield: another runnable thread, if any, runs next.</summary>
    public void Yield()
    {
        if (PickNext() is { } next && next != process.CurrentThread)
            SwitchAtNextBlock(next);
    }

    /// <summary>
    /// The running thread has ended (its exit syscall): another thread runs next. Returns false when
    /// none can ever run again (all blocked without a timeout).
    /// </summary>
    public bool Exited()
    {
        if (PickNext() is not { } next)
            return false;
        SwitchAtNextBlock(next);
        return true;
    }

    /// <summary>
    /// Called at a block start once <see cref="InstructionCounter.NextSwitch"/> is reached: the thread
    /// to switch to, with the result its blocked syscall returns (null: the running thread goes on).
    /// </summary>
    public GuestThread? Due()
    {
        var current = process.CurrentThread;
        var next = _next;
        _next = null;
        if (next is null && process.Instructions >= _sliceEnd)
            next = PickNext();
        if (next is not null)
            _sliceEnd = process.Instructions + PreemptAfter;
        if (next is null || next == current)
        {
            Rearm();
            return null;
        }
        return next;
    }

    /// <summary>After a switch: the next one is due when the new thread's time is up.</summary>
    public void Switched() => Rearm();

    void SwitchAtNextBlock(GuestThread next)
    {
        _next = next;
        process.Counter.NextSwitch = process.Instructions;
    }

    void Resume(GuestThread thread, long result)
    {
        // A retried syscall keeps its number in RAX: it runs again rather than return.
        thread.ResumeResult = thread.Waiting!.Retries ? null : result;
        thread.Waiting = null;
        _waiters.Remove(thread);
    }

    /// <summary>
    /// The next runnable thread after the running one in creation order (the running one last),
    /// after timing out waits whose deadline has passed. When none can run, the wait with the
    /// earliest deadline times out; null when every thread waits forever.
    /// </summary>
    GuestThread? PickNext()
    {
        var now = process.Instructions;
        foreach (var waiter in _waiters.Where(w => w.Waiting!.Deadline <= now).ToList())
            Resume(waiter, -Errno.ETIMEDOUT);
        var threads = process.AllThreads.ToList();
        var start = threads.IndexOf(process.CurrentThread);
        for (var i = 1; i <= threads.Count; i++)
        {
            var candidate = threads[(start + i) % threads.Count];
            if (candidate.IsRunnable)
                return candidate;
        }
        var earliest = _waiters.Where(w => w.Waiting!.Deadline != long.MaxValue).MinBy(w => w.Waiting!.Deadline);
        if (earliest is null)
            return null;
        Resume(earliest, -Errno.ETIMEDOUT);
        return earliest;
    }

    /// <summary>Sets when the counter calls back next: at the end of the slice if another thread could then run, or at the earliest deadline.</summary>
    void Rearm()
    {
        if (_next is not null)
            return;
        var others = process.AllThreads.Count(t => !t.Exited) > 1;
        var deadline = _waiters.Count == 0 ? long.MaxValue : _waiters.Min(w => w.Waiting!.Deadline);
        process.Counter.NextSwitch = others ? Math.Min(_sliceEnd, deadline) : long.MaxValue;
    }
}
