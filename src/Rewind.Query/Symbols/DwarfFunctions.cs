using System.Buffers.Binary;
using System.Text;

namespace Rewind.Query.Symbols;

/// <summary>A parameter as DWARF declares it: its name and its C type (<c>const char *</c>).</summary>
public sealed record FunctionParameter(string Name, string Type);

/// <summary>A function's declared parameters, in order; <see cref="Variadic"/> when it takes more (<c>...</c>).</summary>
public sealed record FunctionSignature(string Name, IReadOnlyList<FunctionParameter> Parameters, string ReturnType, bool Variadic);

/// <summary>
/// The parameters of every function that has code, read from .debug_info (DWARF 4 and 5, as GCC
/// and Clang write them): each DW_TAG_subprogram with a low_pc, its DW_TAG_formal_parameter
/// children, and their types followed through pointers, const, typedefs and structs to a C name.
/// Out-of-line copies of inline functions take names and types from their abstract origin.
/// LibObjectFile's DWARF reader (the one on NuGet) stops at DWARF 5's line table, which every
/// recent GCC writes, so this reads the few parts it needs itself.
/// </summary>
internal sealed class DwarfFunctions
{
    readonly Dictionary<ulong, FunctionSignature> _byAddress;

    DwarfFunctions(Dictionary<ulong, FunctionSignature> byAddress) => _byAddress = byAddress;

    public int Count => _byAddress.Count;

    /// <summary>The function whose code starts at <paramref name="address"/> (a run-time address), or null.</summary>
    public FunctionSignature? At(ulong address) => _byAddress.GetValueOrDefault(address);

    /// <summary>Reads the functions of <paramref name="image"/> (addresses moved by <paramref name="bias"/>); null when it has no usable DWARF.</summary>
    public static DwarfFunctions? Read(ElfImage image, ulong bias)
    {
        if (!image.TryGetSection(".debug_info", out _, out var info) || !image.TryGetSection(".debug_abbrev", out _, out var abbrev))
            return null;
        try
        {
            var reader = new Parser(image, info, abbrev);
            reader.ReadAll();
            return new DwarfFunctions(reader.Functions(bias));
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidDataException or OverflowException)
        {
            // Damaged or of a kind not read here: the functions go without parameter names.
            return null;
        }
    }

    const int TagArray = 0x01, TagClass = 0x02, TagEnumeration = 0x04, TagFormalParameter = 0x05, TagPointer = 0x0f, TagReference = 0x10,
        TagStructure = 0x13, TagSubroutine = 0x15, TagTypedef = 0x16, TagUnion = 0x17, TagUnspecifiedParameters = 0x18, TagBase = 0x24,
        TagConst = 0x26, TagSubprogram = 0x2e, TagVolatile = 0x35, TagRestrict = 0x37, TagRvalueReference = 0x42, TagAtomic = 0x47;

    const int AtName = 0x03, AtLowPc = 0x11, AtAbstractOrigin = 0x31, AtSpecification = 0x47, AtType = 0x49, AtStrOffsetsBase = 0x72, AtAddrBase = 0x73;

    sealed class Die
    {
        public int Tag;
        public string? Name;
        public long Type = -1;
        public long Origin = -1;
        public ulong? LowPc;
        public List<long>? Parameters;
        public bool Variadic;
    }

    readonly record struct Attribute(int Name, int Form, long ImplicitConst);

    readonly record struct Abbreviation(int Tag, bool HasChildren, Attribute[] Attributes);

    sealed class Parser(ElfImage image, byte[] info, byte[] abbrev)
    {
        readonly Dictionary<long, Die> _dies = [];
        readonly byte[] _str = Section(image, ".debug_str");
        readonly byte[] _lineStr = Section(image, ".debug_line_str");
        readonly byte[] _strOffsets = Section(image, ".debug_str_offsets");
        readonly byte[] _addr = Section(image, ".debug_addr");

        static byte[] Section(ElfImage image, string name) => image.TryGetSection(name, out _, out var bytes) ? bytes : [];

        public void ReadAll()
        {
            var offset = 0L;
            while (offset + 11 <= info.Length)
                offset = ReadUnit(offset);
        }

