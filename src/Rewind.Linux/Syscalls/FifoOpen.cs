using System.Runtime.CompilerServices;
using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// Opening a FIFO waits, as fifo(7) says, until the other end is open too: a reader for a writer, a writer for a
/// reader. The other end is often another thread or process of the same run, which cannot run while the engine's
/// thread waits in the host's open; so the host's blocking open runs on a thread of its own while the opening thread
/// lets the others run, trying its open again at each turn until the host's has returned.
/// </summary>
internal static unsafe class FifoOpen
{
    const int OAccessMode = 3, ONonBlock = 0x800, OCloexec = 0x80000;

    sealed record Pending(int DirectoryFd, string Path, int Flags, Task<long> Open);

    static readonly ConditionalWeakTable<GuestThread, Pending> Waiting = [];

    /// <summary>
    /// Whether opening <paramref name="target"/> with <paramref name="flags"/> is opening a FIFO that may wait (read-only
    /// or write-only, blocking): then <paramref name="result"/> is the host descriptor, a negative errno, or -ERESTARTSYS
    /// while the other end is not open and another thread can run.
    /// </summary>
    public static bool TryOpen(GuestProcess p, HostPath target, int flags, int mode, out long result)
    {
        result = 0;
        var thread = p.CurrentThread;
        if (Waiting.TryGetValue(thread, out var pending))
        {
            if (pending.DirectoryFd != target.DirectoryFd || pending.Path != target.Path || pending.Flags != flags)
            {
                // A signal handler opened something else meanwhile: the earlier open goes on without this one.
                Waiting.Remove(thread);
                Abandon(pending.Open);
                return TryOpen(p, target, flags, mode, out result);
            }
        }
        else
        {
            if ((flags & ONonBlock) != 0 || (flags & OAccessMode) == 2 || !IsFifo(target))
                return false;
            var (directory, path) = (target.DirectoryFd, HostSyscall.PathBytes(target.Path));
            pending = new Pending(target.DirectoryFd, target.Path, flags, Task.Factory.StartNew(() =>
            {
                fixed (byte* bytes = path)
                    return HostSyscall.Invoke(SyscallNumber.openat, directory, (long)bytes, flags | OCloexec, mode);
            }, TaskCreationOptions.LongRunning));
            Waiting.Add(thread, pending);
        }
        if (!pending.Open.IsCompleted && p.Scheduler.AnotherCanRun)
        {
            p.Scheduler.Yield();
            result = -Errno.ERESTARTSYS;
            return true;
        }
        // No other thread of the run can open the other end: wait for the host's, as the open would natively.
        Waiting.Remove(thread);
        result = pending.Open.GetAwaiter().GetResult();
        return true;
    }

    static bool IsFifo(HostPath target)
    {
        var stat = stackalloc byte[144];
        fixed (byte* bytes = HostSyscall.PathBytes(target.Path))
        {
            if (HostSyscall.Invoke(SyscallNumber.newfstatat, target.DirectoryFd, (long)bytes, (long)stat, 0) < 0)
                return false;
        }
        return (*(int*)(stat + 24) & 0xf000) == HostSyscall.Fifo;
    }

    /// <summary>Closes what an abandoned open opens, once it does.</summary>
    static void Abandon(Task<long> open) => open.ContinueWith(done =>
    {
        if (done.Result >= 0)
            HostSyscall.Invoke(SyscallNumber.close, done.Result);
    }, TaskScheduler.Default);
}
