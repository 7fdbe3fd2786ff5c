using System.Buffers.Binary;
using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Linux.Memory;

namespace Rewind.Linux.Signals;

/// <summary>
/// The signal frame Linux x86-64 builds on the stack for a handler (arch/x86/kernel/signal_64.c),
/// and its undoing by rt_sigreturn. From the frame's start: struct rt_sigframe, that is pretcode
/// (the return address: sa_restorer), the ucontext (uc_flags, uc_link, uc_stack, the mcontext with
/// the general registers in the order of glibc's REG_R8..REG_CR2, the fpstate pointer, and
/// uc_sigmask), then the siginfo. Above it, 64-byte aligned, the FXSAVE-format FPU state.
/// </summary>
internal static class SignalFrame
{
    const ulong RedZone = 128;
    const int FrameSize = 440;
    const int UcFlags = 8, UcStack = 24, Mcontext = 48, FpstatePointer = Mcontext + 23 * 8, UcSigmask = 304, Info = 312;
    const int CsGsFsSs = Mcontext + 18 * 8, ErrorCode = Mcontext + 19 * 8, TrapNumber = Mcontext + 20 * 8, OldMask = Mcontext + 21 * 8, FaultAddress = Mcontext + 22 * 8;

    /// <summary>UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS: what Linux sets without XSAVE (no UC_FP_XSTATE: no xstate header follows the FXSAVE area).</summary>
    const ulong Flags = 0x2 | 0x4;

    /// <summary>mcontext's general registers from REG_R8 to REG_RIP; REG_EFL follows.</summary>
    static readonly X86Register[] GeneralRegisters =
    [
        X86Register.R8, X86Register.R9, X86Register.R10, X86Register.R11, X86Register.R12, X86Register.R13, X86Register.R14, X86Register.R15,
        X86Register.Rdi, X86Register.Rsi, X86Register.Rbp, X86Register.Rbx, X86Register.Rdx, X86Register.Rax, X86Register.Rcx, X86Register.Rsp,
        X86Register.Rip,
    ];

    const int EflagsIndex = 17;
    const ulong UserCodeSegment = 0x33, UserDataSegment = 0x2b;

    /// <summary>EFLAGS bits a handler may change through the frame (Linux's FIX_EFLAGS): AC OF DF TF SF ZF AF PF CF NT RF.</summary>
    const ulong RestorableFlags = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x4000 | 0x10000;
    const ulong DirectionTrapResume = 0x400 | 0x100 | 0x10000;

