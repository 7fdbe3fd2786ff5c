using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>time.h and sys/time.h: clocks and sleeping, read from the host (a recorder logs the results).</summary>
internal static unsafe partial class Time
{
    [Syscall(SyscallNumber.clock_gettime)]
    static long ClockGetTime(GuestProcess p, in SyscallArgs a)
    {
        var clock = a.Int(0);
        return GuestBuffer.Struct(p, a.A1, 16, (buffer, _) => HostSyscall.Invoke(SyscallNumber.clock_gettime, clock, (long)buffer));
    }

    [Syscall(SyscallNumber.clock_getres)]
    static long ClockGetResolution(GuestProcess p, in SyscallArgs a)
    {
        var clock = a.Int(0);
        if (a.A1 == 0)
            return HostSyscall.Invoke(SyscallNumber.clock_getres, clock, 0);
        return GuestBuffer.Struct(p, a.A1, 16, (buffer, _) => HostSyscall.Invoke(SyscallNumber.clock_getres, clock, (long)buffer));
    }

    [Syscall(SyscallNumber.gettimeofday)]
    static long GetTimeOfDay(GuestProcess p, in SyscallArgs a)
    {
        if (a.A1 != 0 && !p.Memory.Write(a.A1, new byte[8]))
            return -Errno.EFAULT; // struct timezone: UTC, no DST
        return a.A0 == 0 ? 0 : GuestBuffer.Struct(p, a.A0, 16, (buffer, _) => HostSyscall.Invoke(SyscallNumber.gettimeofday, (long)buffer, 0));
    }

    [Syscall(SyscallNumber.time)]
    static long GetTime(GuestProcess p, in SyscallArgs a)
    {
        var now = HostSyscall.Invoke(SyscallNumber.time, 0);
        return a.A0 == 0 || p.Memory.TryWrite(a.A0, now) ? now : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.nanosleep)]
    static long Sleep(GuestProcess p, in SyscallArgs a) => ClockSleep(p, 1 /* CLOCK_MONOTONIC */, 0, a.A0, a.A1);

    [Syscall(SyscallNumber.clock_nanosleep)]
    static long ClockSleep(GuestProcess p, in SyscallArgs a) => ClockSleep(p, a.Int(0), a.Int(1), a.A2, a.A3);

    static long ClockSleep(GuestProcess p, int clock, int flags, ulong request, ulong remaining)
    {
        var time = stackalloc long[2];
        if (!p.Memory.Read(request, new Span<byte>(time, 16)))
            return -Errno.EFAULT;
        if (time[0] < 0 || time[1] is < 0 or >= 1_000_000_000)
            return -Errno.EINVAL;
        var result = HostSyscall.Invoke(SyscallNumber.clock_nanosleep, clock, flags, (long)time, 0);
        if (result == 0 && remaining != 0 && (flags & 1) == 0)
            p.Memory.Write(remaining, new byte[16]);
        return result;
    }
}
