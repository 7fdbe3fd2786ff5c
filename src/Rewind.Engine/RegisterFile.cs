using System.Buffers.Binary;

namespace Rewind.Engine;

/// <summary>
/// The user-visible x86-64 register state as bytes: what a keyframe stores, a divergence check
/// compares, and a seek restores. The layout is fixed by <see cref="Registers"/>.
/// </summary>
public static unsafe class RegisterFile
{
    /// <summary>Registers kept as 8-byte values, in storage order.</summary>
    public static readonly X86Register[] Registers =
    [
        X86Register.Rax, X86Register.Rbx, X86Register.Rcx, X86Register.Rdx, X86Register.Rsi, X86Register.Rdi,
        X86Register.Rbp, X86Register.Rsp, X86Register.R8, X86Register.R9, X86Register.R10, X86Register.R11,
        X86Register.R12, X86Register.R13, X86Register.R14, X86Register.R15, X86Register.Rip, X86Register.Eflags,
        X86Register.FsBase, X86Register.GsBase, X86Register.Mxcsr, X86Register.Fpcw, X86Register.Fpsw, X86Register.Fptag,
    ];

    const int XmmCount = 16, StCount = 8, StSize = 10;

    public static int Size => Registers.Length * 8 + XmmCount * 16 + StCount * StSize;

    public static byte[] Capture(Cpu cpu) => Capture(cpu, cpu.Read(X86Register.Rip));

    /// <summary>
    /// Captures the registers at the start of a block from a block hook: the engine's RIP may still
    /// hold an earlier address there (chained blocks do not store it), so the block's address is given.
    /// </summary>
    public static byte[] Capture(Cpu cpu, ulong rip)
    {
        var bytes = new byte[Size];
        var span = bytes.AsSpan();
        for (var i = 0; i < Registers.Length; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], Registers[i] == X86Register.Rip ? rip : cpu.Read(Registers[i]));
        var offset = Registers.Length * 8;
        for (var i = 0; i < XmmCount; i++, offset += 16)
            BinaryPrimitives.WriteUInt128LittleEndian(span[offset..], cpu.ReadXmm(i));
        for (var i = 0; i < StCount; i++, offset += StSize)
            cpu.ReadFloat80(i).CopyTo(span[offset..]);
        return bytes;
    }

    /// <summary>Sets one of the 8-byte <see cref="Registers"/> in a register file.</summary>
    public static void Set(Span<byte> bytes, X86Register register, ulong value)
    {
        var index = Array.IndexOf(Registers, register);
        if (index < 0)
            throw new ArgumentException($"{register} is not kept as an 8-byte value", nameof(register));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[(index * 8)..], value);
    }

    public static void Restore(Cpu cpu, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
            throw new ArgumentException("register file has the wrong size", nameof(bytes));
        for (var i = 0; i < Registers.Length; i++)
            cpu.Write(Registers[i], BinaryPrimitives.ReadUInt64LittleEndian(bytes[(i * 8)..]));
        var offset = Registers.Length * 8;
        for (var i = 0; i < XmmCount; i++, offset += 16)
            cpu.WriteXmm(i, BinaryPrimitives.ReadUInt128LittleEndian(bytes[offset..]));
        for (var i = 0; i < StCount; i++, offset += StSize)
            cpu.WriteFloat80(i, bytes.Slice(offset, StSize));
    }

    /// <summary>Names and values of the registers that differ between two register files.</summary>
    public static IEnumerable<string> Differences(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        var differences = new List<string>();
        for (var i = 0; i < Registers.Length; i++)
        {
            var a = BinaryPrimitives.ReadUInt64LittleEndian(expected[(i * 8)..]);
            var b = BinaryPrimitives.ReadUInt64LittleEndian(actual[(i * 8)..]);
            if (a != b)
                differences.Add($"{Registers[i].ToString().ToLowerInvariant()} expected 0x{a:x} but was 0x{b:x}");
        }
        var offset = Registers.Length * 8;
        for (var i = 0; i < XmmCount; i++, offset += 16)
        {
            if (!expected.Slice(offset, 16).SequenceEqual(actual.Slice(offset, 16)))
                differences.Add($"xmm{i} differs");
        }
        for (var i = 0; i < StCount; i++, offset += StSize)
        {
            if (!expected.Slice(offset, StSize).SequenceEqual(actual.Slice(offset, StSize)))
                differences.Add($"st{i} differs");
        }
        return differences;
    }
}
