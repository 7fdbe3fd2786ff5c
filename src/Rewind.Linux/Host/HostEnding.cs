using Rewind.Linux.Execution;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Host;

/// <summary>
/// Ends Rewind's own process the way the program it ran ended: by the same signal, so that whoever started Rewind
/// (a shell, a build tool) sees a program killed by that signal and reports it itself, as it would natively.
/// </summary>
public static unsafe class HostEnding
{
    const int SignalUnblock = 1, CoreLimit = 4;

    /// <summary>
    /// Dies of <paramref name="signal"/> with its default action. Returns only when the signal did not end the
    /// process (it stops or is ignored by default). No core file is written for Rewind itself: it would be
    /// Rewind's memory, not the program's.
    /// </summary>
    public static void DieOf(Signal signal)
    {
        var number = (int)signal;
        var action = stackalloc ulong[4]; // struct kernel_sigaction: handler SIG_DFL, flags, restorer, mask
        HostSyscall.Invoke(SyscallNumber.rt_sigaction, number, (long)action, 0, 8);
        if (SignalText.DumpsCore(signal))
        {
            var limit = stackalloc ulong[2];
            HostSyscall.Invoke(SyscallNumber.prlimit64, 0, CoreLimit, 0, (long)limit);
            limit[0] = 0;
            HostSyscall.Invoke(SyscallNumber.prlimit64, 0, CoreLimit, (long)limit, 0);
        }
        var mask = 1UL << (number - 1);
        HostSyscall.Invoke(SyscallNumber.rt_sigprocmask, SignalUnblock, (long)&mask, 0, 8);
        HostSyscall.Invoke(SyscallNumber.tgkill, HostSyscall.Invoke(SyscallNumber.getpid), HostSyscall.Invoke(SyscallNumber.gettid), number);
    }
}
