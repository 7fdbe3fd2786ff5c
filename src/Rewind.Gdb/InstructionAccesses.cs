using Iced.Intel;
using Rewind.Engine;
using Rewind.Query;

namespace Rewind.Gdb;

/// <summary>
/// The memory that the instruction about to run reads and writes, from its decoding and the registers
/// before it runs: what a single step checks against the watchpoints, as the debug registers of a real
/// CPU do, without replaying with memory hooks.
/// </summary>
internal static class InstructionAccesses
{
    /// <summary>The engine's register for each register an address can use (a segment register: its base).</summary>
    static readonly Dictionary<Register, X86Register> Registers = new Register[]
    {
        Register.RAX, Register.RBX, Register.RCX, Register.RDX, Register.RSI, Register.RDI, Register.RBP, Register.RSP,
        Register.R8, Register.R9, Register.R10, Register.R11, Register.R12, Register.R13, Register.R14, Register.R15, Register.FS, Register.GS,
    }.Zip(new[]
    {
        X86Register.Rax, X86Register.Rbx, X86Register.Rcx, X86Register.Rdx, X86Register.Rsi, X86Register.Rdi, X86Register.Rbp, X86Register.Rsp,
        X86Register.R8, X86Register.R9, X86Register.R10, X86Register.R11, X86Register.R12, X86Register.R13, X86Register.R14, X86Register.R15,
        X86Register.FsBase, X86Register.GsBase,
    }).ToDictionary(p => p.First, p => p.Second);

    /// <summary>Whether the instruction at the cursor's RIP touches [address, address + length) in a way <paramref name="kind"/> watches.</summary>
    public static bool Touches(TraceCursor cursor, ulong address, ulong length, WatchKind kind)
    {
        var rip = cursor.Register(X86Register.Rip);
        var bytes = new byte[15];
        var available = bytes.Length;
        while (available > 0 && !cursor.TryReadMemory(rip, bytes.AsSpan(0, available)))
            available--;
        if (available == 0)
            return false;
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(bytes, 0, available), rip);
        decoder.Decode(out var instruction);
        var info = new InstructionInfoFactory().GetInfo(instruction);
        foreach (var used in info.GetUsedMemory())
        {
            var reads = used.Access is OpAccess.Read or OpAccess.CondRead or OpAccess.ReadWrite or OpAccess.ReadCondWrite;
            var writes = used.Access is OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite;
            var wanted = kind switch { WatchKind.Write => writes, WatchKind.Read => reads, _ => reads || writes };
            var next = rip + (ulong)instruction.Length;
            if (!wanted || !used.TryGetVirtualAddress(0, out var start, (Register register, int _, int _, out ulong value) => Value(cursor, register, next, out value)))
                continue;
            var size = (ulong)Math.Max(1, used.MemorySize.GetSize());
            if (start < address + length && address < start + size)
                return true;
        }
        return false;
    }

    /// <summary>A register's value for an address (RIP: the next instruction's; a segment register: its base).</summary>
    static bool Value(TraceCursor cursor, Register register, ulong next, out ulong value)
    {
        value = 0;
        if (register == Register.RIP)
        {
            value = next;
            return true;
        }
        if (register.IsSegmentRegister() && !Registers.ContainsKey(register))
            return true; // the other segments have base 0
        if (!Registers.TryGetValue(register.GetFullRegister(), out var engine))
            return false;
        var full = cursor.Register(engine);
        value = register.GetSize() switch
        {
            4 => (uint)full,
            2 => (ushort)full,
            1 => (byte)full,
            _ => full,
        };
        return true;
    }
}