        long ReadUnit(long start)
        {
            var r = new Reader(info, start);
            var length = (long)r.U32();
            var offsetSize = 4;
            if (length == 0xffffffff)
                (length, offsetSize) = ((long)r.U64(), 8);
            var end = r.Position + length;
            if (length <= 0 || end > info.Length)
                throw new InvalidDataException("a unit runs past .debug_info");
            var version = r.U16();
            long abbrevOffset;
            int addressSize;
            if (version >= 5)
            {
                var unitType = r.U8();
                addressSize = r.U8();
                abbrevOffset = r.Offset(offsetSize);
                if (unitType is 4 or 5) // skeleton, split_compile: a dwo_id
                    r.Skip(8);
                else if (unitType is 2 or 6) // type units: their DIEs are not functions
                    return end;
            }
            else if (version is >= 2 and <= 4)
            {
                abbrevOffset = r.Offset(offsetSize);
                addressSize = r.U8();
            }
            else
            {
                return end; // a version this reader does not know: skip the unit
            }
            var abbreviations = ReadAbbreviations(abbrevOffset);
            var unit = new UnitState(start, offsetSize, addressSize);
            var parents = new Stack<Die?>();
            while (r.Position < end)
            {
                var dieOffset = r.Position;
                var code = r.Uleb();
                if (code == 0)
                {
                    if (parents.Count > 0)
                        parents.Pop();
                    continue;
                }
                if (!abbreviations.TryGetValue(code, out var abbreviation))
                    throw new InvalidDataException($"unknown abbreviation {code}");
                var die = ReadDie(ref r, abbreviation, unit);
                var parent = parents.Count > 0 ? parents.Peek() : null;
                if (die is not null)
                {
                    _dies[dieOffset] = die;
                    if (parent is { Tag: TagSubprogram or TagSubroutine } && die.Tag == TagFormalParameter)
                        (parent.Parameters ??= []).Add(dieOffset);
                }
                if (parent is { Tag: TagSubprogram or TagSubroutine } && abbreviation.Tag == TagUnspecifiedParameters)
                    parent.Variadic = true;
                if (abbreviation.HasChildren)
                    parents.Push(die);
            }
            return end;
        }

        sealed class UnitState(long start, int offsetSize, int addressSize)
        {
            public long Start { get; } = start;
            public int OffsetSize { get; } = offsetSize;
            public int AddressSize { get; } = addressSize;
            public long StrOffsetsBase { get; set; } = 8;
            public long AddrBase { get; set; } = 8;
        }

        Dictionary<ulong, Abbreviation> ReadAbbreviations(long offset)
        {
            var table = new Dictionary<ulong, Abbreviation>();
            var r = new Reader(abbrev, offset);
            while (true)
            {
                var code = r.Uleb();
                if (code == 0)
                    return table;
                var tag = (int)r.Uleb();
                var children = r.U8() != 0;
                var attributes = new List<Attribute>();
                while (true)
                {
                    var (name, form) = ((int)r.Uleb(), (int)r.Uleb());
                    if (name == 0 && form == 0)
                        break;
                    attributes.Add(new Attribute(name, form, form == 0x21 ? r.Sleb() : 0));
                }
                table[code] = new Abbreviation(tag, children, [.. attributes]);
            }
        }

        static bool Kept(int tag) => tag is TagSubprogram or TagFormalParameter or TagBase or TagPointer or TagReference or TagRvalueReference
            or TagConst or TagVolatile or TagRestrict or TagAtomic or TagTypedef or TagStructure or TagUnion or TagClass or TagEnumeration
            or TagArray or TagSubroutine;

        Die? ReadDie(ref Reader r, Abbreviation abbreviation, UnitState unit)
        {
            var die = Kept(abbreviation.Tag) ? new Die { Tag = abbreviation.Tag } : null;
            var isUnit = abbreviation.Tag is 0x11 or 0x41; // compile_unit, skeleton_unit: their bases come first
            foreach (var attribute in abbreviation.Attributes)
            {
                var form = attribute.Form;
                if (form == 0x16) // indirect
                    form = (int)r.Uleb();
                var wanted = die is not null && attribute.Name is AtName or AtLowPc or AtType or AtAbstractOrigin or AtSpecification
                    || isUnit && attribute.Name is AtStrOffsetsBase or AtAddrBase;
                if (!wanted)
                {
                    SkipForm(ref r, form, unit);
                    continue;
                }
                switch (attribute.Name)
                {
                    case AtName:
                        die!.Name = ReadString(ref r, form, unit);
                        break;
                    case AtLowPc:
                        die!.LowPc = ReadAddress(ref r, form, unit);
                        break;
                    case AtType:
                        die!.Type = ReadReference(ref r, form, unit);
                        break;
                    case AtAbstractOrigin or AtSpecification:
                        die!.Origin = ReadReference(ref r, form, unit);
                        break;
                    case AtStrOffsetsBase:
                        unit.StrOffsetsBase = (long)ReadConstant(ref r, form, unit, attribute.ImplicitConst);
                        break;
                    case AtAddrBase:
                        unit.AddrBase = (long)ReadConstant(ref r, form, unit, attribute.ImplicitConst);
                        break;
                }
            }
            return die;
        }

