using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Host;

internal static class HostIdentity
{
    public static uint Uid => (uint)HostSyscall.Invoke(SyscallNumber.getuid);
    public static uint Gid => (uint)HostSyscall.Invoke(SyscallNumber.getgid);
}
