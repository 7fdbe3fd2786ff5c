using System.Buffers.Binary;

namespace Rewind.Query.Symbols;

/// <summary>
/// A module's unwind table (.eh_frame, the call frame information every x86-64 compiler emits for
/// C and C++ code): for a code address, how to find the caller's frame from the registers there.
/// Neither ELF library on NuGet reads it (ELFSharp gives the section's bytes, LibObjectFile none of
/// it), so this parses CIEs and FDEs and runs their CFA programs, with the DWARF expressions that
/// PLT entries use.
/// </summary>
internal sealed class CallFrameTable
{
    /// <summary>DWARF register numbers on x86-64.</summary>
    public const int Rbp = 6, Rsp = 7, ReturnAddress = 16, Registers = 17;

    readonly byte[] _section;
    readonly ulong _address;
    readonly (ulong Start, ulong End, int Fde)[] _entries;

    CallFrameTable(byte[] section, ulong address, (ulong, ulong, int)[] entries) => (_section, _address, _entries) = (section, address, entries);

    /// <summary>Reads the .eh_frame of <paramref name="image"/> (addresses moved by <paramref name="bias"/>); null when there is none or it is damaged.</summary>
    public static CallFrameTable? Read(ElfImage image, ulong bias)
    {
        if (!image.TryGetSection(".eh_frame", out var address, out var section))
            return null;
        try
        {
            var entries = new List<(ulong, ulong, int)>();
            for (var offset = 0; offset + 4 <= section.Length;)
            {
                var (length, body) = RecordLength(section, offset);
                if (length == 0)
                    break;
                var idAt = offset + body;
                var next = checked(idAt + (int)length);
                if (next > section.Length)
                    break;
                var id = BinaryPrimitives.ReadUInt32LittleEndian(section.AsSpan(idAt));
                if (id != 0)
                {
                    var cie = Cie.Read(section, address, idAt - (int)id);
                    var r = new Cursor(section, address, idAt + 4);
                    var start = r.Pointer(cie.PointerEncoding);
                    var range = r.Pointer((byte)(cie.PointerEncoding & 0x0f));
                    if (start != 0)
                        entries.Add((start + bias, start + bias + range, offset));
                }
                offset = next;
            }
            entries.Sort((a, b) => a.Item1.CompareTo(b.Item1));
            return new CallFrameTable(section, address, [.. entries]);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidDataException or OverflowException)
        {
            return null;
        }
    }

    static (long Length, int Body) RecordLength(byte[] section, int offset)
    {
        var length = BinaryPrimitives.ReadUInt32LittleEndian(section.AsSpan(offset));
        return length == 0xffffffff ? ((long)BinaryPrimitives.ReadUInt64LittleEndian(section.AsSpan(offset + 4)), 12) : (length, 4);
    }

    /// <summary>
    /// One step up the stack: from the registers of a frame whose code is at <paramref name="pc"/>,
    /// the caller's (its return address in <see cref="ReturnAddress"/>, its stack pointer in
    /// <see cref="Rsp"/>). False when the table does not cover the address or a rule cannot be followed.
    /// </summary>
    public bool TryUnwind(ulong pc, ulong bias, ulong?[] registers, Func<ulong, ulong?> read)
    {
        var index = Find(pc);
        if (index < 0)
            return false;
        try
        {
            var (start, _, fdeOffset) = _entries[index];
            var (length, body) = RecordLength(_section, fdeOffset);
            var idAt = fdeOffset + body;
            var cie = Cie.Read(_section, _address, idAt - (int)BinaryPrimitives.ReadUInt32LittleEndian(_section.AsSpan(idAt)));
            var r = new Cursor(_section, _address, idAt + 4);
            r.Pointer(cie.PointerEncoding);
            r.Pointer((byte)(cie.PointerEncoding & 0x0f));
            if (cie.HasAugmentationData)
                r.Position += (int)r.Uleb();
            var row = new Row();
            var initial = Run(cie, cie.Instructions, cie.InstructionsEnd, row, null, start, pc, bias);
            Run(cie, r.Position, idAt + (int)length, row, initial, start, pc, bias);
            return Apply(row, registers, read);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidDataException or OverflowException)
        {
            return false;
        }
    }

