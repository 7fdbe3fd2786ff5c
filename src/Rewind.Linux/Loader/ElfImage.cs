using System.Buffers.Binary;

namespace Rewind.Linux.Loader;

/// <summary>The parts of an ELF64 x86-64 file that loading needs: header, program headers, interpreter.</summary>
public sealed class ElfImage
{
    public const uint PtLoad = 1, PtInterp = 3, PtPhdr = 6;
    public const uint PfExecute = 1, PfWrite = 2, PfRead = 4;

    public required bool IsDynamic { get; init; } // ET_DYN: position independent
    public required ulong Entry { get; init; }
    public required ulong ProgramHeaderOffset { get; init; }
    public required IReadOnlyList<ProgramHeader> ProgramHeaders { get; init; }
    public string? Interpreter { get; init; }

    public IEnumerable<ProgramHeader> LoadSegments => ProgramHeaders.Where(h => h.Type == PtLoad);

    /// <summary>Parses the file; throws <see cref="InvalidDataException"/> with a one-line reason when it is not loadable.</summary>
    public static ElfImage Read(Stream file)
    {
        Span<byte> header = stackalloc byte[64];
        if (file.ReadAtLeast(header, 64, throwOnEndOfStream: false) < 64 || !header[..4].SequenceEqual("\u007fELF"u8))
            throw new InvalidDataException("not an ELF file");
        if (header[4] != 2 || header[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        var type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        if (machine != 62)
            throw new InvalidDataException($"ELF machine {machine} is not x86-64");
        if (type is not (2 or 3))
            throw new InvalidDataException("ELF file is neither an executable nor a shared object");
        var phoff = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(header[54..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(header[56..]);
        if (phentsize != 56 || phnum == 0 || phnum > 512)
            throw new InvalidDataException("ELF program headers are malformed");

        var table = new byte[phnum * 56];
        file.Position = (long)phoff;
        file.ReadExactly(table);
        var headers = new List<ProgramHeader>(phnum);
        for (var i = 0; i < phnum; i++)
        {
            var entry = table.AsSpan(i * 56, 56);
            headers.Add(new ProgramHeader(
                BinaryPrimitives.ReadUInt32LittleEndian(entry),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[40..])));
        }
        if (!headers.Any(h => h.Type == PtLoad))
            throw new InvalidDataException("ELF file has no loadable segment");

        string? interpreter = null;
        var interp = headers.FirstOrDefault(h => h.Type == PtInterp);
        if (interp.Type == PtInterp)
        {
            if (interp.FileSize is 0 or > 4096)
                throw new InvalidDataException("ELF interpreter path is malformed");
            var path = new byte[interp.FileSize];
            file.Position = (long)interp.Offset;
            file.ReadExactly(path);
            interpreter = System.Text.Encoding.UTF8.GetString(path).TrimEnd('\0');
        }

        return new ElfImage
        {
            IsDynamic = type == 3,
            Entry = BinaryPrimitives.ReadUInt64LittleEndian(header[24..]),
            ProgramHeaderOffset = phoff,
            ProgramHeaders = headers,
            Interpreter = interpreter,
        };
    }
}

public readonly record struct ProgramHeader(uint Type, uint Flags, ulong Offset, ulong VirtualAddress, ulong FileSize, ulong MemorySize);