        string? ReadString(ref Reader r, int form, UnitState unit)
        {
            switch (form)
            {
                case 0x08:
                    return r.CString();
                case 0x0e:
                    return Reader.CStringAt(_str, r.Offset(unit.OffsetSize));
                case 0x1f:
                    return Reader.CStringAt(_lineStr, r.Offset(unit.OffsetSize));
                case 0x1a or 0x25 or 0x26 or 0x27 or 0x28 or 0x1f02:
                    var index = form switch { 0x25 => r.U8(), 0x26 => r.U16(), 0x27 => r.U24(), 0x28 => r.U32(), _ => (long)r.Uleb() };
                    var at = unit.StrOffsetsBase + index * unit.OffsetSize;
                    var offset = unit.OffsetSize == 8 ? (long)BinaryPrimitives.ReadUInt64LittleEndian(_strOffsets.AsSpan((int)at)) : BinaryPrimitives.ReadUInt32LittleEndian(_strOffsets.AsSpan((int)at));
                    return Reader.CStringAt(_str, offset);
                default:
                    SkipForm(ref r, form, unit);
                    return null;
            }
        }

        ulong? ReadAddress(ref Reader r, int form, UnitState unit)
        {
            switch (form)
            {
                case 0x01:
                    return unit.AddressSize == 8 ? r.U64() : r.U32();
                case 0x1b or 0x29 or 0x2a or 0x2b or 0x2c or 0x1f01:
                    var index = form switch { 0x29 => r.U8(), 0x2a => r.U16(), 0x2b => r.U24(), 0x2c => r.U32(), _ => (long)r.Uleb() };
                    var at = (int)(unit.AddrBase + index * unit.AddressSize);
                    return unit.AddressSize == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(_addr.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(_addr.AsSpan(at));
                default:
                    SkipForm(ref r, form, unit);
                    return null;
            }
        }

        static long ReadReference(ref Reader r, int form, UnitState unit) => form switch
        {
            0x11 => unit.Start + r.U8(),
            0x12 => unit.Start + r.U16(),
            0x13 => unit.Start + r.U32(),
            0x14 => unit.Start + (long)r.U64(),
            0x15 => unit.Start + (long)r.Uleb(),
            0x10 => r.Offset(unit.OffsetSize),
            _ => Skipped(ref r, form, unit),
        };

        static long Skipped(ref Reader r, int form, UnitState unit)
        {
            SkipForm(ref r, form, unit);
            return -1;
        }

        static ulong ReadConstant(ref Reader r, int form, UnitState unit, long implicitConst) => form switch
        {
            0x0b => r.U8(),
            0x05 => r.U16(),
            0x06 => r.U32(),
            0x07 => r.U64(),
            0x0f => r.Uleb(),
            0x17 => (ulong)r.Offset(unit.OffsetSize),
            0x21 => (ulong)implicitConst,
            _ => (ulong)Skipped(ref r, form, unit),
        };

        static void SkipForm(ref Reader r, int form, UnitState unit)
        {
            switch (form)
            {
                case 0x01: r.Skip(unit.AddressSize); break;
                case 0x03: r.Skip(r.U16()); break;
                case 0x04: r.Skip(r.U32()); break;
                case 0x05 or 0x12 or 0x26 or 0x2a: r.Skip(2); break;
                case 0x06 or 0x13 or 0x1c or 0x28 or 0x2c: r.Skip(4); break;
                case 0x07 or 0x14 or 0x20 or 0x24: r.Skip(8); break;
                case 0x08: r.CString(); break;
                case 0x09 or 0x18: r.Skip((long)r.Uleb()); break;
                case 0x0a: r.Skip(r.U8()); break;
                case 0x0b or 0x0c or 0x11 or 0x25 or 0x29: r.Skip(1); break;
                case 0x0d: r.Sleb(); break;
                case 0x0e or 0x10 or 0x17 or 0x1d or 0x1f or 0x1f20 or 0x1f21: r.Skip(unit.OffsetSize); break;
                case 0x0f or 0x15 or 0x1a or 0x1b or 0x22 or 0x23 or 0x1f01 or 0x1f02: r.Uleb(); break;
                case 0x16: SkipForm(ref r, (int)r.Uleb(), unit); break;
                case 0x19 or 0x21: break;
                case 0x1e: r.Skip(16); break;
                case 0x27 or 0x2b: r.Skip(3); break;
                default: throw new InvalidDataException($"unknown DWARF form 0x{form:x}");
            }
        }

        public Dictionary<ulong, FunctionSignature> Functions(ulong bias)
        {
            var functions = new Dictionary<ulong, FunctionSignature>();
            foreach (var die in _dies.Values)
            {
                if (die.Tag != TagSubprogram || die.LowPc is not { } low || low == 0)
                    continue;
                var declared = Origin(die);
                var parameters = die.Parameters ?? declared.Parameters ?? [];
                var list = parameters.Select(p => _dies.GetValueOrDefault(p)).OfType<Die>()
                    .Select(p => new FunctionParameter(NameOf(p) ?? "", TypeName(TypeOf(p), 0)))
                    .ToArray();
                functions.TryAdd(low + bias, new FunctionSignature(NameOf(die) ?? "", list, TypeName(TypeOf(die), 0), die.Variadic || declared.Variadic));
            }
            return functions;
        }

        /// <summary>The declaration an out-of-line or concrete copy refers to (itself when none).</summary>
        Die Origin(Die die)
        {
            for (var depth = 0; depth < 4 && die.Origin >= 0 && _dies.TryGetValue(die.Origin, out var origin); depth++)
                die = origin;
            return die;
        }

        string? NameOf(Die die)
        {
            for (var depth = 0; depth < 4; depth++)
            {
                if (die.Name is not null)
                    return die.Name;
                if (die.Origin < 0 || !_dies.TryGetValue(die.Origin, out var origin))
                    return null;
                die = origin;
            }
            return null;
        }

        long TypeOf(Die die)
        {
            for (var depth = 0; depth < 4; depth++)
            {
                if (die.Type >= 0)
                    return die.Type;
                if (die.Origin < 0 || !_dies.TryGetValue(die.Origin, out var origin))
                    return -1;
                die = origin;
            }
            return -1;
        }

        string TypeName(long offset, int depth)
        {
            if (offset < 0)
                return "void";
            if (depth > 8 || !_dies.TryGetValue(offset, out var type))
                return "?";
            var inner = type.Type;
            return type.Tag switch
            {
                TagPointer => Suffix(TypeName(inner, depth + 1), "*"),
                TagReference => Suffix(TypeName(inner, depth + 1), "&"),
                TagRvalueReference => Suffix(TypeName(inner, depth + 1), "&&"),
                TagConst => "const " + TypeName(inner, depth + 1),
                TagVolatile => "volatile " + TypeName(inner, depth + 1),
                TagAtomic => "_Atomic " + TypeName(inner, depth + 1),
                TagRestrict => TypeName(inner, depth + 1),
                TagArray => Suffix(TypeName(inner, depth + 1), "[]"),
                TagStructure => "struct " + (type.Name ?? "(anonymous)"),
                TagUnion => "union " + (type.Name ?? "(anonymous)"),
                TagEnumeration => "enum " + (type.Name ?? "(anonymous)"),
                TagClass => type.Name ?? "(anonymous class)",
                TagSubroutine => "function",
                _ => type.Name ?? "?",
            };
        }

        static string Suffix(string type, string suffix) => type.EndsWith('*') || type.EndsWith('&') ? type + suffix : type + " " + suffix;
    }

