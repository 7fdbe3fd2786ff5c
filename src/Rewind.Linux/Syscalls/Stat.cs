using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>sys/stat.h, statx and statfs: file metadata, forwarded with host buffers (guest and host share layouts).</summary>
internal static unsafe partial class Stat
{
    const int StatSize = 144, StatxSize = 256, StatfsSize = 120;
    const int AtSymlinkNoFollow = 0x100, AtEmptyPath = 0x1000;

    [Syscall(SyscallNumber.stat)]
    static long StatPath(GuestProcess p, in SyscallArgs a) => StatAt(p, GuestProcess.AtFdCwd, a.A0, a.A1, 0);

    [Syscall(SyscallNumber.lstat)]
    static long StatLink(GuestProcess p, in SyscallArgs a) => StatAt(p, GuestProcess.AtFdCwd, a.A0, a.A1, AtSymlinkNoFollow);

    [Syscall(SyscallNumber.newfstatat)]
    static long StatAt(GuestProcess p, in SyscallArgs a) => StatAt(p, a.Int(0), a.A1, a.A2, a.Int(3));

    [Syscall(SyscallNumber.fstat)]
    static long StatDescriptor(GuestProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.Int(0))?.Proc is { } open)
            return ProcFiles.StatView(p, open.Entry, a.A1, extended: false);
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : GuestBuffer.Struct(p, a.A1, StatSize, (buffer, _) => HostSyscall.Invoke(SyscallNumber.fstat, host, (long)buffer));
    }

    static long StatAt(GuestProcess p, int dirFd, ulong pathAddress, ulong buffer, int flags)
    {
        var path = p.Memory.ReadString(pathAddress);
        if (path is null)
            return -Errno.EFAULT;
        if (path.Length == 0 && (flags & AtEmptyPath) != 0)
        {
            if (p.Files.Get(dirFd)?.Proc is { } open)
                return ProcFiles.StatView(p, open.Entry, buffer, extended: false);
            var host = dirFd == GuestProcess.AtFdCwd ? p.CwdFd : p.HostFd(dirFd);
            return host < 0 ? host : GuestBuffer.Struct(p, buffer, StatSize, (b, _) => HostSyscall.Invoke(SyscallNumber.fstat, host, (long)b));
        }
        if (ProcFiles.Find(p, dirFd, path) is { } entry)
            return ProcFiles.Stat(p, entry, follow: (flags & AtSymlinkNoFollow) == 0, buffer, extended: false, mask: 0);
        var result = p.ResolvePath(dirFd, path, PathIntent.Lookup, out var target, out _);
        if (result < 0)
            return result;
        return GuestBuffer.Struct(p, buffer, StatSize, (b, _) =>
            Unistd.AtPath(target, hostPath => HostSyscall.Invoke(SyscallNumber.newfstatat, target.DirectoryFd, hostPath, (long)b, flags)));
    }

    [Syscall(SyscallNumber.statx)]
    static long StatExtended(GuestProcess p, in SyscallArgs a)
    {
        var dirFd = a.Int(0);
        var flags = a.Int(2);
        var mask = a.Int(3);
        var buffer = a.A4;
        var path = p.Memory.ReadString(a.A1);
        if (path is null)
            return -Errno.EFAULT;
        if (path.Length == 0 && (flags & AtEmptyPath) != 0)
        {
            if (p.Files.Get(dirFd)?.Proc is { } open)
                return ProcFiles.StatView(p, open.Entry, buffer, extended: true);
            var host = dirFd == GuestProcess.AtFdCwd ? p.CwdFd : p.HostFd(dirFd);
            return host < 0 ? host : StatxHost(p, host, "", flags, mask, buffer);
        }
        if (ProcFiles.Find(p, dirFd, path) is { } entry)
            return ProcFiles.Stat(p, entry, follow: (flags & AtSymlinkNoFollow) == 0, buffer, extended: true, mask);
        var result = p.ResolvePath(dirFd, path, PathIntent.Lookup, out var target, out _);
        return result < 0 ? result : StatxHost(p, target.DirectoryFd, target.Path, flags, mask, buffer);
    }

    static long StatxHost(GuestProcess p, int hostDirFd, string path, int flags, int mask, ulong buffer)
    {
        var bytes = HostSyscall.PathBytes(path);
        return GuestBuffer.Struct(p, buffer, StatxSize, (b, _) =>
        {
            fixed (byte* hostPath = bytes)
                return HostSyscall.Invoke(SyscallNumber.statx, hostDirFd, (long)hostPath, flags, mask, (long)b);
        });
    }

    [Syscall(SyscallNumber.statfs)]
    static long FileSystemStatus(GuestProcess p, in SyscallArgs a)
    {
        var buffer = a.A1;
        var result = p.ResolvePath(GuestProcess.AtFdCwd, a.A0, PathIntent.Lookup, out var target, out _);
        return result < 0 ? result : GuestBuffer.Struct(p, buffer, StatfsSize, (b, _) =>
            Unistd.AtPath(target, hostPath => HostSyscall.Invoke(SyscallNumber.statfs, hostPath, (long)b), absolute: true));
    }

    [Syscall(SyscallNumber.fstatfs)]
    static long FileSystemStatusDescriptor(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : GuestBuffer.Struct(p, a.A1, StatfsSize, (b, _) => HostSyscall.Invoke(SyscallNumber.fstatfs, host, (long)b));
    }

    [Syscall(SyscallNumber.mknod)]
    static long MakeNode(GuestProcess p, in SyscallArgs a) => MakeNodeAt(p, GuestProcess.AtFdCwd, a.A0, a.Int(1), a.A2);

    [Syscall(SyscallNumber.mknodat)]
    static long MakeNodeAt(GuestProcess p, in SyscallArgs a) => MakeNodeAt(p, a.Int(0), a.A1, a.Int(2), a.A3);

    /// <summary>
    /// mknod and mkfifo: regular files, FIFOs and sockets for anyone; character and block devices only with privilege,
    /// and never in a sandbox.
    /// </summary>
    static long MakeNodeAt(GuestProcess p, int dirFd, ulong pathAddress, int mode, ulong device)
    {
        var type = mode & 0xf000;
        if (type == 0)
            mode |= HostSyscall.RegularFile;
        else if (type is HostSyscall.CharacterDevice or HostSyscall.BlockDevice)
        {
            if (p.Nondeterminism.User.Uid != 0 || p.FileSystem is not HostView)
                return -Errno.EPERM;
        }
        else if (type is not (HostSyscall.RegularFile or HostSyscall.Fifo or HostSyscall.SocketFile))
        {
            return type == HostSyscall.Directory ? -Errno.EPERM : -Errno.EINVAL;
        }
        var result = p.ResolvePath(dirFd, pathAddress, PathIntent.Create, out var target, out _);
        return result < 0 ? result : Unistd.AtPath(target, path => HostSyscall.Invoke(SyscallNumber.mknodat, target.DirectoryFd, path, mode, (long)device));
    }
}
