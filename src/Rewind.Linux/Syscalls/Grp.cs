using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>grp.h: supplementary groups, kept per process (a fork inherits them, an exec keeps them).</summary>
internal static partial class Grp
{
    /// <summary>NGROUPS_MAX.</summary>
    const int MaxGroups = 65536;

    [Syscall(SyscallNumber.getgroups)]
    static long GetGroups(GuestProcess p, in SyscallArgs a)
    {
        var groups = p.CurrentProcess.Groups;
        var size = a.Int(0);
        if (size == 0)
            return groups.Length;
        if (size < groups.Length)
            return -Errno.EINVAL;
        for (var i = 0; i < groups.Length; i++)
        {
            if (!p.Memory.TryWrite(a.A1 + (ulong)i * 4, groups[i]))
                return -Errno.EFAULT;
        }
        return groups.Length;
    }

    [Syscall(SyscallNumber.setgroups)]
    static long SetGroups(GuestProcess p, in SyscallArgs a)
    {
        var size = a.Int(0);
        if (size is < 0 or > MaxGroups)
            return -Errno.EINVAL;
        if (p.Nondeterminism.User.Uid != 0)
            return -Errno.EPERM; // CAP_SETGID
        var groups = new uint[size];
        for (var i = 0; i < size; i++)
        {
            if (!p.Memory.TryRead(a.A1 + (ulong)i * 4, out groups[i]))
                return -Errno.EFAULT;
        }
        p.CurrentProcess.Groups = groups;
        return 0;
    }
}
