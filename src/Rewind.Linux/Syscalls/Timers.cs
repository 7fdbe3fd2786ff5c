using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// sys/time.h interval timers and alarm: ITIMER_REAL runs on host time (see RealTimer); a recorder
/// logs the results and where each SIGALRM arrived.
/// </summary>
internal static partial class Timers
{
    const int RealTimer = 0;

    [Syscall(SyscallNumber.alarm)]
    static long Alarm(GuestProcess p, in SyscallArgs a)
    {
        var (remaining, _) = p.RealTimer.Set(TimeSpan.FromSeconds((uint)a.A0), TimeSpan.Zero);
        // Whole seconds, rounded to the nearest, and at least 1 while the old alarm was pending.
        return remaining == TimeSpan.Zero ? 0 : Math.Max(1, (long)Math.Round(remaining.TotalSeconds, MidpointRounding.AwayFromZero));
    }

    [Syscall(SyscallNumber.setitimer)]
    static long SetTimer(GuestProcess p, in SyscallArgs a)
    {
        if (a.Int(0) != RealTimer)
            return -Errno.EINVAL; // ITIMER_VIRTUAL and ITIMER_PROF count CPU time, which Rewind does not keep
        var value = TimeSpan.Zero;
        var interval = TimeSpan.Zero;
        if (a.A1 != 0 && !(TryReadTimeval(p, a.A1, out interval) && TryReadTimeval(p, a.A1 + 16, out value)))
            return -Errno.EFAULT;
        if (interval < TimeSpan.Zero || value < TimeSpan.Zero)
            return -Errno.EINVAL;
        var old = p.RealTimer.Set(value, interval);
        return a.A2 == 0 || WriteItimerval(p, a.A2, old) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.getitimer)]
    static long GetTimer(GuestProcess p, in SyscallArgs a)
    {
        if (a.Int(0) != RealTimer)
            return -Errno.EINVAL;
        return WriteItimerval(p, a.A1, p.RealTimer.Get()) ? 0 : -Errno.EFAULT;
    }

    /// <summary>Reads a struct timeval; a negative or out-of-range one reads as a negative span.</summary>
    static bool TryReadTimeval(GuestProcess p, ulong address, out TimeSpan value)
    {
        value = default;
        if (!p.Memory.TryRead(address, out long seconds) || !p.Memory.TryRead(address + 8, out long microseconds))
            return false;
        value = seconds < 0 || microseconds is < 0 or >= 1_000_000 ? TimeSpan.MinValue
            : TimeSpan.FromSeconds(Math.Min(seconds, 1L << 31)) + TimeSpan.FromMicroseconds(microseconds);
        return true;
    }

    /// <summary>Writes a struct itimerval: it_interval, then it_value, each seconds and microseconds.</summary>
    static bool WriteItimerval(GuestProcess p, ulong address, (TimeSpan Remaining, TimeSpan Interval) timer)
    {
        Span<long> fields = [(long)timer.Interval.TotalSeconds, timer.Interval.Ticks % TimeSpan.TicksPerSecond / 10,
            (long)timer.Remaining.TotalSeconds, timer.Remaining.Ticks % TimeSpan.TicksPerSecond / 10];
        return p.Memory.Write(address, System.Runtime.InteropServices.MemoryMarshal.AsBytes(fields));
    }
}
