using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>sys/socket.h: sockets are host sockets; a sandbox refuses them.</summary>
internal static unsafe partial class Socket
{
    const int SockCloexec = 0x80000, MaxAddress = 128;

    [Syscall(SyscallNumber.socket)]
    static long Create(GuestProcess p, in SyscallArgs a)
    {
        if (!p.FileSystem.AllowsNetwork)
            return -Errno.EACCES;
        var fd = HostSyscall.Invoke(SyscallNumber.socket, a.Int(0), a.Int(1) | SockCloexec, a.Int(2));
        return fd < 0 ? fd : p.Files.Add((int)fd, null, (a.Int(1) & SockCloexec) != 0);
    }

    [Syscall(SyscallNumber.socketpair)]
    static long CreatePair(GuestProcess p, in SyscallArgs a)
    {
        if (!p.FileSystem.AllowsNetwork && a.Int(0) != 1 /* AF_UNIX pairs touch nothing outside */)
            return -Errno.EACCES;
        var fds = stackalloc int[2];
        var result = HostSyscall.Invoke(SyscallNumber.socketpair, a.Int(0), a.Int(1) | SockCloexec, a.Int(2), (long)fds);
        if (result < 0)
            return result;
        var closeOnExec = (a.Int(1) & SockCloexec) != 0;
        var first = p.Files.Add(fds[0], null, closeOnExec);
        var second = p.Files.Add(fds[1], null, closeOnExec);
        return p.Memory.TryWrite(a.A3, first) && p.Memory.TryWrite(a.A3 + 4, second) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.connect)]
    static long Connect(GuestProcess p, in SyscallArgs a) => WithAddress(p, a, SyscallNumber.connect);

    [Syscall(SyscallNumber.bind)]
    static long Bind(GuestProcess p, in SyscallArgs a) => WithAddress(p, a, SyscallNumber.bind);

    static long WithAddress(GuestProcess p, in SyscallArgs a, SyscallNumber call)
    {
        var host = p.HostFd(a.Int(0));
        var length = a.Int(2);
        if (host < 0)
            return host;
        if (length is < 0 or > MaxAddress)
            return -Errno.EINVAL;
        return GuestBuffer.From(p, a.A1, (ulong)length, (address, _) => HostSyscall.Invoke(call, host, (long)address, length));
    }

    [Syscall(SyscallNumber.listen)]
    static long Listen(GuestProcess p, in SyscallArgs a) => p.HostFd(a.Int(0)) is var host && host < 0 ? host : HostSyscall.Invoke(SyscallNumber.listen, host, a.Int(1));

    [Syscall(SyscallNumber.shutdown)]
    static long Shutdown(GuestProcess p, in SyscallArgs a) => p.HostFd(a.Int(0)) is var host && host < 0 ? host : HostSyscall.Invoke(SyscallNumber.shutdown, host, a.Int(1));

    [Syscall(SyscallNumber.getsockname)]
    static long GetName(GuestProcess p, in SyscallArgs a) => AddressOut(p, a.Int(0), a.A1, a.A2, SyscallNumber.getsockname, 0);

    [Syscall(SyscallNumber.getpeername)]
    static long GetPeerName(GuestProcess p, in SyscallArgs a) => AddressOut(p, a.Int(0), a.A1, a.A2, SyscallNumber.getpeername, 0);

    [Syscall(SyscallNumber.accept)]
    static long Accept(GuestProcess p, in SyscallArgs a) => AddressOut(p, a.Int(0), a.A1, a.A2, SyscallNumber.accept4, SockCloexec);

    [Syscall(SyscallNumber.accept4)]
    static long Accept4(GuestProcess p, in SyscallArgs a) => AddressOut(p, a.Int(0), a.A1, a.A2, SyscallNumber.accept4, a.Int(3) | SockCloexec);

    /// <summary>Calls that return a socket address through (address, length-in-out) pointers.</summary>
    static long AddressOut(GuestProcess p, int fd, ulong address, ulong lengthAddress, SyscallNumber call, int acceptFlags)
    {
        var host = p.HostFd(fd);
        if (host < 0)
            return host;
        if (call == SyscallNumber.accept4 && p.Scheduler.YieldsInsteadOfWaiting(host, writing: false))
            return -Errno.ERESTARTSYS;
        var buffer = stackalloc byte[MaxAddress];
        var length = MaxAddress;
        var guestLength = 0;
        if (address != 0 && !p.Memory.TryRead(lengthAddress, out guestLength))
            return -Errno.EFAULT;
        var result = call == SyscallNumber.accept4
            ? HostSyscall.Invoke(call, host, (long)buffer, (long)&length, acceptFlags)
            : HostSyscall.Invoke(call, host, (long)buffer, (long)&length);
        if (result < 0)
            return result;
        if (address != 0)
        {
            p.Memory.Write(address, new ReadOnlySpan<byte>(buffer, Math.Min(Math.Max(guestLength, 0), length)));
            p.Memory.TryWrite(lengthAddress, length);
        }
        return call == SyscallNumber.accept4 ? p.Files.Add((int)result, null, (acceptFlags & ~SockCloexec & SockCloexec) != 0) : result;
    }

    [Syscall(SyscallNumber.sendto)]
    static long SendTo(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        if (host < 0)
            return host;
        var (flags, addressLength) = (a.Int(3), a.Int(5));
        if (addressLength is < 0 or > MaxAddress)
            return -Errno.EINVAL;
        var address = stackalloc byte[MaxAddress];
        if (a.A4 != 0 && !p.Memory.Read(a.A4, new Span<byte>(address, addressLength)))
            return -Errno.EFAULT;
        var addressPointer = a.A4 == 0 ? 0 : (long)address;
        return GuestBuffer.From(p, a.A1, a.A2, (buffer, length) => HostSyscall.Invoke(SyscallNumber.sendto, host, (long)buffer, (long)length, flags, addressPointer, addressLength));
    }

    [Syscall(SyscallNumber.recvfrom)]
    static long ReceiveFrom(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        if (host < 0)
            return host;
        const int DontWait = 0x40; // MSG_DONTWAIT
        if ((a.Int(3) & DontWait) == 0 && p.Scheduler.YieldsInsteadOfWaiting(host, writing: false))
            return -Errno.ERESTARTSYS;
        var (flags, addressOut, lengthOut) = (a.Int(3), a.A4, a.A5);
        var address = stackalloc byte[MaxAddress];
        var addressLength = MaxAddress;
        var addressPointer = (long)address;
        var lengthPointer = (long)&addressLength;
        var result = GuestBuffer.Into(p, a.A1, a.A2, (buffer, length) =>
            HostSyscall.Invoke(SyscallNumber.recvfrom, host, (long)buffer, (long)length, flags, addressOut == 0 ? 0 : addressPointer, addressOut == 0 ? 0 : lengthPointer));
        if (result >= 0 && addressOut != 0 && p.Memory.TryRead(lengthOut, out int guestLength))
        {
            p.Memory.Write(addressOut, new ReadOnlySpan<byte>(address, Math.Min(Math.Max(guestLength, 0), addressLength)));
            p.Memory.TryWrite(lengthOut, addressLength);
        }
        return result;
    }

    [Syscall(SyscallNumber.setsockopt)]
    static long SetOption(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        var (level, name, length) = (a.Int(1), a.Int(2), a.Int(4));
        if (host < 0)
            return host;
        if (length is < 0 or > 1024)
            return -Errno.EINVAL;
        return GuestBuffer.From(p, a.A3, (ulong)length, (value, _) => HostSyscall.Invoke(SyscallNumber.setsockopt, host, level, name, (long)value, length));
    }

    [Syscall(SyscallNumber.getsockopt)]
    static long GetOption(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        var (level, name, valueAddress, lengthAddress) = (a.Int(1), a.Int(2), a.A3, a.A4);
        if (host < 0)
            return host;
        if (!p.Memory.TryRead(lengthAddress, out int length) || length < 0)
            return length < 0 ? -Errno.EINVAL : -Errno.EFAULT;
        length = Math.Min(length, 1024);
        var value = stackalloc byte[length];
        var result = HostSyscall.Invoke(SyscallNumber.getsockopt, host, level, name, (long)value, (long)&length);
        if (result < 0)
            return result;
        return p.Memory.Write(valueAddress, new ReadOnlySpan<byte>(value, length)) && p.Memory.TryWrite(lengthAddress, length) ? 0 : -Errno.EFAULT;
    }
}
