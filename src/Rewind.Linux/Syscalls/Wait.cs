using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>sys/wait.h: a traced process has no children yet, so there is nothing to wait for.</summary>
internal static class Wait
{
    [Syscall(SyscallNumber.wait4)]
    [Syscall(SyscallNumber.waitid)]
    static long WaitForChild(GuestProcess p, in SyscallArgs a) => -Errno.ECHILD;
}
