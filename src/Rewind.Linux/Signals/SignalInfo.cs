using System.Buffers.Binary;

namespace Rewind.Linux.Signals;

/// <summary>si_code values (asm-generic/siginfo.h) that Rewind produces.</summary>
public static class SignalCodes
{
    /// <summary>Sent by kill.</summary>
    public const int User = 0;
    /// <summary>Sent by the kernel itself (timers, int3, general protection faults).</summary>
    public const int Kernel = 0x80;
    /// <summary>Sent by tkill or tgkill.</summary>
    public const int ThreadKill = -6;
    public const int SegvMapError = 1, SegvAccessError = 2;
    public const int BusAlignment = 1;
    public const int FpeIntegerDivide = 1;
    public const int IllegalOperand = 2;
}

/// <summary>
/// A pending signal and what its handler is told in siginfo_t. For faults also the trap number
/// and error code that Linux puts in the signal frame's mcontext.
/// For SIGCHLD, <paramref name="SenderPid"/> is the child and <paramref name="Status"/> its exit code or signal.
/// </summary>
public readonly record struct SignalInfo(int Signal, int Code, ulong Address = 0, int SenderPid = 0, uint SenderUid = 0, int Trap = 0, ulong ErrorCode = 0,
    int Status = 0)
{
    /// <summary>Size of siginfo_t.</summary>
    public const int Size = 128;

    /// <summary>Whether the union holds a sender (kill, tkill, sigqueue, a child's SIGCHLD) rather than a fault address.</summary>
    public bool FromProcess => Code <= 0 || Signal == (int)Execution.Signal.SIGCHLD;

    /// <summary>Fills a siginfo_t: number, errno, code, then the sender's pid and uid or the fault address.</summary>
    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        BinaryPrimitives.WriteInt32LittleEndian(destination, Signal);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], Code);
        if (FromProcess)
        {
            BinaryPrimitives.WriteInt32LittleEndian(destination[16..], SenderPid);
            BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], SenderUid);
            BinaryPrimitives.WriteInt32LittleEndian(destination[24..], Status);
        }
        else if (Code != SignalCodes.Kernel)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], Address);
        }
    }
}
