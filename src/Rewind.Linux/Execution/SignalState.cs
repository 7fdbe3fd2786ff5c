using Rewind.Linux.Signals;

namespace Rewind.Linux.Execution;

/// <summary>
/// Signals pending for delivery with what the handler will be told about each. Standard signals
/// do not queue: a second one raised while the first is pending is merged with it, as Linux does;
/// so are real-time ones here.
/// </summary>
public sealed class PendingSignals
{
    readonly SignalInfo[] _info = new SignalInfo[65];

    /// <summary>Bit n-1 for signal n.</summary>
    public ulong Bits { get; private set; }

    public void Raise(in SignalInfo info)
    {
        if ((Bits & SignalState.Bit(info.Signal)) != 0)
            return;
        Bits |= SignalState.Bit(info.Signal);
        _info[info.Signal] = info;
    }

    public void Discard(int signal) => Bits &= ~SignalState.Bit(signal);

    public SignalInfo Take(int signal)
    {
        Bits &= ~SignalState.Bit(signal);
        return _info[signal];
    }

    public void Clear() => Bits = 0;

    public IEnumerable<SignalInfo> All()
    {
        for (var signal = 1; signal <= 64; signal++)
        {
            if ((Bits & SignalState.Bit(signal)) != 0)
                yield return _info[signal];
        }
    }
}

/// <summary>
/// The signal state of a process as its running thread sees it: the thread's blocked mask, the
/// alternate stack, and the signals pending for the whole process and for that thread alone (tgkill),
/// which the thread takes first. (Handlers are per process: <see cref="SignalHandlers"/>.) A thread
/// switch puts the next thread's mask and its own pending set in.
/// </summary>
public sealed class SignalState
{
    /// <summary>SIGKILL and SIGSTOP, which can be neither blocked, handled nor ignored.</summary>
    public const ulong Unblockable = 1UL << ((int)Signal.SIGKILL - 1) | 1UL << ((int)Signal.SIGSTOP - 1);

    /// <summary>Signals raised by the instruction that faulted: delivered before any other pending one.</summary>
    const ulong Synchronous = 1UL << ((int)Signal.SIGSEGV - 1) | 1UL << ((int)Signal.SIGBUS - 1) | 1UL << ((int)Signal.SIGILL - 1)
        | 1UL << ((int)Signal.SIGTRAP - 1) | 1UL << ((int)Signal.SIGFPE - 1) | 1UL << ((int)Signal.SIGSYS - 1);

    readonly PendingSignals _shared = new();

    public ulong BlockedMask { get; set; }

    /// <summary>
    /// The mask rt_sigsuspend replaced: it goes into the frame of the signal that ends the wait, or
    /// back into <see cref="BlockedMask"/> when no handler runs.
    /// </summary>
    public ulong? MaskToRestore { get; set; }

    /// <summary>Pending signals, for the process or the running thread, bit n-1 for signal n.</summary>
    public ulong Pending => _shared.Bits | ThreadPending.Bits;

    /// <summary>Signals sent to the running thread alone (its <see cref="GuestThread.PendingSignals"/>).</summary>
    public PendingSignals ThreadPending { get; set; } = new();

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

    /// <summary>Makes <paramref name="info"/> pending for the whole process.</summary>
    public void Raise(in SignalInfo info) => _shared.Raise(info);

    public void Discard(int signal)
    {
        _shared.Discard(signal);
        ThreadPending.Discard(signal);
    }

    /// <summary>Whether a pending signal is not blocked, so that it is delivered before the program goes on.</summary>
    public bool HasDeliverable => (Pending & ~BlockedMask) != 0;

    /// <summary>
    /// Takes the pending signal that Linux delivers first among <paramref name="allowed"/>: the running
    /// thread's own before the process's, and in each a synchronous one, else the lowest-numbered.
    /// </summary>
    public bool TryTake(ulong allowed, out SignalInfo info)
    {
        foreach (var set in (ReadOnlySpan<PendingSignals>)[ThreadPending, _shared])
        {
            var candidates = set.Bits & allowed;
            if (candidates == 0)
                continue;
            var first = (candidates & Synchronous) != 0 ? candidates & Synchronous : candidates;
            info = set.Take(System.Numerics.BitOperations.TrailingZeroCount(first) + 1);
            return true;
        }
        info = default;
        return false;
    }

    /// <summary>Sets the state of the process, as a keyframe recorded it (threads' own pending signals are theirs).</summary>
    internal void Set(ulong blocked, (ulong, int, ulong) alternateStack, IEnumerable<SignalInfo> pending)
    {
        BlockedMask = blocked;
        AlternateStack = alternateStack;
        _shared.Clear();
        foreach (var info in pending)
            Raise(info);
    }

    /// <summary>The signals pending for the whole process.</summary>
    internal IEnumerable<SignalInfo> ProcessPending() => _shared.All();
}