    /// <summary>Little-endian reads with LEB128, bounds-checked by the spans (a damaged section throws).</summary>
    ref struct Reader(byte[] bytes, long position)
    {
        readonly byte[] _bytes = bytes;

        public long Position { get; private set; } = position;

        public void Skip(long count)
        {
            if (count < 0 || Position + count > _bytes.Length)
                throw new InvalidDataException("a DWARF entry runs past its section");
            Position += count;
        }

        ReadOnlySpan<byte> Take(int count)
        {
            var span = _bytes.AsSpan(checked((int)Position), count);
            Position += count;
            return span;
        }

        public byte U8() => Take(1)[0];
        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        public long U24()
        {
            var b = Take(3);
            return b[0] | (b[1] << 8) | (b[2] << 16);
        }
        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        public long Offset(int size) => size == 8 ? (long)U64() : U32();

        public ulong Uleb()
        {
            var position = Position;
            var value = Leb128.Unsigned(_bytes, ref position);
            Position = position;
            return value;
        }

        public long Sleb()
        {
            var position = Position;
            var value = Leb128.Signed(_bytes, ref position);
            Position = position;
            return value;
        }

        public string CString()
        {
            var start = checked((int)Position);
            var end = Array.IndexOf(_bytes, (byte)0, start);
            if (end < 0)
                throw new InvalidDataException("a DWARF string is not terminated");
            Position = end + 1;
            return Encoding.UTF8.GetString(_bytes, start, end - start);
        }

        public static string? CStringAt(byte[] section, long offset)
        {
            if (offset < 0 || offset >= section.Length)
                return null;
            var end = Array.IndexOf(section, (byte)0, (int)offset);
            return end < 0 ? null : Encoding.UTF8.GetString(section, (int)offset, end - (int)offset);
        }
    }
}
