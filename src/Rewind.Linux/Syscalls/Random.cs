using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>sys/random.h: getrandom, through the single source of nondeterminism.</summary>
internal static partial class Random
{
    [Syscall(SyscallNumber.getrandom)]
    static long GetRandom(GuestProcess p, in SyscallArgs a)
    {
        const int NonBlock = 1, Insecure = 4, Random = 2;
        if ((a.Int(2) & ~(NonBlock | Insecure | Random)) != 0)
            return -Errno.EINVAL;
        var length = (int)Math.Min(a.A1, 32 << 20);
        var bytes = new byte[length];
        p.Nondeterminism.Random(bytes);
        return p.Memory.Write(a.A0, bytes) ? length : -Errno.EFAULT;
    }
}
