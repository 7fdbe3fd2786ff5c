using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Rewind.Replay.Tests;

/// <summary>One chunk of a trace file: its kind byte and its payload as stored.</summary>
public sealed record TraceChunk(byte Kind, byte[] Payload);

/// <summary>
/// A trace file taken apart by the published layout, written here independently of Rewind.Trace,
/// so that a test can damage exactly one thing and put the file back together with valid checksums.
/// Layout: "REWINDTR", int32 version, int32 header length, the JSON header; then chunks, each a
/// 16-byte header (uint32 magic 0x4b4e4843, kind byte, 3 reserved bytes, int32 payload length,
/// CRC-32 of the payload) and the payload.
/// </summary>
public sealed class TraceFile
{
    public const uint ChunkMagic = 0x4b4e4843;
    public const byte KeyframeKind = 3;
    const int ChunkHeaderSize = 16;

    TraceFile(byte[] prefix, List<TraceChunk> chunks)
    {
        Prefix = prefix;
        Chunks = chunks;
    }

    /// <summary>The 16-byte start and the JSON header, as they are.</summary>
    public byte[] Prefix { get; }

    public List<TraceChunk> Chunks { get; }

    public static TraceFile Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan(0, 8).SequenceEqual("REWINDTR"u8), "the trace starts with REWINDTR");
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        var offset = 16 + headerLength;
        var chunks = new List<TraceChunk>();
        while (offset < bytes.Length)
        {
            var header = bytes.AsSpan(offset, ChunkHeaderSize);
            Assert.Equal(ChunkMagic, BinaryPrimitives.ReadUInt32LittleEndian(header));
            var length = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            var payload = bytes.AsSpan(offset + ChunkHeaderSize, length).ToArray();
            Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(header[12..]), Crc32.HashToUInt32(payload));
            chunks.Add(new TraceChunk(header[4], payload));
            offset += ChunkHeaderSize + length;
        }
        return new TraceFile(bytes[..(16 + headerLength)], chunks);
    }

    /// <summary>Writes the file back, every chunk with its length and checksum computed afresh.</summary>
    public void Write(string path)
    {
        using var file = File.Create(path);
        file.Write(Prefix);
        Span<byte> header = stackalloc byte[ChunkHeaderSize];
        foreach (var chunk in Chunks)
        {
            header.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(header, ChunkMagic);
            header[4] = chunk.Kind;
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], chunk.Payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[12..], Crc32.HashToUInt32(chunk.Payload));
            file.Write(header);
            file.Write(chunk.Payload);
        }
    }

    /// <summary>The indexes in <see cref="Chunks"/> of the keyframe chunks, in file order.</summary>
    public List<int> KeyframeChunks() =>
        Enumerable.Range(0, Chunks.Count).Where(i => Chunks[i].Kind == KeyframeKind).ToList();

    /// <summary>A keyframe's record, decompressed: instruction count, event index, register bytes, and where the registers start.</summary>
    public static KeyframeRecord DecodeKeyframe(TraceChunk chunk)
    {
        var record = Inflate(chunk.Payload);
        var position = 0;
        var instruction = (long)ReadVarint(record, ref position);
        var eventIndex = (long)ReadVarint(record, ref position);
        // The running process: pid, parent, group and session, then the executable's path (length + 1, 0 for none).
        for (var field = 0; field < 4; field++)
            ReadVarint(record, ref position);
        var pathLength = (int)ReadVarint(record, ref position);
        position += Math.Max(0, pathLength - 1);
        var registersLength = (int)ReadVarint(record, ref position);
        return new KeyframeRecord(record, instruction, eventIndex, position, registersLength);
    }

    /// <summary>A keyframe chunk holding <paramref name="record"/> (Brotli-compressed, as the format stores it).</summary>
    public static TraceChunk EncodeKeyframe(byte[] record)
    {
        using var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, CompressionLevel.Optimal, leaveOpen: true))
            brotli.Write(record);
        return new TraceChunk(KeyframeKind, output.ToArray());
    }

    static byte[] Inflate(byte[] compressed)
    {
        using var input = new MemoryStream(compressed);
        using var brotli = new BrotliStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        brotli.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>An unsigned LEB128 number.</summary>
    static ulong ReadVarint(byte[] data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
                return value;
        }
    }
}

/// <summary>A decompressed keyframe record; the registers are 8-byte little-endian values from <see cref="RegistersOffset"/> on.</summary>
public sealed record KeyframeRecord(byte[] Record, long Instruction, long EventIndex, int RegistersOffset, int RegistersLength)
{
    /// <summary>Register order in the keyframe's register bytes: the first of the 8-byte values.</summary>
    public static readonly string[] RegisterNames =
    [
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15", "rip", "eflags",
    ];

    /// <summary>Offset in <see cref="Record"/> of the register named <paramref name="name"/>.</summary>
    public int OffsetOf(string name) => RegistersOffset + 8 * Array.IndexOf(RegisterNames, name);

    public ulong Register(string name) => BinaryPrimitives.ReadUInt64LittleEndian(Record.AsSpan(OffsetOf(name)));
}
