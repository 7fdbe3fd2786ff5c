using Rewind.Linux.Signals;

namespace Rewind.Linux.Execution;

/// <summary>
/// The signal state Linux keeps per thread: the blocked mask, the alternate stack, and the
/// signals pending for delivery with what the handler will be told about each. (Handlers are
/// per process: <see cref="SignalHandlers"/>.) Standard signals do not queue: a second one
/// raised while the first is pending is merged with it, as Linux does; so are real-time ones here.
/// </summary>
public sealed class SignalState
{
    /// <summary>SIGKILL and SIGSTOP, which can be neither blocked, handled nor ignored.</summary>
    public const ulong Unblockable = 1UL << ((int)Signal.SIGKILL - 1) | 1UL << ((int)Signal.SIGSTOP - 1);

    /// <summary>Signals raised by the instruction that faulted: delivered before any other pending one.</summary>
    const ulong Synchronous = 1UL << ((int)Signal.SIGSEGV - 1) | 1UL << ((int)Signal.SIGBUS - 1) | 1UL << ((int)Signal.SIGILL - 1)
        | 1UL << ((int)Signal.SIGTRAP - 1) | 1UL << ((int)Signal.SIGFPE - 1) | 1UL << ((int)Signal.SIGSYS - 1);

    readonly SignalInfo[] _pendingInfo = new SignalInfo[65];

    public ulong BlockedMask { get; set; }

    /// <summary>
    /// The mask rt_sigsuspend replaced: it goes into the frame of the signal that ends the wait, or
    /// back into <see cref="BlockedMask"/> when no handler runs.
    /// </summary>
    public ulong? MaskToRestore { get; set; }

    /// <summary>Pending signals, bit n-1 for signal n.</summary>
    public ulong Pending { get; private set; }

    /// <summary>stack_t: ss_sp, ss_flags (SS_DISABLE = 2 until set), ss_size.</summary>
    public (ulong Pointer, int Flags, ulong Size) AlternateStack { get; set; } = (0, AlternateStackDisabled, 0);

    public const int AlternateStackDisabled = 2, AlternateStackInUse = 1;

    /// <summary>MINSIGSTKSZ: sigaltstack refuses smaller stacks.</summary>
    public const ulong MinimumAlternateStackSize = 2048;

    /// <summary>The flags sigaltstack reports for a thread whose stack pointer is <paramref name="rsp"/>.</summary>
    public int AlternateStackFlags(ulong rsp) =>
        AlternateStack.Flags != 0 ? AlternateStack.Flags : IsOnAlternateStack(rsp) ? AlternateStackInUse : 0;

    /// <summary>Whether <paramref name="rsp"/> lies on the alternate stack (Linux's on_sig_stack: above its base, at most at its top).</summary>
    public bool IsOnAlternateStack(ulong rsp) =>
        AlternateStack.Flags == 0 && rsp > AlternateStack.Pointer && rsp - AlternateStack.Pointer <= AlternateStack.Size;

    public static ulong Bit(int signal) => 1UL << (signal - 1);

    public void Raise(in SignalInfo info)
    {
        if ((Pending & Bit(info.Signal)) != 0)
            return;
        Pending |= Bit(info.Signal);
        _pendingInfo[info.Signal] = info;
    }

    public void Discard(int signal) => Pending &= ~Bit(signal);

    /// <summary>Whether a pending signal is not blocked, so that it is delivered before the program goes on.</summary>
    public bool HasDeliverable => (Pending & ~BlockedMask) != 0;

    /// <summary>
    /// Takes the pending signal that Linux delivers first among <paramref name="allowed"/>:
    /// a synchronous one, else the lowest-numbered.
    /// </summary>
    public bool TryTake(ulong allowed, out SignalInfo info)
    {
        var candidates = Pending & allowed;
        if (candidates == 0)
        {
            info = default;
            return false;
        }
        var first = (candidates & Synchronous) != 0 ? candidates & Synchronous : candidates;
        var signal = System.Numerics.BitOperations.TrailingZeroCount(first) + 1;
        info = _pendingInfo[signal];
        Pending &= ~Bit(signal);
        return true;
    }

    /// <summary>Sets the whole state, as a keyframe recorded it.</summary>
    internal void Set(ulong blocked, (ulong, int, ulong) alternateStack, IEnumerable<SignalInfo> pending)
    {
        BlockedMask = blocked;
        AlternateStack = alternateStack;
        Pending = 0;
        foreach (var info in pending)
            Raise(info);
    }

    internal IEnumerable<SignalInfo> PendingSignals()
    {
        for (var signal = 1; signal <= 64; signal++)
        {
            if ((Pending & Bit(signal)) != 0)
                yield return _pendingInfo[signal];
        }
    }
}
