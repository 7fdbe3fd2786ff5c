using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>sys/mman.h memfd_create, sys/eventfd.h and sys/file.h flock: host objects behind guest descriptors.</summary>
internal static unsafe partial class Memfd
{
    const int CloseOnExec = 0x80000; // MFD_CLOEXEC, EFD_CLOEXEC and O_CLOEXEC share the bit

    [Syscall(SyscallNumber.memfd_create)]
    static long CreateMemoryFile(GuestProcess p, in SyscallArgs a)
    {
        var name = p.Memory.ReadString(a.A0, 250);
        if (name is null)
            return -Errno.EFAULT;
        var flags = a.Int(1);
        long fd;
        fixed (byte* bytes = HostSyscall.PathBytes(name))
            fd = HostSyscall.Invoke(SyscallNumber.memfd_create, (long)bytes, flags | 1 /* MFD_CLOEXEC on the host side */);
        // No guest path: /proc/PID/fd and maps name it as the host does, "/memfd:NAME (deleted)".
        return fd < 0 ? fd : p.Files.Add((int)fd, null, (flags & 1) != 0);
    }

    [Syscall(SyscallNumber.eventfd)]
    static long CreateEventFileWithoutFlags(GuestProcess p, in SyscallArgs a) => CreateEventFile(p, a.Int(0), 0);

    [Syscall(SyscallNumber.eventfd2)]
    static long CreateEventFile(GuestProcess p, in SyscallArgs a) => CreateEventFile(p, a.Int(0), a.Int(1));

    static long CreateEventFile(GuestProcess p, int initialValue, int flags)
    {
        var fd = HostSyscall.Invoke(SyscallNumber.eventfd2, initialValue, flags | CloseOnExec);
        return fd < 0 ? fd : p.Files.Add((int)fd, null, (flags & CloseOnExec) != 0);
    }

    [Syscall(SyscallNumber.flock)]
    static long Lock(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : HostSyscall.Invoke(SyscallNumber.flock, host, a.Int(1));
    }
}
