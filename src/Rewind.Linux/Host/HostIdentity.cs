using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Host;

internal static unsafe class HostIdentity
{
    /// <summary>Rewind's own supplementary groups, which the program would have inherited natively.</summary>
    public static uint[] Groups()
    {
        var count = HostSyscall.Invoke(SyscallNumber.getgroups, 0, 0);
        var groups = new uint[Math.Max(count, 0)];
        fixed (uint* list = groups)
            count = groups.Length == 0 ? 0 : HostSyscall.Invoke(SyscallNumber.getgroups, groups.Length, (long)list);
        return count == groups.Length ? groups : [];
    }

    public static uint Uid => (uint)HostSyscall.Invoke(SyscallNumber.getuid);
    public static uint Gid => (uint)HostSyscall.Invoke(SyscallNumber.getgid);
}
