using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>dirent.h: directory listings.</summary>
internal static unsafe partial class Dirent
{
    [Syscall(SyscallNumber.getdents64)]
    static long GetEntries(GuestProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.Int(0))?.Proc is { } open)
            return ProcFiles.GetEntries(p, open, a.A1, a.A2);
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : GuestBuffer.Into(p, a.A1, a.A2, (buffer, length) => HostSyscall.Invoke(SyscallNumber.getdents64, host, (long)buffer, (long)length));
    }
}
