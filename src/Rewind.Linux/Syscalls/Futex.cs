using Rewind.Linux.Execution;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// linux/futex.h: wait queues kept by the <see cref="Scheduler"/>. A wait that blocks lets another
/// thread run; its timeout counts in instructions at a nominal 1 GHz, so that it expires at the
/// same point of every run (and replay takes the outcome from the trace anyway).
/// </summary>
internal static unsafe partial class Futex
{
    const int Wait = 0, Wake = 1, Requeue = 3, CmpRequeue = 4, WakeOp = 5, WaitBitset = 9, WakeBitset = 10;
    const int CommandMask = 0x7f; // without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
    const int ClockRealtime = 256;

    [Syscall(SyscallNumber.futex)]
    static long FastUserspaceMutex(GuestProcess p, in SyscallArgs a)
    {
        var address = a.A0;
        if (address % 4 != 0)
            return -Errno.EINVAL;
        var command = a.Int(1) & CommandMask;
        switch (command)
        {
            case Wait:
            case WaitBitset:
                var bitset = command == Wait ? uint.MaxValue : (uint)a.A5;
                if (bitset == 0)
                    return -Errno.EINVAL;
                if (!p.Memory.TryRead(address, out uint current))
                    return -Errno.EFAULT;
                if (current != (uint)a.A2)
                    return -Errno.EAGAIN;
                var deadline = Deadline(p, a.A3, absolute: command == WaitBitset, realtime: (a.Int(1) & ClockRealtime) != 0);
                if (deadline < 0)
                    return deadline;
                if (deadline <= p.Instructions)
                    return -Errno.ETIMEDOUT;
                return p.Scheduler.Wait(address, bitset, deadline) ?? 0; // blocked: the result comes when it is switched in
            case Wake:
                return p.Scheduler.Wake(address, a.Int(2));
            case WakeBitset:
                return (uint)a.A5 == 0 ? -Errno.EINVAL : p.Scheduler.Wake(address, a.Int(2), (uint)a.A5);
            case CmpRequeue:
                if (!p.Memory.TryRead(address, out uint expected))
                    return -Errno.EFAULT;
                if (expected != (uint)a.A5)
                    return -Errno.EAGAIN;
                var (woken, moved) = p.Scheduler.Requeue(address, a.Int(2), a.A4, a.Int(3));
                return woken + moved;
            case Requeue:
                return p.Scheduler.Requeue(address, a.Int(2), a.A4, a.Int(3)).Woken; // the count of woken threads only, as Linux returns
            case WakeOp:
                return WakeAndOperate(p, address, a.Int(2), a.A4, a.Int(3), (uint)a.A5);
            default:
                return -Errno.ENOSYS; // priority inheritance and futex_waitv are not supported
        }
    }

    /// <summary>
    /// The instruction count at which a wait times out: long.MaxValue without a timeout; a negative
    /// errno for a bad timespec. Relative timeouts (FUTEX_WAIT) count from now; absolute ones
    /// (FUTEX_WAIT_BITSET) from the clock they name, read now.
    /// </summary>
    static long Deadline(GuestProcess p, ulong timeout, bool absolute, bool realtime)
    {
        if (timeout == 0)
            return long.MaxValue;
        if (!p.Memory.TryRead(timeout, out long seconds) || !p.Memory.TryRead(timeout + 8, out long nanoseconds))
            return -Errno.EFAULT;
        if (seconds < 0 || nanoseconds is < 0 or >= 1_000_000_000)
            return -Errno.EINVAL;
        var wait = (Int128)seconds * 1_000_000_000 + nanoseconds;
        if (absolute)
        {
            var now = stackalloc long[2];
            HostSyscall.Invoke(SyscallNumber.clock_gettime, realtime ? 0 : 1 /* CLOCK_MONOTONIC */, (long)now);
            wait -= (Int128)now[0] * 1_000_000_000 + now[1];
        }
        return (long)Int128.Clamp(p.Instructions + Int128.Max(wait, 0), 0, long.MaxValue);
    }

    /// <summary>
    /// FUTEX_WAKE_OP: changes the word at <paramref name="other"/> by the encoded operation, wakes up to
    /// <paramref name="count"/> waiters of <paramref name="address"/>, and up to <paramref name="otherCount"/>
    /// of <paramref name="other"/> when its old value passes the encoded comparison.
    /// </summary>
    static long WakeAndOperate(GuestProcess p, ulong address, int count, ulong other, int otherCount, uint encoded)
    {
        var operation = (int)(encoded >> 28) & 7;
        var shift = (encoded >> 28 & 8) != 0;
        var comparison = (int)(encoded >> 24) & 15;
        var operand = SignExtend12(encoded >> 12);
        var comparand = SignExtend12(encoded);
        if (shift)
            operand = 1 << (operand & 31);
        if (!p.Memory.TryRead(other, out int old))
            return -Errno.EFAULT;
        int? updated = operation switch
        {
            0 => operand,
            1 => old + operand,
            2 => old | operand,
            3 => old & ~operand,
            4 => old ^ operand,
            _ => null,
        };
        bool? passes = comparison switch
        {
            0 => old == comparand,
            1 => old != comparand,
            2 => old < comparand,
            3 => old <= comparand,
            4 => old > comparand,
            5 => old >= comparand,
            _ => null,
        };
        if (updated is null || passes is null)
            return -Errno.ENOSYS;
        if (!p.Memory.TryWrite(other, updated.Value))
            return -Errno.EFAULT;
        var woken = p.Scheduler.Wake(address, count);
        if (passes.Value)
            woken += p.Scheduler.Wake(other, otherCount);
        return woken;
    }

    static int SignExtend12(uint value) => (int)(value << 20) >> 20;
}
