using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>sys/sendfile.h and copy_file_range: copies between host descriptors, offsets read from and written back to the guest.</summary>
internal static unsafe partial class Sendfile
{
    [Syscall(SyscallNumber.sendfile)]
    static long SendFile(GuestProcess p, in SyscallArgs a)
    {
        var (output, input) = (p.HostFd(a.Int(0)), p.HostFd(a.Int(1)));
        if (output < 0 || input < 0)
            return -Errno.EBADF;
        long offset = 0;
        if (a.A2 != 0 && !p.Memory.TryRead(a.A2, out offset))
            return -Errno.EFAULT;
        var result = HostSyscall.Invoke(SyscallNumber.sendfile, output, input, a.A2 == 0 ? 0 : (long)&offset, a.Long(3));
        if (result >= 0 && a.A2 != 0)
            p.Memory.TryWrite(a.A2, offset);
        return result;
    }

    [Syscall(SyscallNumber.copy_file_range)]
    static long CopyFileRange(GuestProcess p, in SyscallArgs a)
    {
        var (input, output) = (p.HostFd(a.Int(0)), p.HostFd(a.Int(2)));
        if (output < 0 || input < 0)
            return -Errno.EBADF;
        long inOffset = 0, outOffset = 0;
        if (a.A1 != 0 && !p.Memory.TryRead(a.A1, out inOffset) || a.A3 != 0 && !p.Memory.TryRead(a.A3, out outOffset))
            return -Errno.EFAULT;
        var result = HostSyscall.Invoke(SyscallNumber.copy_file_range, input, a.A1 == 0 ? 0 : (long)&inOffset, output, a.A3 == 0 ? 0 : (long)&outOffset, a.Long(4), a.Int(5));
        if (result >= 0)
        {
            if (a.A1 != 0)
                p.Memory.TryWrite(a.A1, inOffset);
            if (a.A3 != 0)
                p.Memory.TryWrite(a.A3, outOffset);
        }
        return result;
    }
}
