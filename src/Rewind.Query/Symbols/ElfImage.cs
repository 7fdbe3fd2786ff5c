using System.Buffers.Binary;
using System.IO.Compression;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;
using ELFSharp.ELF.Segments;

namespace Rewind.Query.Symbols;

/// <summary>What a symbol names: code or data.</summary>
public enum SymbolKind
{
    Function,
    Object,
}

/// <summary>A symbol as the ELF file has it: its link-time address (st_value), size, kind and binding (0 local, 1 global, 2 weak).</summary>
internal readonly record struct ElfSymbol(string Name, ulong Value, ulong Size, SymbolKind Kind, int Binding);

/// <summary>
/// The parts of an ELF file that symbols need, read with ELFSharp: whether it is position
/// independent and its link base, its build-id and .gnu_debuglink, the function and object symbols
/// of .symtab and .dynsym, and the sections that hold DWARF and unwind tables (decompressed when
/// SHF_COMPRESSED, as Debian's debug files store them).
/// </summary>
internal sealed class ElfImage
{
    const ulong Compressed = 0x800; // SHF_COMPRESSED
    const int IndirectFunction = 10; // STT_GNU_IFUNC: a resolver, named like the function it picks

    readonly Dictionary<string, (ulong Address, byte[] Bytes)> _sections;

    ElfImage(bool positionIndependent, ulong linkBase, string? buildId, string? debugLink, IReadOnlyList<ElfSymbol> symbols, bool hasSymbolTable,
        Dictionary<string, (ulong Address, byte[] Bytes)> sections)
    {
        PositionIndependent = positionIndependent;
        LinkBase = linkBase;
        BuildId = buildId;
        DebugLink = debugLink;
        Symbols = symbols;
        HasSymbolTable = hasSymbolTable;
        _sections = sections;
    }

    /// <summary>ET_DYN (a shared library or a PIE): its addresses are relative to where it is loaded.</summary>
    public bool PositionIndependent { get; }

    /// <summary>The page of the lowest loadable segment's address: what the load base corresponds to.</summary>
    public ulong LinkBase { get; }

    /// <summary>The GNU build-id note as lower-case hex; null when there is none.</summary>
    public string? BuildId { get; }

    /// <summary>The file name in .gnu_debuglink, for debug files found by name.</summary>
    public string? DebugLink { get; }

    public IReadOnlyList<ElfSymbol> Symbols { get; }

    /// <summary>Whether the file has a .symtab (a stripped file has .dynsym alone).</summary>
    public bool HasSymbolTable { get; }

    /// <summary>A section's link-time address and contents; false when the file lacks it (or it holds no bytes).</summary>
    public bool TryGetSection(string name, out ulong address, out byte[] bytes)
    {
        if (_sections.TryGetValue(name, out var section) && section.Bytes.Length > 0)
        {
            (address, bytes) = section;
            return true;
        }
        (address, bytes) = (0, []);
        return false;
    }

    public bool HasSection(string name) => TryGetSection(name, out _, out _);

    /// <summary>Reads an x86-64 ELF file; null with a one-line <paramref name="error"/> when it is not one or is damaged.</summary>
    public static ElfImage? TryRead(byte[] file, out string? error)
    {
        try
        {
            return Read(file, out error);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A damaged file can make the parser fail in many ways; symbols are then missing, nothing else.
            error = $"cannot read the ELF file: {e.Message}";
            return null;
        }
    }

    static ElfImage? Read(byte[] file, out string? error)
    {
        if (!ELFReader.TryLoad<ulong>(new MemoryStream(file, writable: false), true, out var elf) || elf.Machine != Machine.AMD64)
        {
            error = "not an x86-64 ELF file";
            return null;
        }
        using (elf)
        {
            var loads = elf.Segments.Where(s => s.Type == SegmentType.Load).ToList();
            var linkBase = loads.Count == 0 ? 0 : loads.Min(s => s.Address) & ~0xfffUL;
            var sections = new Dictionary<string, (ulong, byte[])>(StringComparer.Ordinal);
            string? buildId = null, debugLink = null;
            var symbols = new List<ElfSymbol>();
            var hasSymbolTable = false;
            foreach (var section in elf.Sections)
            {
                if (section.Type == SectionType.NoBits || section.Type == SectionType.Null)
                    continue;
                if (section is NoteSection<ulong> note && note.NoteName == "GNU" && note.NoteType == 3 /* NT_GNU_BUILD_ID */)
                    buildId = Convert.ToHexStringLower(note.Description);
                if (section is SymbolTable<ulong> table)
                {
                    hasSymbolTable |= section.Type == SectionType.SymbolTable;
                    AddSymbols(table, symbols);
                    continue;
                }
                if (section.Name is ".gnu_debuglink" or ".eh_frame" or ".eh_frame_hdr" || section.Name.StartsWith(".debug_", StringComparison.Ordinal))
                {
                    var bytes = section.GetContents();
                    if ((section.RawFlags & Compressed) != 0)
                        bytes = Decompress(bytes);
                    sections[section.Name] = (section.LoadAddress, bytes);
                    if (section.Name == ".gnu_debuglink")
                        debugLink = System.Text.Encoding.UTF8.GetString(bytes.AsSpan(0, Math.Max(0, Array.IndexOf(bytes, (byte)0))));
                }
            }
            error = null;
            return new ElfImage(elf.Type == FileType.SharedObject, linkBase, buildId, debugLink, symbols, hasSymbolTable, sections);
        }
    }

    static void AddSymbols(SymbolTable<ulong> table, List<ElfSymbol> symbols)
    {
        foreach (var entry in table.Entries)
        {
            if (entry.Value == 0 || string.IsNullOrEmpty(entry.Name) || entry.PointedSectionIndex == 0 /* undefined: another file's */)
                continue;
            var kind = entry.Type switch
            {
                SymbolType.Function => SymbolKind.Function,
                SymbolType.Object => SymbolKind.Object,
                _ when (int)entry.Type == IndirectFunction => SymbolKind.Function,
                _ => (SymbolKind?)null,
            };
            if (kind is { } known)
                symbols.Add(new ElfSymbol(entry.Name, entry.Value, entry.Size, known, (int)entry.Binding));
        }
    }

    /// <summary>A SHF_COMPRESSED section: an Elf64_Chdr (type 1 is zlib), then the compressed bytes.</summary>
    static byte[] Decompress(byte[] bytes)
    {
        if (bytes.Length < 24 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != 1)
            return [];
        var size = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8));
        if (size > int.MaxValue)
            return [];
        var output = new byte[size];
        using var zlib = new ZLibStream(new MemoryStream(bytes, 24, bytes.Length - 24), CompressionMode.Decompress);
        zlib.ReadExactly(output);
        return output;
    }
}
