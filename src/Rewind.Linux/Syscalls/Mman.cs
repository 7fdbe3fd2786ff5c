using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Linux.Host;
using Rewind.Linux.Memory;

namespace Rewind.Linux.Syscalls;

/// <summary>sys/mman.h: the address space. These change the emulated machine itself.</summary>
internal static unsafe partial class Mman
{
    const int MapShared = 0x01, MapPrivate = 0x02, MapSharedValidate = 0x03, MapTypeMask = 0x0f, MapFixed = 0x10,
        MapAnonymous = 0x20, MapFixedNoReplace = 0x100000;
    const int MremapMayMove = 1, MremapFixed = 2;
    const int MadvDontNeed = 4;

    [Syscall(SyscallNumber.mmap)]
    static long Map(GuestProcess p, in SyscallArgs a)
    {
        var (address, length, protection, flags, fd, offset) = (a.A0, a.A1, a.Int(2), a.Int(3), a.Int(4), a.A5);
        if (length == 0 || (offset & (AddressSpace.PageSize - 1)) != 0 || (protection & ~7) != 0)
            return -Errno.EINVAL;
        var type = flags & MapTypeMask;
        if (type is not (MapShared or MapPrivate or MapSharedValidate))
            return -Errno.EINVAL;

        var hostFd = -1;
        string? path = null;
        var mayWrite = true;
        if ((flags & MapAnonymous) == 0)
        {
            var descriptor = p.Files.Get(fd);
            if (descriptor is null)
                return -Errno.EBADF;
            hostFd = descriptor.HostFd;
            path = descriptor.Path ?? ProcPath(descriptor.HostFd);
            // The file must be open for reading, and for writing too when a shared mapping may write.
            var access = HostSyscall.Invoke(SyscallNumber.fcntl, hostFd, 3 /* F_GETFL */) & 3;
            mayWrite = type == MapPrivate || access == 2 /* O_RDWR */;
            if (access == 1 /* O_WRONLY */ || !mayWrite && (protection & 2) != 0)
                return -Errno.EACCES;
        }
        return p.Memory.Map(address, length, (Protection)protection, fixedAddress: (flags & MapFixed) != 0, shared: type != MapPrivate,
            hostFd, offset, path, noReplace: (flags & MapFixedNoReplace) != 0, mayWrite: mayWrite);
    }

    static string? ProcPath(int hostFd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{hostFd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Syscall(SyscallNumber.munmap)]
    static long Unmap(GuestProcess p, in SyscallArgs a) => p.Memory.Unmap(a.A0, a.A1);

    [Syscall(SyscallNumber.mprotect)]
    static long Protect(GuestProcess p, in SyscallArgs a) =>
        (a.Int(2) & ~7) != 0 ? -Errno.EINVAL : p.Memory.Protect(a.A0, a.A1, (Protection)(a.Int(2) & 7));

    [Syscall(SyscallNumber.mremap)]
    static long Remap(GuestProcess p, in SyscallArgs a)
    {
        var flags = a.Int(3);
        if ((flags & ~(MremapMayMove | MremapFixed)) != 0 || (flags & MremapFixed) != 0 && (flags & MremapMayMove) == 0)
            return -Errno.EINVAL;
        return p.Memory.Remap(a.A0, a.A1, a.A2, (flags & MremapMayMove) != 0, a.A4, (flags & MremapFixed) != 0);
    }

    [Syscall(SyscallNumber.brk)]
    static long Break(GuestProcess p, in SyscallArgs a) => (long)p.Memory.SetBrk(a.A0);

    [Syscall(SyscallNumber.madvise)]
    static long Advise(GuestProcess p, in SyscallArgs a)
    {
        var (address, length, advice) = (a.A0, a.A1, a.Int(2));
        if ((address & (AddressSpace.PageSize - 1)) != 0)
            return -Errno.EINVAL;
        if (advice == MadvDontNeed)
            return p.Memory.Discard(address, length);
        // Other advice is a hint; MADV_FREE keeps contents, which is one of its allowed outcomes.
        return p.Memory.IsAccessible(address, AddressSpace.PageUp(length), Protection.None) ? 0 : -Errno.ENOMEM;
    }

    [Syscall(SyscallNumber.msync)]
    static long Synchronize(GuestProcess p, in SyscallArgs a)
    {
        var mapping = p.Memory.Find(a.A0);
        if (mapping is null)
            return -Errno.ENOMEM;
        return mapping.Shared ? HostSyscall.Invoke(SyscallNumber.msync, (long)(mapping.Host + (a.A0 - mapping.Start)), (long)Math.Min(a.A1, mapping.End - a.A0), a.Int(2)) : 0;
    }

    [Syscall(SyscallNumber.mlock)]
    [Syscall(SyscallNumber.munlock)]
    [Syscall(SyscallNumber.mlockall)]
    [Syscall(SyscallNumber.munlockall)]
    static long Lock(GuestProcess p, in SyscallArgs a) => 0; // every guest page is resident as far as the guest can tell
}
