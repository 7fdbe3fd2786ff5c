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

    // ---- changing ----

    [Syscall(SyscallNumber.setxattr)]
    static long Set(GuestProcess p, in SyscallArgs a) => SetPath(p, SyscallNumber.setxattr, a);

    [Syscall(SyscallNumber.lsetxattr)]
    static long SetLink(GuestProcess p, in SyscallArgs a) => SetPath(p, SyscallNumber.lsetxattr, a);

    /// <summary>setxattr and lsetxattr: name, value and flags (XATTR_CREATE, XATTR_REPLACE) go to the host file as given.</summary>
    static long SetPath(GuestProcess p, SyscallNumber call, in SyscallArgs a)
    {
        var (value, size, flags) = (a.A2, a.A3, a.Int(4));
        if (ReadName(p, a.A1) is not { } name)
            return -Errno.EFAULT;
        var result = p.ResolvePath(GuestProcess.AtFdCwd, a.A0, PathIntent.Modify, out var target, out _);
        if (result < 0)
            return result;
        return GuestBuffer.From(p, value, size, (buffer, length) => Unistd.AtPath(target, path =>
        {
            fixed (byte* hostName = name)
                return HostSyscall.Invoke(call, path, (long)hostName, (long)buffer, (long)length, flags);
        }, absolute: true));
    }

    [Syscall(SyscallNumber.fsetxattr)]
    static long SetDescriptor(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        var (value, size, flags) = (a.A2, a.A3, a.Int(4));
        if (host < 0)
            return host;
        if (ReadName(p, a.A1) is not { } name)
            return -Errno.EFAULT;
        return GuestBuffer.From(p, value, size, (buffer, length) =>
        {
            fixed (byte* hostName = name)
                return HostSyscall.Invoke(SyscallNumber.fsetxattr, host, (long)hostName, (long)buffer, (long)length, flags);
        });
    }

    [Syscall(SyscallNumber.removexattr)]
    static long Remove(GuestProcess p, in SyscallArgs a) => RemovePath(p, SyscallNumber.removexattr, a);

    [Syscall(SyscallNumber.lremovexattr)]
    static long RemoveLink(GuestProcess p, in SyscallArgs a) => RemovePath(p, SyscallNumber.lremovexattr, a);

    static long RemovePath(GuestProcess p, SyscallNumber call, in SyscallArgs a)
    {
        if (ReadName(p, a.A1) is not { } name)
            return -Errno.EFAULT;
        var result = p.ResolvePath(GuestProcess.AtFdCwd, a.A0, PathIntent.Modify, out var target, out _);
        if (result < 0)
            return result;
        return Unistd.AtPath(target, path =>
        {
            fixed (byte* hostName = name)
                return HostSyscall.Invoke(call, path, (long)hostName);
        }, absolute: true);
    }

    [Syscall(SyscallNumber.fremovexattr)]
    static long RemoveDescriptor(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        if (host < 0)
            return host;
        if (ReadName(p, a.A1) is not { } name)
            return -Errno.EFAULT;
        fixed (byte* hostName = name)
            return HostSyscall.Invoke(SyscallNumber.fremovexattr, host, (long)hostName);
    }

    /// <summary>An attribute name (at most XATTR_NAME_MAX, 255 bytes, as the kernel reads it) as a C string for the host.</summary>
    static byte[]? ReadName(GuestProcess p, ulong address) => p.Memory.ReadString(address, 256) is { } name ? HostSyscall.PathBytes(name) : null;
}
