using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Host;

/// <summary>The host's clocks, for what the kernel reports about processes in /proc.</summary>
internal static unsafe class HostClock
{
    const int BootTime = 7; // CLOCK_BOOTTIME

    /// <summary>USER_HZ: the unit of the times in /proc/PID/stat.</summary>
    public const int TicksPerSecond = 100;

    /// <summary>Clock ticks since the host booted, sleep included (the clock /proc/PID/stat's start time counts in).</summary>
    public static ulong TicksSinceBoot()
    {
        var time = stackalloc long[2];
        HostSyscall.Invoke(SyscallNumber.clock_gettime, BootTime, (long)time);
        return (ulong)(time[0] * TicksPerSecond + time[1] / (1_000_000_000 / TicksPerSecond));
    }
}
