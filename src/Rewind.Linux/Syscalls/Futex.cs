using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>linux/futex.h, for a process with one thread: wakes find no waiter, and a wait can only time out.</summary>
internal static class Futex
{
    const int Wait = 0, Wake = 1, Requeue = 3, CmpRequeue = 4, WakeOp = 5, WaitBitset = 9, WakeBitset = 10;
    const int CommandMask = 0x7f; // without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME

    [Syscall(SyscallNumber.futex)]
    static long FastUserspaceMutex(GuestProcess p, in SyscallArgs a)
    {
        switch (a.Int(1) & CommandMask)
        {
            case Wait:
            case WaitBitset:
                if (!p.Memory.TryRead(a.A0, out uint current))
                    return -Errno.EFAULT;
                if (current != (uint)a.A2)
                    return -Errno.EAGAIN;
                // No other thread exists that could wake this one: an untimed wait would hang forever.
                if (a.A3 == 0)
                {
                    p.Warn("futex wait with no other thread to wake it: the program is deadlocked");
                    p.Terminate(Signal.SIGKILL, 0);
                    return 0;
                }
                return -Errno.ETIMEDOUT;
            case Wake:
            case WakeBitset:
            case Requeue:
            case CmpRequeue:
            case WakeOp:
                return 0;
            default:
                return -Errno.ENOSYS;
        }
    }
}
