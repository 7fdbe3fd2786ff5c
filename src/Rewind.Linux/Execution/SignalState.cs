namespace Rewind.Linux.Execution;

/// <summary>
/// Signal bookkeeping: installed actions, the blocked mask and the alternate stack, kept exactly
/// as the guest set them so that rt_sigaction and sigaltstack read back what was written.
/// </summary>
public sealed class SignalState
{
    /// <summary>Size of the kernel's struct sigaction on x86-64: handler, flags, restorer, mask.</summary>
    public const int ActionSize = 32;

    readonly byte[][] _actions = Enumerable.Range(0, 65).Select(_ => new byte[ActionSize]).ToArray();

    public ulong BlockedMask { get; set; }

    /// <summary>stack_t: ss_sp, ss_flags (SS_DISABLE = 2 until set), ss_size.</summary>
    public (ulong Pointer, int Flags, ulong Size) AlternateStack { get; set; } = (0, 2, 0);

    public Span<byte> Action(int signal) => _actions[signal];

    /// <summary>
    /// As execve leaves them: handled signals go back to their default action (the handlers were
    /// in the old image), ignored ones stay ignored, the mask stays, the alternate stack goes.
    /// </summary>
    public void ResetForExec()
    {
        const ulong Ignore = 1; // SIG_IGN
        foreach (var action in _actions)
        {
            if (BitConverter.ToUInt64(action) != Ignore)
                action.AsSpan().Clear();
        }
        AlternateStack = (0, 2, 0);
    }
}
