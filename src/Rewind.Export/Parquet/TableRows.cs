using System.Runtime.InteropServices;
using System.Text;
using Rewind.Trace.Positions;

namespace Rewind.Export.Parquet;

/// <summary>
/// The rows of one table waiting to be written as a row group: one array per column, of a fixed
/// capacity, reused after each row group. Columns are reached by ordinal and typed once, so that
/// the code that fills them per instruction or per access only stores into arrays. Strings are
/// interned (most columns hold a handful of distinct values: access kinds, syscall names, image
/// paths) and kept as UTF-8 in native memory for the writer; nulls are marked per row.
/// </summary>
internal sealed unsafe class TableRows : IDisposable
{
    readonly object[] _values;
    readonly bool[]?[] _present;
    readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal);
    readonly List<(nint Bytes, int Length)> _strings = [];
    byte[] _arena = new byte[1 << 16];
    int _arenaUsed;

    public TableRows(ExportTable table, int capacity)
    {
        Table = table;
        Capacity = capacity;
        _values = new object[table.Columns.Count];
        _present = new bool[]?[table.Columns.Count];
        for (var i = 0; i < table.Columns.Count; i++)
        {
            var column = table.Columns[i];
            _values[i] = column.Kind switch
            {
                ColumnKind.Int64 or ColumnKind.UInt64 => new long[capacity],
                ColumnKind.Int32 => new int[capacity],
                ColumnKind.Boolean => new bool[capacity],
                ColumnKind.String => new int[capacity],
                _ => new (int Offset, int Length)[capacity],
            };
            if (column.Nullable && column.Kind != ColumnKind.String && column.Kind != ColumnKind.Bytes)
                _present[i] = new bool[capacity];
        }
    }

    public ExportTable Table { get; }

    public int Capacity { get; }

    public int Count { get; set; }

    public bool Full => Count >= Capacity;

    public long[] Longs(int column) => (long[])_values[column];

    public int[] Ints(int column) => (int[])_values[column];

    public bool[] Bools(int column) => (bool[])_values[column];

    /// <summary>String columns hold ids from <see cref="Intern"/>; -1 is null.</summary>
    public int[] StringIds(int column) => (int[])_values[column];

    /// <summary>Which rows of a nullable number column have a value.</summary>
    public bool[] Present(int column) => _present[column] ?? throw new InvalidOperationException($"{Table.Columns[column].Name} is not nullable");

    /// <summary>The id of <paramref name="text"/> in this table's strings (-1 for null).</summary>
    public int Intern(string? text)
    {
        if (text is null)
            return -1;
        if (_stringIds.TryGetValue(text, out var id))
            return id;
        var bytes = Encoding.UTF8.GetBytes(text);
        var native = (nint)NativeMemory.Alloc((nuint)Math.Max(1, bytes.Length));
        bytes.CopyTo(new Span<byte>((void*)native, bytes.Length));
        _strings.Add((native, bytes.Length));
        _stringIds[text] = id = _strings.Count - 1;
        return id;
    }

    public (nint Bytes, int Length) StringBytes(int id) => _strings[id];

    /// <summary>Sets a bytes column of row <paramref name="row"/> (null when <paramref name="bytes"/> is empty and <paramref name="isNull"/>).</summary>
    public void SetBytes(int column, int row, ReadOnlySpan<byte> bytes, bool isNull = false)
    {
        var cells = (ValueTuple<int, int>[])_values[column];
        if (isNull)
        {
            cells[row] = (0, -1);
            return;
        }
        if (_arenaUsed + bytes.Length > _arena.Length)
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaUsed + bytes.Length));
        bytes.CopyTo(_arena.AsSpan(_arenaUsed));
        cells[row] = (_arenaUsed, bytes.Length);
        _arenaUsed += bytes.Length;
    }

    /// <summary>A bytes column: each row's place in <see cref="Arena"/> (length -1: null).</summary>
    public (int Offset, int Length)[] BytesCells(int column) => ((int, int)[])_values[column];

    public byte[] Arena => _arena;

    /// <summary>Fills the sequence and steps columns (1 and 2) from instr_count (0).</summary>
    public void FillPositions(Timeline timeline)
    {
        var instructions = Longs(0);
        var sequences = Longs(1);
        var steps = Longs(2);
        // Rows mostly come in execution order: walk the timeline forward, searching only when a row goes back.
        var position = Count > 0 ? timeline.At(instructions[0]) : default;
        var sequenceStart = position.Instruction - position.Steps;
        var sequenceEnd = timeline.SequenceEnd(position.Sequence);
        for (var i = 0; i < Count; i++)
        {
            var instruction = instructions[i];
            if (instruction < sequenceStart || instruction >= sequenceEnd)
            {
                position = timeline.At(instruction);
                sequenceStart = position.Instruction - position.Steps;
                sequenceEnd = timeline.SequenceEnd(position.Sequence);
            }
            sequences[i] = position.Sequence;
            steps[i] = instruction - sequenceStart;
        }
    }

    /// <summary>Moves row <paramref name="from"/> to <paramref name="to"/> (below it), shifting the rows between up by one.</summary>
    public void MoveRowUp(int from, int to)
    {
        for (var c = 0; c < _values.Length; c++)
        {
            Shift((Array)_values[c], from, to);
            if (_present[c] is { } present)
                Shift(present, from, to);
        }
    }

    static void Shift(Array values, int from, int to)
    {
        var moved = values.GetValue(from);
        Array.Copy(values, to, values, to + 1, from - to);
        values.SetValue(moved, to);
    }

    /// <summary>Empties the rows for the next row group (the interned strings stay).</summary>
    public void Clear()
    {
        Count = 0;
        _arenaUsed = 0;
    }

    public void Dispose()
    {
        foreach (var (bytes, _) in _strings)
            NativeMemory.Free((void*)bytes);
        _strings.Clear();
        _stringIds.Clear();
    }
}
