using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Rewind.Trace;

/// <summary>Compact encoding of trace records: LEB128 integers, zigzag for signed values.</summary>
public sealed class VarintWriter
{
    readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);

    public int Length => _buffer.WrittenCount;
    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;
    public void Clear() => _buffer.ResetWrittenCount();

    /// <summary>The most bytes one encoded number takes.</summary>
    public const int MaxLength = 10;

    public void Write(ulong value) => _buffer.Advance(Encode(_buffer.GetSpan(MaxLength), value));

    /// <summary>Encodes <paramref name="value"/> at the start of <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Encode(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    public void WriteSigned(long value) => Write((ulong)((value << 1) ^ (value >> 63)));

    public void Write(UInt128 value)
    {
        BinaryPrimitives.WriteUInt128LittleEndian(_buffer.GetSpan(16), value);
        _buffer.Advance(16);
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Write((ulong)bytes.Length);
        _buffer.Write(bytes);
    }

    public void Write(string? text)
    {
        if (text is null)
        {
            Write(0UL);
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        Write((ulong)bytes.Length + 1);
        _buffer.Write(bytes);
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);
}

/// <summary>Reads what <see cref="VarintWriter"/> wrote; malformed input is an <see cref="InvalidDataException"/>.</summary>
public ref struct VarintReader(ReadOnlySpan<byte> data)
{
    readonly ReadOnlySpan<byte> _data = data;
    int _position;

    public readonly bool AtEnd => _position >= _data.Length;
    public readonly int Position => _position;

    public ulong ReadUnsigned()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length)
                throw new InvalidDataException("trace record is truncated");
            var b = _data[_position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
                return value;
        }
        throw new InvalidDataException("trace record has a malformed number");
    }

    public long ReadSigned()
    {
        var raw = ReadUnsigned();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    public int ReadInt() => checked((int)ReadUnsigned());

    public UInt128 ReadHash() => BinaryPrimitives.ReadUInt128LittleEndian(Take(16));

    public byte[] ReadBytes() => Take(ReadInt()).ToArray();

    public string? ReadString()
    {
        var length = ReadInt();
        return length == 0 ? null : Encoding.UTF8.GetString(Take(length - 1));
    }

    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || _position + count > _data.Length)
            throw new InvalidDataException("trace record is truncated");
        var span = _data.Slice(_position, count);
        _position += count;
        return span;
    }
}
