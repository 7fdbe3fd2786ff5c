using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>fcntl.h: opening files and descriptor flags.</summary>
internal static unsafe partial class Fcntl
{
    const int OAccessMode = 3, ODirectory = 0x10000, OCreat = 0x40, OExcl = 0x80, OTrunc = 0x200, OAppend = 0x400, OCloexec = 0x80000, OTmpFile = 0x410000;
    const int FDupfd = 0, FGetfd = 1, FSetfd = 2, FDupfdCloexec = 1030;

    [Syscall(SyscallNumber.open)]
    static long Open(GuestProcess p, in SyscallArgs a) => OpenAt(p, GuestProcess.AtFdCwd, a.A0, a.Int(1), a.Int(2));

    [Syscall(SyscallNumber.creat)]
    static long Creat(GuestProcess p, in SyscallArgs a) => OpenAt(p, GuestProcess.AtFdCwd, a.A0, OCreat | 1 | OTrunc, a.Int(1));

    [Syscall(SyscallNumber.openat)]
    static long OpenAt(GuestProcess p, in SyscallArgs a) => OpenAt(p, a.Int(0), a.A1, a.Int(2), a.Int(3));

    internal static long OpenAt(GuestProcess p, int dirFd, ulong pathAddress, int flags, int mode)
    {
        var path = p.Memory.ReadString(pathAddress);
        if (path is null)
            return -Errno.EFAULT;
        if (path.Length == 0)
            return -Errno.ENOENT;
        if (ProcFiles.Find(p, dirFd, path) is { } entry)
            return ProcFiles.Open(p, entry, flags, mode);

        var writes = (flags & OAccessMode) != 0 || (flags & (OCreat | OTrunc | OAppend)) != 0 || (flags & OTmpFile) == OTmpFile;
        var intent = writes ? PathIntent.Create : (flags & ODirectory) != 0 ? PathIntent.List : PathIntent.Lookup;
        var result = p.ResolvePath(dirFd, path, intent, out var target, out var absolute);
        if (result < 0)
            return result;
        long hostFd;
        if (!FifoOpen.TryOpen(p, target, flags, mode, out hostFd))
        {
            fixed (byte* bytes = HostSyscall.PathBytes(target.Path))
                hostFd = HostSyscall.Invoke(SyscallNumber.openat, target.DirectoryFd, (long)bytes, flags | OCloexec, mode);
        }
        if (hostFd < 0)
            return hostFd;
        return p.Files.Add((int)hostFd, absolute, (flags & OCloexec) != 0);
    }

    [Syscall(SyscallNumber.fcntl)]
    static long FileControl(GuestProcess p, in SyscallArgs a)
    {
        var fd = a.Int(0);
        var descriptor = p.Files.Get(fd);
        if (descriptor is null)
            return -Errno.EBADF;
        switch (a.Int(1))
        {
            case FDupfd:
            case FDupfdCloexec:
                var minimum = a.Int(2);
                if (minimum < 0 || minimum >= p.Files.Limit)
                    return -Errno.EINVAL;
                var copy = FileTable.Duplicate(descriptor, a.Int(1) == FDupfdCloexec, out var error);
                return copy is null ? error : p.Files.Add(copy, minimum);
            case FGetfd:
                return descriptor.CloseOnExec ? 1 : 0;
            case FSetfd:
                descriptor.CloseOnExec = (a.Int(2) & 1) != 0;
                return 0;
            case FGetlk or FSetlk or FSetlkw or FOfdGetlk or FOfdSetlk or FOfdSetlkw:
                // struct flock travels both ways.
                var flock = stackalloc byte[FlockSize];
                if (!p.Memory.Read(a.A2, new Span<byte>(flock, FlockSize)))
                    return -Errno.EFAULT;
                var locked = HostSyscall.Invoke(SyscallNumber.fcntl, descriptor.HostFd, a.Int(1), (long)flock);
                if (locked >= 0 && !p.Memory.Write(a.A2, new ReadOnlySpan<byte>(flock, FlockSize)))
                    return -Errno.EFAULT;
                return locked;
            case FGetfl or FSetfl or FGetown or FSetown or FSetpipeSz or FGetpipeSz or FAddSeals or FGetSeals or FSetLease or FGetLease or FNotify:
                // Plain-value commands act on the open file itself: the host's.
                return HostSyscall.Invoke(SyscallNumber.fcntl, descriptor.HostFd, a.Int(1), a.Long(2));
            default:
                return -Errno.EINVAL;
        }
    }

    const int FGetfl = 3, FSetfl = 4, FGetlk = 5, FSetlk = 6, FSetlkw = 7, FSetown = 8, FGetown = 9, FOfdGetlk = 36, FOfdSetlk = 37, FOfdSetlkw = 38,
        FSetLease = 1024, FGetLease = 1025, FNotify = 1026, FSetpipeSz = 1031, FGetpipeSz = 1032, FAddSeals = 1033, FGetSeals = 1034;
    const int FlockSize = 32;
}
