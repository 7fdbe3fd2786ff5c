using System.Buffers.Binary;
using Rewind.Engine;

namespace Rewind.Linux.Signals;

/// <summary>
/// The x87/SSE state in the 512-byte FXSAVE layout, which is what Linux puts in a signal frame on
/// a CPU without XSAVE (the one guests see): control, status and abridged tag words, MXCSR, the
/// eight x87 registers ST(0)-ST(7) in stack order, then XMM0-XMM15. Bytes 464-511 are left to
/// software, as FXSAVE leaves them.
/// </summary>
internal static class FpuState
{
    public const int Size = 512;
    const int MxcsrOffset = 24, MxcsrMaskOffset = 28, StOffset = 32, XmmOffset = 160, SavedBytes = 464;
    /// <summary>The MXCSR bits a Haswell core implements (DAZ included).</summary>
    const uint MxcsrMask = 0xffff;

    public static void Save(Cpu cpu, Span<byte> area)
    {
        area[..SavedBytes].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(area, (ushort)cpu.Read(X86Register.Fpcw));
        BinaryPrimitives.WriteUInt16LittleEndian(area[2..], (ushort)cpu.Read(X86Register.Fpsw));
        area[4] = AbridgedTags((ushort)cpu.Read(X86Register.Fptag));
        BinaryPrimitives.WriteUInt32LittleEndian(area[MxcsrOffset..], (uint)cpu.Read(X86Register.Mxcsr));
        BinaryPrimitives.WriteUInt32LittleEndian(area[MxcsrMaskOffset..], MxcsrMask);
        for (var i = 0; i < 8; i++)
            cpu.ReadFloat80(i).CopyTo(area[(StOffset + i * 16)..]);
        for (var i = 0; i < 16; i++)
            BinaryPrimitives.WriteUInt128LittleEndian(area[(XmmOffset + i * 16)..], cpu.ReadXmm(i));
    }

    public static void Load(Cpu cpu, ReadOnlySpan<byte> area)
    {
        cpu.Write(X86Register.Fpcw, BinaryPrimitives.ReadUInt16LittleEndian(area));
        // The status word carries the stack top, which the ST(i) registers below are relative to.
        cpu.Write(X86Register.Fpsw, BinaryPrimitives.ReadUInt16LittleEndian(area[2..]));
        cpu.Write(X86Register.Fptag, FullTags(area[4]));
        // Reserved MXCSR bits would fault natively; Linux refuses such a frame, Rewind clears them.
        cpu.Write(X86Register.Mxcsr, BinaryPrimitives.ReadUInt32LittleEndian(area[MxcsrOffset..]) & MxcsrMask);
        for (var i = 0; i < 8; i++)
            cpu.WriteFloat80(i, area.Slice(StOffset + i * 16, 10));
        for (var i = 0; i < 16; i++)
            cpu.WriteXmm(i, BinaryPrimitives.ReadUInt128LittleEndian(area[(XmmOffset + i * 16)..]));
    }

    /// <summary>The state a signal handler starts with (and sigreturn without a saved state restores): as after FNINIT, MXCSR at its default.</summary>
    public static void Reset(Cpu cpu)
    {
        Span<byte> area = stackalloc byte[Size];
        area.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(area, 0x37f);
        BinaryPrimitives.WriteUInt32LittleEndian(area[MxcsrOffset..], 0x1f80);
        Load(cpu, area);
    }

    /// <summary>FXSAVE's tag byte: bit i set when physical register i is not empty (full tag 11).</summary>
    static byte AbridgedTags(ushort full)
    {
        var abridged = 0;
        for (var i = 0; i < 8; i++)
        {
            if (((full >> (2 * i)) & 3) != 3)
                abridged |= 1 << i;
        }
        return (byte)abridged;
    }

    static ushort FullTags(byte abridged)
    {
        var full = 0;
        for (var i = 0; i < 8; i++)
        {
            if ((abridged & (1 << i)) == 0)
                full |= 3 << (2 * i);
        }
        return (ushort)full;
    }
}
