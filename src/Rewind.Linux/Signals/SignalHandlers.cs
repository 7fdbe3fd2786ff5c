using System.Buffers.Binary;

namespace Rewind.Linux.Signals;

/// <summary>The kernel's struct sigaction on x86-64: handler, flags, restorer, mask (32 bytes).</summary>
public readonly record struct SignalAction(ulong Handler, ulong Flags, ulong Restorer, ulong Mask)
{
    public const int Size = 32;
    public const ulong Default = 0, Ignore = 1;
    public const ulong SigInfo = 4, OnStack = 0x0800_0000, Restart = 0x1000_0000, NoDefer = 0x4000_0000, ResetHandler = 0x8000_0000, HasRestorer = 0x0400_0000;

    public bool Has(ulong flag) => (Flags & flag) != 0;

    public static SignalAction Read(ReadOnlySpan<byte> bytes) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]), BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]));

    public void WriteTo(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, Handler);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[16..], Restorer);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[24..], Mask);
    }
}

/// <summary>The actions installed for signals 1 to 64, shared by every thread of a process.</summary>
public sealed class SignalHandlers
{
    readonly SignalAction[] _actions = new SignalAction[65];

    public SignalAction this[int signal]
    {
        get => _actions[signal];
        set => _actions[signal] = value;
    }

    /// <summary>
    /// As execve leaves them: handled signals go back to their default action (the handlers were
    /// in the old image); ignored ones stay ignored.
    /// </summary>
    public void ResetForExec()
    {
        for (var signal = 1; signal < _actions.Length; signal++)
        {
            if (_actions[signal].Handler != SignalAction.Ignore)
                _actions[signal] = default;
        }
    }

    /// <summary>Whether a signal that is not blocked is thrown away when raised: SIG_IGN, or SIG_DFL whose default is to ignore.</summary>
    public bool Ignores(int signal) => _actions[signal].Handler switch
    {
        SignalAction.Ignore => true,
        SignalAction.Default => Execution.SignalText.DefaultActionOf(signal) is Execution.DefaultAction.Ignore or Execution.DefaultAction.Continue,
        _ => false,
    };
}
