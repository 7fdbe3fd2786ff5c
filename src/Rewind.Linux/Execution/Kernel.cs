using Rewind.Linux.Signals;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Execution;

/// <summary>
/// Answers what the guest asks of the world outside its CPU: syscalls and the time stamp
/// counter. <see cref="LiveKernel"/> asks the host; a recorder wraps it and logs the answers;
/// replay reads them back from a trace. The engine and the address space are the same in all three.
/// </summary>
public abstract class Kernel
{
    /// <summary>Called before the program is loaded (live execution only).</summary>
    public virtual void Starting(GuestProcess process)
    {
    }

    /// <summary>Called once the program is loaded and about to run its first instruction.</summary>
    public virtual void Started(GuestProcess process)
    {
    }

    /// <summary>Handles one syscall and returns its result (negative errno on failure).</summary>
    public abstract long Syscall(GuestProcess process, long number, in SyscallArgs args);

    /// <summary>The value RDTSC or RDTSCP returns at instruction <paramref name="instruction"/>.</summary>
    public abstract ulong TimeStampCounter(GuestProcess process, long instruction);

    /// <summary>Called before the block at <paramref name="pc"/> runs, once a keyframe is due.</summary>
    public virtual void KeyframeDue(GuestProcess process, ulong pc) => process.Counter.NextKeyframe = long.MaxValue;

    // ---- signals ----

    /// <summary>
    /// A signal came from outside the running thread's instructions (a timer, a kill) for process <paramref name="targetPid"/>,
    /// or its thread <paramref name="targetThread"/> (a unique id; 0: the process): it becomes pending there.
    /// </summary>
    public virtual void SignalArrived(GuestProcess process, int targetPid, in SignalInfo info, long targetThread)
    {
        if (process.FindProcess(targetPid) is { } target)
            process.Raise(target, info, target.Threads.Find(t => t.UniqueId == targetThread));
    }

    /// <summary>Signals that arrived on host threads (timers) since the last call become pending.</summary>
    public virtual void CollectSignals(GuestProcess process)
    {
        foreach (var (pid, info) in process.TakeArrivals())
            SignalArrived(process, pid, info, targetThread: 0);
    }

    /// <summary>
    /// Waits inside a syscall (pause, sigsuspend) until a signal arrives or <paramref name="timeout"/> passes;
    /// true when one arrived. Replay waits for nothing: the trace says what arrived.
    /// </summary>
    public virtual bool WaitForSignal(GuestProcess process, TimeSpan timeout) => process.WaitForArrival(timeout);

    /// <summary>A signal was delivered to the program's handler, which was interrupted at <paramref name="pc"/>.</summary>
    public virtual void SignalHandled(GuestProcess process, in SignalInfo info, ulong pc)
    {
    }

    // ---- threads ----

    /// <summary>
    /// Called at a block start once <see cref="InstructionCounter.NextSwitch"/> is reached, with the block's
    /// address: returns true when another thread was switched in (the block is then left before it runs).
    /// Live runs ask the <see cref="Scheduler"/>.
    /// </summary>
    public virtual bool SwitchDue(GuestProcess process, ulong pc)
    {
        if (process.Scheduler.Due() is not { } next)
            return false;
        process.SwitchTo(next, pc, next.ResumeResult);
        process.Scheduler.Switched();
        return true;
    }

    /// <summary>Called when a thread has been created (clone), before it first runs.</summary>
    public virtual void ThreadCreated(GuestProcess process, GuestThread thread)
    {
    }

    /// <summary>Called when fork made <paramref name="child"/> (with the tid words of <see cref="GuestProcess.Fork"/>), before it first runs.</summary>
    public virtual void ProcessCreated(GuestProcess process, ProcessState child, ulong setTidAt, ulong clearTidAt)
    {
    }

    /// <summary>
    /// Called when the running process has ended (or left for the host) while the run goes on: a live run
    /// wakes its parent's threads that wait for a child and picks the next thread to run (replay takes it from the trace).
    /// </summary>
    public virtual void ProcessEnded(GuestProcess process, ProcessState ended)
    {
        if (process.FindProcess(ended.ParentPid) is { } parent)
            process.Scheduler.ChildEnded(parent);
        if (!process.Scheduler.Exited())
            process.Scheduler.Deadlocked();
    }

    /// <summary>Called when the running thread has ended (exit) while others go on.</summary>
    public virtual void ThreadExited(GuestProcess process, GuestThread thread)
    {
    }

    /// <summary>Called once when the program has ended, however it ended.</summary>
    public virtual void Ended(GuestProcess process, ExitStatus status)
    {
    }
}

/// <summary>Runs syscalls against the host through the handlers of <see cref="SyscallTable"/>.</summary>
public sealed class LiveKernel : Kernel
{
    readonly HashSet<long> _warned = [];

    /// <summary>Whether the last syscall had no handler (and so returned ENOSYS).</summary>
    public bool LastWasUnsupported { get; private set; }

    public override long Syscall(GuestProcess process, long number, in SyscallArgs args)
    {
        var handler = SyscallTable.Find(number);
        LastWasUnsupported = handler is null;
        if (handler is null)
        {
            if (_warned.Add(number))
                process.Warn($"unsupported syscall {SyscallNames.Name(number)} ({number}) returned ENOSYS");
            return -Errno.ENOSYS;
        }
        try
        {
            return handler(process, args);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A host-side failure the handler did not foresee: the guest sees an I/O error.
            process.Warn($"{SyscallNames.Name(number)}: {e.Message}; returned {(e is IOException ? "EIO" : "EACCES")}");
            return e is IOException ? -Errno.EIO : -Errno.EACCES;
        }
    }

    public override ulong TimeStampCounter(GuestProcess process, long instruction) => process.Nondeterminism.TimeStampCounter();
}
