using Rewind.Linux.Host;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Execution;

/// <summary>
/// A process's resource limits (getrlimit, setrlimit, prlimit64, /proc/PID/limits): a soft and a hard value for
/// each resource, inherited by fork and kept across exec. The first process starts with Rewind's own, which it
/// would have inherited natively. RLIMIT_NOFILE bounds the guest's descriptor numbers.
/// </summary>
public sealed class ResourceLimits
{
    /// <summary>RLIM_NLIMITS: resources 0 to 15.</summary>
    public const int Count = 16;

    public const int Stack = 3, Core = 4, OpenFiles = 7;

    public const ulong Unlimited = ulong.MaxValue;

    /// <summary>fs.nr_open's default: no RLIMIT_NOFILE above it.</summary>
    const ulong MaxOpenFiles = 1 << 20;

    readonly (ulong Soft, ulong Hard)[] _limits = new (ulong, ulong)[Count];

    ResourceLimits()
    {
    }

    /// <summary>The limits Rewind itself runs with.</summary>
    public static unsafe ResourceLimits FromHost()
    {
        var limits = new ResourceLimits();
        var pair = stackalloc ulong[2];
        for (var resource = 0; resource < Count; resource++)
        {
            limits._limits[resource] = HostSyscall.Invoke(SyscallNumber.prlimit64, 0, resource, 0, (long)pair) == 0
                ? (pair[0], pair[1])
                : (Unlimited, Unlimited);
        }
        return limits;
    }

    public ResourceLimits Copy()
    {
        var copy = new ResourceLimits();
        _limits.CopyTo(copy._limits, 0);
        return copy;
    }

    public (ulong Soft, ulong Hard) this[int resource] => _limits[resource];

    /// <summary>
    /// setrlimit: 0, -EINVAL for a soft limit above the hard one, -EPERM for a raised hard limit without privilege
    /// (or RLIMIT_NOFILE above fs.nr_open), as Linux checks them.
    /// </summary>
    public long Set(int resource, ulong soft, ulong hard, bool privileged)
    {
        if (resource is < 0 or >= Count || soft > hard)
            return -Errno.EINVAL;
        if (hard > _limits[resource].Hard && !privileged || resource == OpenFiles && hard > MaxOpenFiles)
            return -Errno.EPERM;
        _limits[resource] = (soft, hard);
        return 0;
    }

    /// <summary>The highest descriptor number plus one that the process may use.</summary>
    public int OpenFilesLimit => (int)Math.Min(_limits[OpenFiles].Soft, MaxOpenFiles);

    /// <summary>The names, units and order of /proc/PID/limits.</summary>
    public static readonly (string Name, string Unit)[] Descriptions =
    [
        ("Max cpu time", "seconds"), ("Max file size", "bytes"), ("Max data size", "bytes"), ("Max stack size", "bytes"),
        ("Max core file size", "bytes"), ("Max resident set", "bytes"), ("Max processes", "processes"), ("Max open files", "files"),
        ("Max locked memory", "bytes"), ("Max address space", "bytes"), ("Max file locks", "locks"), ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"), ("Max nice priority", ""), ("Max realtime priority", ""), ("Max realtime timeout", "us"),
    ];
}
