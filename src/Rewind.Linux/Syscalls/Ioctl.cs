using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>sys/ioctl.h: the terminal and descriptor requests programs make; anything else is ENOTTY.</summary>
internal static unsafe partial class Ioctl
{
    const uint TcGets = 0x5401, TcSets = 0x5402, TcSetsW = 0x5403, TcSetsF = 0x5404, TiocGPgrp = 0x540f, TiocSPgrp = 0x5410,
        TiocGWinSz = 0x5413, TiocSWinSz = 0x5414, FionRead = 0x541b, FionBio = 0x5421, FioNClex = 0x5450, FioClex = 0x5451;
    const int TermiosSize = 36, WinsizeSize = 8;

    [Syscall(SyscallNumber.ioctl)]
    static long Control(GuestProcess p, in SyscallArgs a)
    {
        var descriptor = p.Files.Get(a.Int(0));
        if (descriptor is null)
            return -Errno.EBADF;
        var host = descriptor.HostFd;
        var request = (uint)a.A1;
        var argument = a.A2;
        switch (request)
        {
            case TcGets:
                return GuestBuffer.Struct(p, argument, TermiosSize, (b, _) => HostSyscall.Invoke(SyscallNumber.ioctl, host, request, (long)b));
            case TiocGWinSz:
                return GuestBuffer.Struct(p, argument, WinsizeSize, (b, _) => HostSyscall.Invoke(SyscallNumber.ioctl, host, request, (long)b));
            case TiocGPgrp or FionRead:
                return GuestBuffer.Struct(p, argument, 4, (b, _) => HostSyscall.Invoke(SyscallNumber.ioctl, host, request, (long)b));
            case TcSets or TcSetsW or TcSetsF:
                return GuestBuffer.From(p, argument, TermiosSize, (b, _) => HostSyscall.Invoke(SyscallNumber.ioctl, host, request, (long)b));
            case TiocSWinSz:
                return GuestBuffer.From(p, argument, WinsizeSize, (b, _) => HostSyscall.Invoke(SyscallNumber.ioctl, host, request, (long)b));
            case TiocSPgrp or FionBio:
                return GuestBuffer.From(p, argument, 4, (b, _) => HostSyscall.Invoke(SyscallNumber.ioctl, host, request, (long)b));
            case FioClex or FioNClex:
                descriptor.CloseOnExec = request == FioClex;
                return 0;
            default:
                return -Errno.ENOTTY;
        }
    }
}