    /// <summary>
    /// Builds the frame for <paramref name="info"/> and points the registers at the handler, as Linux does:
    /// below the red zone, or at the top of the alternate stack with SA_ONSTACK, with RSP+8 16-byte aligned
    /// at the handler's entry. False when the stack cannot take the frame (the caller then forces SIGSEGV).
    /// </summary>
    public static bool Push(GuestProcess process, in SignalInfo info, in SignalAction action, ulong savedMask)
    {
        var cpu = process.Cpu;
        var signals = process.Signals;
        if (!action.Has(SignalAction.HasRestorer))
            return false; // x86-64 Linux has no default return trampoline
        var rsp = cpu.Read(X86Register.Rsp);
        var top = rsp - RedZone;
        if (action.Has(SignalAction.OnStack) && signals.AlternateStack.Flags == 0 && !signals.IsOnAlternateStack(rsp))
            top = signals.AlternateStack.Pointer + signals.AlternateStack.Size;
        var fpstate = (top - FpuState.Size) & ~63UL;
        var frame = ((fpstate - FrameSize) & ~15UL) - 8;
        var length = (int)(fpstate + FpuState.Size - frame);

        // Bytes the kernel does not write (siginfo without SA_SIGINFO, padding, FXSAVE's free tail) keep what the stack held.
        Span<byte> bytes = stackalloc byte[length];
        if (!process.Memory.IsAccessible(frame, (ulong)length, Protection.Write) || !process.Memory.Peek(frame, bytes))
            return false;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, action.Restorer);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[UcFlags..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[(UcFlags + 8)..], 0); // uc_link
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[UcStack..], signals.AlternateStack.Pointer);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[(UcStack + 8)..], (uint)signals.AlternateStackFlags(rsp));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[(UcStack + 16)..], signals.AlternateStack.Size);
        for (var i = 0; i < GeneralRegisters.Length; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes[(Mcontext + i * 8)..], cpu.Read(GeneralRegisters[i]));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[(Mcontext + EflagsIndex * 8)..], cpu.Read(X86Register.Eflags));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[CsGsFsSs..], UserCodeSegment | UserDataSegment << 48);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[ErrorCode..], info.ErrorCode);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[TrapNumber..], (ulong)info.Trap);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[OldMask..], savedMask);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[FaultAddress..], info.Trap == PageFault ? info.Address : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[FpstatePointer..], fpstate);
        bytes.Slice(FpstatePointer + 8, 64).Clear(); // reserved
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[UcSigmask..], savedMask);
        if (action.Has(SignalAction.SigInfo))
            info.WriteTo(bytes[Info..]);
        FpuState.Save(cpu, bytes[(int)(fpstate - frame)..]);
        Store(process.Memory, frame, bytes);

        cpu.Write(X86Register.Rdi, (ulong)info.Signal);
        cpu.Write(X86Register.Rsi, frame + Info);
        cpu.Write(X86Register.Rdx, frame + UcFlags);
        cpu.Write(X86Register.Rax, 0); // for handlers declared without a prototype
        cpu.Write(X86Register.Rsp, frame);
        cpu.Write(X86Register.Rip, action.Handler);
        cpu.Write(X86Register.Eflags, cpu.Read(X86Register.Eflags) & ~DirectionTrapResume);
        FpuState.Reset(cpu);
        return true;
    }

    /// <summary>x86 trap number of a page fault: the only trap whose address goes into mcontext's cr2.</summary>
    public const int PageFault = 14;

    /// <summary>What rt_sigreturn reads from the frame, applied between two runs of the engine.</summary>
    public sealed class Saved
    {
        public required ulong[] Registers { get; init; }
        public required ulong Eflags { get; init; }
        public required ulong Mask { get; init; }
        public required (ulong Pointer, int Flags, ulong Size) Stack { get; init; }
        /// <summary>The FXSAVE area, or null when the frame has no FPU state (fpstate 0).</summary>
        public required byte[]? Fpu { get; init; }

        /// <summary>The saved RAX, which rt_sigreturn returns.</summary>
        public ulong Rax => Registers[Array.IndexOf(GeneralRegisters, X86Register.Rax)];
    }

    /// <summary>Reads the frame that <paramref name="rsp"/> points just past (the handler's ret popped pretcode); null when unreadable.</summary>
    public static Saved? Read(AddressSpace memory, ulong rsp)
    {
        var frame = rsp - 8;
        Span<byte> bytes = stackalloc byte[FrameSize];
        if (!memory.Read(frame, bytes))
            return null;
        var registers = new ulong[GeneralRegisters.Length];
        for (var i = 0; i < registers.Length; i++)
            registers[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(Mcontext + i * 8)..]);
        var fpstate = BinaryPrimitives.ReadUInt64LittleEndian(bytes[FpstatePointer..]);
        byte[]? fpu = null;
        if (fpstate != 0)
        {
            fpu = new byte[FpuState.Size];
            if (!memory.Read(fpstate, fpu))
                return null;
        }
        return new Saved
        {
            Registers = registers,
            Eflags = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(Mcontext + EflagsIndex * 8)..]),
            Mask = BinaryPrimitives.ReadUInt64LittleEndian(bytes[UcSigmask..]),
            Stack = (BinaryPrimitives.ReadUInt64LittleEndian(bytes[UcStack..]), BinaryPrimitives.ReadInt32LittleEndian(bytes[(UcStack + 8)..]),
                BinaryPrimitives.ReadUInt64LittleEndian(bytes[(UcStack + 16)..])),
            Fpu = fpu,
        };
    }

    /// <summary>Restores registers, FPU state, the blocked mask and the alternate stack from a frame the handler may have changed.</summary>
    public static void Restore(GuestProcess process, Saved saved)
    {
        var cpu = process.Cpu;
        for (var i = 0; i < GeneralRegisters.Length; i++)
            cpu.Write(GeneralRegisters[i], saved.Registers[i]);
        cpu.Write(X86Register.Eflags, (cpu.Read(X86Register.Eflags) & ~RestorableFlags) | (saved.Eflags & RestorableFlags));
        if (saved.Fpu is { } fpu)
            FpuState.Load(cpu, fpu);
        else
            FpuState.Reset(cpu);
        var signals = process.Signals;
        signals.BlockedMask = saved.Mask & ~SignalState.Unblockable;
        // As sigaltstack would with the frame's uc_stack; Linux ignores every failure but EFAULT here.
        var (pointer, flags, size) = saved.Stack;
        var disable = (flags & SignalState.AlternateStackDisabled) != 0;
        if (!signals.IsOnAlternateStack(cpu.Read(X86Register.Rsp)) && (disable || size >= SignalState.MinimumAlternateStackSize))
            signals.AlternateStack = disable ? (0, SignalState.AlternateStackDisabled, 0) : (pointer, 0, size);
    }

    /// <summary>
    /// Writes the frame into guest memory without logging it: replay builds the same frame again from
    /// the same state, so a trace needs none of these bytes.
    /// </summary>
    static unsafe void Store(AddressSpace memory, ulong address, ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var mapping = memory.Find(address)!;
            var piece = (int)Math.Min((ulong)bytes.Length, mapping.End - address);
            bytes[..piece].CopyTo(new Span<byte>(memory.HostPointer(address, (ulong)piece, Protection.Write), piece));
            bytes = bytes[piece..];
            address += (ulong)piece;
        }
    }
}
