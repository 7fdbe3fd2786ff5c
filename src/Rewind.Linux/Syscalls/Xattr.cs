using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>sys/xattr.h: extended attributes, read and written on the host file.</summary>
internal static unsafe partial class Xattr
{
    [Syscall(SyscallNumber.getxattr)]
    static long Get(GuestProcess p, in SyscallArgs a) => GetPath(p, SyscallNumber.getxattr, a);

    [Syscall(SyscallNumber.lgetxattr)]
    static long GetLink(GuestProcess p, in SyscallArgs a) => GetPath(p, SyscallNumber.lgetxattr, a);

    static long GetPath(GuestProcess p, SyscallNumber call, in SyscallArgs a)
    {
        var (value, size) = (a.A2, a.A3);
        var name = p.Memory.ReadString(a.A1, 256);
        if (name is null)
            return -Errno.EFAULT;
        var result = p.ResolvePath(GuestProcess.AtFdCwd, a.A0, PathIntent.Lookup, out var target, out _);
        if (result < 0)
            return result;
        var nameBytes = HostSyscall.PathBytes(name);
        return GuestBuffer.Into(p, value, size, (buffer, length) => Unistd.AtPath(target, path =>
        {
            fixed (byte* hostName = nameBytes)
                return HostSyscall.Invoke(call, path, (long)hostName, (long)buffer, (long)length);
        }, absolute: true));
    }

    [Syscall(SyscallNumber.fgetxattr)]
    static long GetDescriptor(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        var name = p.Memory.ReadString(a.A1, 256);
        if (host < 0 || name is null)
            return host < 0 ? host : -Errno.EFAULT;
        var nameBytes = HostSyscall.PathBytes(name);
        return GuestBuffer.Into(p, a.A2, a.A3, (buffer, length) =>
        {
            fixed (byte* hostName = nameBytes)
                return HostSyscall.Invoke(SyscallNumber.fgetxattr, host, (long)hostName, (long)buffer, (long)length);
        });
    }

    [Syscall(SyscallNumber.listxattr)]
    static long List(GuestProcess p, in SyscallArgs a) => ListPath(p, SyscallNumber.listxattr, a);

    [Syscall(SyscallNumber.llistxattr)]
    static long ListLink(GuestProcess p, in SyscallArgs a) => ListPath(p, SyscallNumber.llistxattr, a);

    static long ListPath(GuestProcess p, SyscallNumber call, in SyscallArgs a)
    {
        var (list, size) = (a.A1, a.A2);
        var result = p.ResolvePath(GuestProcess.AtFdCwd, a.A0, PathIntent.Lookup, out var target, out _);
        if (result < 0)
            return result;
        return GuestBuffer.Into(p, list, size, (buffer, length) =>
            Unistd.AtPath(target, path => HostSyscall.Invoke(call, path, (long)buffer, (long)length), absolute: true));
    }

    [Syscall(SyscallNumber.flistxattr)]
    static long ListDescriptor(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : GuestBuffer.Into(p, a.A1, a.A2, (buffer, length) => HostSyscall.Invoke(SyscallNumber.flistxattr, host, (long)buffer, (long)length));
    }
}
