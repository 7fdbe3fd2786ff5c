using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>poll.h and sys/select.h: waiting for descriptors, with guest numbers mapped to host ones.</summary>
internal static unsafe partial class Poll
{
    const int PollFdSize = 8, FdSetBits = 1024;

    [Syscall(SyscallNumber.poll)]
    static long PollDescriptors(GuestProcess p, in SyscallArgs a)
    {
        var timeoutMs = a.Int(2);
        var timeout = stackalloc long[2];
        timeout[0] = timeoutMs / 1000;
        timeout[1] = timeoutMs % 1000 * 1_000_000L;
        return PollCore(p, a.A0, a.A1, timeoutMs < 0 ? null : timeout, 0);
    }

    [Syscall(SyscallNumber.ppoll)]
    static long PollWithMask(GuestProcess p, in SyscallArgs a)
    {
        var timeout = stackalloc long[2];
        if (a.A2 != 0 && !p.Memory.Read(a.A2, new Span<byte>(timeout, 16)))
            return -Errno.EFAULT;
        return PollCore(p, a.A0, a.A1, a.A2 == 0 ? null : timeout, a.A2);
    }

    static long PollCore(GuestProcess p, ulong address, ulong count, long* timeout, ulong timeoutAddress)
    {
        if (count > (ulong)p.Files.Limit)
            return -Errno.EINVAL;
        var entries = new byte[(int)count * PollFdSize];
        if (!p.Memory.Read(address, entries))
            return -Errno.EFAULT;
        var guestFds = new int[count];
        fixed (byte* pollfds = entries)
        {
            for (var i = 0; i < (int)count; i++)
            {
                var fd = (int*)(pollfds + i * PollFdSize);
                guestFds[i] = *fd;
                // A negative fd is ignored by the kernel; an unknown one reports POLLNVAL.
                *fd = *fd < 0 ? -1 : p.Files.HostFd(*fd) is var host && host >= 0 ? host : int.MaxValue;
            }
            // A wait that would block while another thread could run only looks (zero timeout); when
            // nothing is ready, the other thread runs and this one polls again when its turn comes.
            var zero = stackalloc long[2];
            var yields = (timeout is null || timeout[0] != 0 || timeout[1] != 0) && p.Scheduler.AnotherCanRun;
            var result = HostSyscall.Invoke(SyscallNumber.ppoll, (long)pollfds, (long)count, (long)(yields ? zero : timeout), 0, 8);
            if (yields && result == 0)
            {
                p.Scheduler.Yield();
                return -Errno.ERESTARTSYS;
            }
            // Unknown guest descriptors became a host number that is never open: the host reports POLLNVAL.
            for (var i = 0; i < (int)count; i++)
                *(int*)(pollfds + i * PollFdSize) = guestFds[i];
            if (result < 0)
                return result;
            if (timeoutAddress != 0)
                p.Memory.Write(timeoutAddress, new ReadOnlySpan<byte>(timeout, 16));
            return p.Memory.Write(address, entries) ? result : -Errno.EFAULT;
        }
    }

    [Syscall(SyscallNumber.select)]
    static long Select(GuestProcess p, in SyscallArgs a)
    {
        // struct timeval -> timespec for pselect6
        var timeout = stackalloc long[2];
        if (a.A4 != 0)
        {
            if (!p.Memory.Read(a.A4, new Span<byte>(timeout, 16)))
                return -Errno.EFAULT;
            timeout[1] *= 1000;
        }
        var result = SelectCore(p, a.Int(0), a.A1, a.A2, a.A3, a.A4 == 0 ? null : timeout);
        if (result >= 0 && a.A4 != 0)
        {
            timeout[1] /= 1000;
            p.Memory.Write(a.A4, new ReadOnlySpan<byte>(timeout, 16));
        }
        return result;
    }

    [Syscall(SyscallNumber.pselect6)]
    static long SelectWithMask(GuestProcess p, in SyscallArgs a)
    {
        var timeout = stackalloc long[2];
        if (a.A4 != 0 && !p.Memory.Read(a.A4, new Span<byte>(timeout, 16)))
            return -Errno.EFAULT;
        var result = SelectCore(p, a.Int(0), a.A1, a.A2, a.A3, a.A4 == 0 ? null : timeout);
        if (result >= 0 && a.A4 != 0)
            p.Memory.Write(a.A4, new ReadOnlySpan<byte>(timeout, 16));
        return result;
    }

    /// <summary>select on guest fd_sets: translated into a poll of the host descriptors, and back.</summary>
    static long SelectCore(GuestProcess p, int count, ulong readAddress, ulong writeAddress, ulong exceptAddress, long* timeout)
    {
        if (count < 0 || count > FdSetBits)
            return -Errno.EINVAL;
        var sets = new[] { readAddress, writeAddress, exceptAddress };
        var bits = new ulong[3][];
        for (var s = 0; s < 3; s++)
        {
            bits[s] = new ulong[FdSetBits / 64];
            if (sets[s] != 0 && !p.Memory.Read(sets[s], System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits[s].AsSpan(0, (count + 63) / 64))))
                return -Errno.EFAULT;
        }
        var wanted = new List<(int Fd, short Events)>();
        for (var fd = 0; fd < count; fd++)
        {
            short events = 0;
            if ((bits[0][fd / 64] >> (fd % 64) & 1) != 0) events |= 0x1;  // POLLIN
            if ((bits[1][fd / 64] >> (fd % 64) & 1) != 0) events |= 0x4;  // POLLOUT
            if ((bits[2][fd / 64] >> (fd % 64) & 1) != 0) events |= 0x2;  // POLLPRI
            if (events == 0)
                continue;
            if (p.Files.HostFd(fd) < 0)
                return -Errno.EBADF;
            wanted.Add((fd, events));
        }
        var pollfds = stackalloc byte[Math.Max(1, wanted.Count) * PollFdSize];
        for (var i = 0; i < wanted.Count; i++)
        {
            *(int*)(pollfds + i * PollFdSize) = p.Files.HostFd(wanted[i].Fd);
            *(short*)(pollfds + i * PollFdSize + 4) = wanted[i].Events;
            *(short*)(pollfds + i * PollFdSize + 6) = 0;
        }
        var result = HostSyscall.Invoke(SyscallNumber.ppoll, (long)pollfds, wanted.Count, (long)timeout, 0, 8);
        if (result < 0)
            return result;
        foreach (var set in bits)
            Array.Clear(set);
        var ready = 0;
        for (var i = 0; i < wanted.Count; i++)
        {
            var revents = *(short*)(pollfds + i * PollFdSize + 6);
            var fd = wanted[i].Fd;
            var mask = 1UL << (fd % 64);
            if ((revents & 0x19) != 0 && (wanted[i].Events & 0x1) != 0) { bits[0][fd / 64] |= mask; ready++; } // POLLIN|POLLERR|POLLHUP
            if ((revents & 0x0c) != 0 && (wanted[i].Events & 0x4) != 0) { bits[1][fd / 64] |= mask; ready++; } // POLLOUT|POLLERR
            if ((revents & 0x2) != 0 && (wanted[i].Events & 0x2) != 0) { bits[2][fd / 64] |= mask; ready++; }
        }
        for (var s = 0; s < 3; s++)
        {
            if (sets[s] != 0 && !p.Memory.Write(sets[s], System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits[s].AsSpan(0, (count + 63) / 64))))
                return -Errno.EFAULT;
        }
        return ready;
    }
}