    int Find(ulong pc)
    {
        int low = 0, high = _entries.Length - 1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            if (_entries[middle].Start <= pc)
                low = middle + 1;
            else
                high = middle - 1;
        }
        return high >= 0 && pc < _entries[high].End ? high : -1;
    }

    enum RuleKind : byte { Unchanged, Undefined, Offset, ValueOffset, Register, Expression, ValueExpression }

    struct Rule
    {
        public RuleKind Kind;
        public long Value;
        public int ExpressionStart, ExpressionEnd;
    }

    sealed class Row
    {
        public int CfaRegister = Rsp;
        public long CfaOffset = 8;
        public int CfaExpressionStart = -1, CfaExpressionEnd;
        public Rule[] Rules = new Rule[Registers];

        public Row Copy() => new() { CfaRegister = CfaRegister, CfaOffset = CfaOffset, CfaExpressionStart = CfaExpressionStart, CfaExpressionEnd = CfaExpressionEnd, Rules = (Rule[])Rules.Clone() };
    }

    /// <summary>Runs CFA instructions from <paramref name="from"/> to <paramref name="to"/> while the location stays at or below <paramref name="pc"/>; returns the row after them (the CIE's initial rules).</summary>
    Row Run(Cie cie, int from, int to, Row row, Row? initial, ulong location, ulong pc, ulong bias)
    {
        var r = new Cursor(_section, _address, from);
        var saved = new Stack<Row>();
        while (r.Position < to)
        {
            var op = r.U8();
            var low = op & 0x3f;
            switch (op >> 6)
            {
                case 1:
                    location += (ulong)low * cie.CodeAlignment;
                    if (location > pc)
                        return row;
                    continue;
                case 2:
                    Set(row, low, RuleKind.Offset, (long)r.Uleb() * cie.DataAlignment);
                    continue;
                case 3:
                    Restore(row, initial, low);
                    continue;
            }
            switch (op)
            {
                case 0x00:
                    break;
                case 0x01:
                    location = r.Pointer(cie.PointerEncoding) + bias;
                    if (location > pc)
                        return row;
                    break;
                case 0x02 or 0x03 or 0x04:
                    location += (op == 0x02 ? r.U8() : op == 0x03 ? r.U16() : r.U32()) * cie.CodeAlignment;
                    if (location > pc)
                        return row;
                    break;
                case 0x05:
                    Set(row, (int)r.Uleb(), RuleKind.Offset, (long)r.Uleb() * cie.DataAlignment);
                    break;
                case 0x06:
                    Restore(row, initial, (int)r.Uleb());
                    break;
                case 0x07:
                    Set(row, (int)r.Uleb(), RuleKind.Undefined, 0);
                    break;
                case 0x08:
                    Set(row, (int)r.Uleb(), RuleKind.Unchanged, 0);
                    break;
                case 0x09:
                    Set(row, (int)r.Uleb(), RuleKind.Register, (long)r.Uleb());
                    break;
                case 0x0a:
                    saved.Push(row.Copy());
                    break;
                case 0x0b:
                    if (saved.Count > 0)
                    {
                        var restored = saved.Pop();
                        (row.CfaRegister, row.CfaOffset, row.CfaExpressionStart, row.CfaExpressionEnd, row.Rules) =
                            (restored.CfaRegister, restored.CfaOffset, restored.CfaExpressionStart, restored.CfaExpressionEnd, restored.Rules);
                    }
                    break;
                case 0x0c:
                    (row.CfaRegister, row.CfaOffset, row.CfaExpressionStart) = ((int)r.Uleb(), (long)r.Uleb(), -1);
                    break;
                case 0x0d:
                    (row.CfaRegister, row.CfaExpressionStart) = ((int)r.Uleb(), -1);
                    break;
                case 0x0e:
                    row.CfaOffset = (long)r.Uleb();
                    break;
                case 0x0f:
                    var length = (int)r.Uleb();
                    (row.CfaExpressionStart, row.CfaExpressionEnd) = (r.Position, r.Position + length);
                    r.Position += length;
                    break;
                case 0x10 or 0x16:
                    var register = (int)r.Uleb();
                    var size = (int)r.Uleb();
                    if (register < Registers)
                        row.Rules[register] = new Rule { Kind = op == 0x10 ? RuleKind.Expression : RuleKind.ValueExpression, ExpressionStart = r.Position, ExpressionEnd = r.Position + size };
                    r.Position += size;
                    break;
                case 0x11:
                    Set(row, (int)r.Uleb(), RuleKind.Offset, r.Sleb() * cie.DataAlignment);
                    break;
                case 0x12:
                    (row.CfaRegister, row.CfaOffset, row.CfaExpressionStart) = ((int)r.Uleb(), r.Sleb() * cie.DataAlignment, -1);
                    break;
                case 0x13:
                    row.CfaOffset = r.Sleb() * cie.DataAlignment;
                    break;
                case 0x14:
                    Set(row, (int)r.Uleb(), RuleKind.ValueOffset, (long)r.Uleb() * cie.DataAlignment);
                    break;
                case 0x15:
                    Set(row, (int)r.Uleb(), RuleKind.ValueOffset, r.Sleb() * cie.DataAlignment);
                    break;
                case 0x2e:
                    r.Uleb();
                    break;
                case 0x2f:
                    Set(row, (int)r.Uleb(), RuleKind.Offset, -(long)r.Uleb() * cie.DataAlignment);
                    break;
                default:
                    throw new InvalidDataException($"unknown call frame instruction 0x{op:x}");
            }
        }
        return row.Copy();
    }

    static void Set(Row row, int register, RuleKind kind, long value)
    {
        if (register < Registers)
            row.Rules[register] = new Rule { Kind = kind, Value = value };
    }

    static void Restore(Row row, Row? initial, int register)
    {
        if (register < Registers)
            row.Rules[register] = initial?.Rules[register] ?? default;
    }

    bool Apply(Row row, ulong?[] registers, Func<ulong, ulong?> read)
    {
        ulong cfa;
        if (row.CfaExpressionStart >= 0)
        {
            if (Evaluate(row.CfaExpressionStart, row.CfaExpressionEnd, registers, read, null) is not { } value)
                return false;
            cfa = value;
        }
        else
        {
            if (row.CfaRegister >= Registers || registers[row.CfaRegister] is not { } baseValue)
                return false;
            cfa = baseValue + (ulong)row.CfaOffset;
        }
        var caller = new ulong?[Registers];
        for (var register = 0; register < Registers; register++)
        {
            var rule = row.Rules[register];
            caller[register] = rule.Kind switch
            {
                RuleKind.Unchanged => register == ReturnAddress ? null : registers[register],
                RuleKind.Offset => read(cfa + (ulong)rule.Value),
                RuleKind.ValueOffset => cfa + (ulong)rule.Value,
                RuleKind.Register => rule.Value < Registers ? registers[rule.Value] : null,
                RuleKind.Expression => Evaluate(rule.ExpressionStart, rule.ExpressionEnd, registers, read, cfa) is { } at ? read(at) : null,
                RuleKind.ValueExpression => Evaluate(rule.ExpressionStart, rule.ExpressionEnd, registers, read, cfa),
                _ => null,
            };
        }
        caller[Rsp] = cfa;
        Array.Copy(caller, registers, Registers);
        return registers[ReturnAddress] is not null;
    }

    /// <summary>A DWARF expression of the kinds unwind tables use (register plus offset, constants, arithmetic, dereference).</summary>
    ulong? Evaluate(int from, int to, ulong?[] registers, Func<ulong, ulong?> read, ulong? pushed)
    {
        var stack = new Stack<ulong>();
        if (pushed is { } initial)
            stack.Push(initial);
        var r = new Cursor(_section, _address, from);
        while (r.Position < to)
        {
            var op = r.U8();
            switch (op)
            {
                case >= 0x30 and <= 0x4f:
                    stack.Push((ulong)(op - 0x30));
                    break;
                case >= 0x50 and <= 0x6f:
                    if (op - 0x50 >= Registers || registers[op - 0x50] is not { } register)
                        return null;
                    stack.Push(register);
                    break;
                case >= 0x70 and <= 0x8f:
                    if (op - 0x70 >= Registers || registers[op - 0x70] is not { } baseValue)
                        return null;
                    stack.Push(baseValue + (ulong)r.Sleb());
                    break;
                case 0x06:
                    if (read(stack.Pop()) is not { } value)
                        return null;
                    stack.Push(value);
                    break;
                case 0x08:
                    stack.Push(r.U8());
                    break;
                case 0x09:
                    stack.Push((ulong)(sbyte)r.U8());
                    break;
                case 0x0a:
                    stack.Push(r.U16());
                    break;
                case 0x0c:
                    stack.Push(r.U32());
                    break;
                case 0x10:
                    stack.Push(r.Uleb());
                    break;
                case 0x11:
                    stack.Push((ulong)r.Sleb());
                    break;
                case 0x12:
                    stack.Push(stack.Peek());
                    break;
                case 0x1a:
                    stack.Push(stack.Pop() & stack.Pop());
                    break;
                case 0x1c:
                    var subtrahend = stack.Pop();
                    stack.Push(stack.Pop() - subtrahend);
                    break;
                case 0x22:
                    stack.Push(stack.Pop() + stack.Pop());
                    break;
                case 0x23:
                    stack.Push(stack.Pop() + r.Uleb());
                    break;
                case 0x24:
                    var shift = (int)stack.Pop();
                    stack.Push(stack.Pop() << shift);
                    break;
                case 0x2a:
                    var right = (long)stack.Pop();
                    stack.Push((long)stack.Pop() >= right ? 1UL : 0UL);
                    break;
                default:
                    return null;
            }
        }
        return stack.Count > 0 ? stack.Pop() : null;
    }

    /// <summary>A CIE: alignment factors, the pointer encoding of its FDEs and where its initial instructions lie.</summary>
    sealed record Cie(ulong CodeAlignment, long DataAlignment, byte PointerEncoding, bool HasAugmentationData, int Instructions, int InstructionsEnd)
    {
        /// <summary>Reads the CIE whose length field is at <paramref name="start"/> (where an FDE's CIE pointer leads).</summary>
        public static Cie Read(byte[] section, ulong address, int start)
        {
            var (length, body) = RecordLength(section, start);
            var idAt = start + body;
            var end = checked(idAt + (int)length);
            var r = new Cursor(section, address, idAt + 4);
            var version = r.U8();
            var augmentation = r.CString();
            if (augmentation.Contains("eh", StringComparison.Ordinal))
                r.Position += 8;
            var codeAlignment = r.Uleb();
            var dataAlignment = r.Sleb();
            if (version == 1)
                r.U8();
            else
                r.Uleb();
            byte encoding = 0;
            var hasData = augmentation.StartsWith('z');
            if (hasData)
            {
                var dataLength = (int)r.Uleb();
                var dataEnd = r.Position + dataLength;
                foreach (var letter in augmentation.AsSpan(1))
                {
                    switch (letter)
                    {
                        case 'R':
                            encoding = r.U8();
                            break;
                        case 'L':
                            r.U8();
                            break;
                        case 'P':
                            r.Pointer(r.U8());
                            break;
                    }
                }
                r.Position = dataEnd;
            }
            return new Cie(codeAlignment, dataAlignment, encoding, hasData, r.Position, end);
        }
    }

    /// <summary>Reads .eh_frame: little-endian numbers, LEB128 and pointers in the DW_EH_PE encodings.</summary>
    struct Cursor(byte[] bytes, ulong address, int position)
    {
        public int Position = position;

        ReadOnlySpan<byte> Take(int count)
        {
            var span = bytes.AsSpan(Position, count);
            Position += count;
            return span;
        }

        public byte U8() => Take(1)[0];
        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public ulong Uleb()
        {
            long position = Position;
            var value = Leb128.Unsigned(bytes, ref position);
            Position = (int)position;
            return value;
        }

        public long Sleb()
        {
            long position = Position;
            var value = Leb128.Signed(bytes, ref position);
            Position = (int)position;
            return value;
        }

        public string CString()
        {
            var end = Array.IndexOf(bytes, (byte)0, Position);
            if (end < 0)
                throw new InvalidDataException("an unterminated string in .eh_frame");
            var text = System.Text.Encoding.ASCII.GetString(bytes, Position, end - Position);
            Position = end + 1;
            return text;
        }

        /// <summary>A pointer in encoding <paramref name="encoding"/>: pc-relative ones relative to the field's link-time address.</summary>
        public ulong Pointer(byte encoding)
        {
            if (encoding == 0xff)
                return 0;
            var fieldAddress = address + (ulong)Position;
            ulong value = (encoding & 0x0f) switch
            {
                0x00 => BinaryPrimitives.ReadUInt64LittleEndian(Take(8)),
                0x01 => Uleb(),
                0x02 => U16(),
                0x03 => U32(),
                0x04 => BinaryPrimitives.ReadUInt64LittleEndian(Take(8)),
                0x09 => (ulong)Sleb(),
                0x0a => (ulong)BinaryPrimitives.ReadInt16LittleEndian(Take(2)),
                0x0b => (ulong)BinaryPrimitives.ReadInt32LittleEndian(Take(4)),
                0x0c => BinaryPrimitives.ReadUInt64LittleEndian(Take(8)),
                _ => throw new InvalidDataException($"unknown pointer encoding 0x{encoding:x}"),
            };
            if ((encoding & 0x70) == 0x10)
                value += fieldAddress;
            return value;
        }
    }
}
