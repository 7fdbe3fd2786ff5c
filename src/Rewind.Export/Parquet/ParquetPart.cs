using System.Runtime.InteropServices;
using ParquetSharp;
using ParquetSharp.Schema;

namespace Rewind.Export.Parquet;

/// <summary>
/// One Parquet file of a table, written a row group at a time through ParquetSharp's physical
/// column writers (its typed "logical" writers build code by reflection, which Native AOT cannot
/// run). The file is written under a temporary name created exclusively in the same folder and
/// renamed into place by <see cref="Commit"/>, so that readers never see half a file; disposing
/// without committing removes it. Counts that grow along the rows are delta-encoded, other columns
/// dictionary-encoded (Arrow falls back to plain encoding for a column whose dictionary grows too
/// large), every page compressed with zstd.
/// </summary>
internal sealed unsafe class ParquetPart : IDisposable
{
    readonly string _path;
    readonly string _temporary;
    readonly FileStream _stream;
    readonly ParquetFileWriter _writer;
    readonly ExportTable _table;
    short[] _levels = [];
    ByteArray[] _byteArrays = [];
    long[] _longs = [];
    int[] _ints = [];
    bool[] _bools = [];
    bool _committed;

    public ParquetPart(string path, ExportTable table, IReadOnlyDictionary<string, string> metadata)
    {
        _path = path;
        _table = table;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _temporary = $"{path}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp";
        _stream = new FileStream(_temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        try
        {
            using var schema = Schema(table);
            using var properties = Properties(table);
            _writer = new ParquetFileWriter(_stream, schema, properties, metadata, leaveOpen: true);
        }
        catch
        {
            _stream.Dispose();
            File.Delete(_temporary);
            throw;
        }
    }

    public long Rows { get; private set; }

    static GroupNode Schema(ExportTable table)
    {
        var fields = new Node[table.Columns.Count];
        for (var i = 0; i < fields.Length; i++)
        {
            var column = table.Columns[i];
            var repetition = column.Nullable ? Repetition.Optional : Repetition.Required;
            using var logical = column.Kind switch
            {
                ColumnKind.Int64 => LogicalType.Int(64, isSigned: true),
                ColumnKind.UInt64 => LogicalType.Int(64, isSigned: false),
                ColumnKind.Int32 => LogicalType.Int(32, isSigned: true),
                ColumnKind.String => LogicalType.String(),
                _ => LogicalType.None(),
            };
            var physical = column.Kind switch
            {
                ColumnKind.Int64 or ColumnKind.UInt64 => PhysicalType.Int64,
                ColumnKind.Int32 => PhysicalType.Int32,
                ColumnKind.Boolean => PhysicalType.Boolean,
                _ => PhysicalType.ByteArray,
            };
            fields[i] = new PrimitiveNode(column.Name, repetition, logical, physical);
        }
        try
        {
            return new GroupNode("schema", Repetition.Required, fields);
        }
        finally
        {
            foreach (var field in fields)
                field.Dispose();
        }
    }

    static WriterProperties Properties(ExportTable table)
    {
        using var builder = new WriterPropertiesBuilder();
        builder.Compression(Compression.Zstd).CompressionLevel(1).CreatedBy("rewind export");
        foreach (var column in table.Columns)
        {
            if (column.Delta)
                builder.DisableDictionary(column.Name).Encoding(column.Name, Encoding.DeltaBinaryPacked);
        }
        return builder.Build();
    }

    /// <summary>Writes <paramref name="rows"/> as one row group (nothing when there are none).</summary>
    public void Write(TableRows rows)
    {
        var count = rows.Count;
        if (count == 0)
            return;
        EnsureScratch(count);
        using var group = _writer.AppendRowGroup();
        for (var c = 0; c < _table.Columns.Count; c++)
        {
            var column = _table.Columns[c];
            using var writer = group.NextColumn();
            switch (column.Kind)
            {
                case ColumnKind.Int64 or ColumnKind.UInt64:
                    WriteNumbers((ColumnWriter<long>)writer, rows.Longs(c), column.Nullable ? rows.Present(c) : null, count, _longs);
                    break;
                case ColumnKind.Int32:
                    WriteNumbers((ColumnWriter<int>)writer, rows.Ints(c), column.Nullable ? rows.Present(c) : null, count, _ints);
                    break;
                case ColumnKind.Boolean:
                    WriteNumbers((ColumnWriter<bool>)writer, rows.Bools(c), column.Nullable ? rows.Present(c) : null, count, _bools);
                    break;
                case ColumnKind.String:
                    WriteStrings((ColumnWriter<ByteArray>)writer, rows, c, count, column.Nullable);
                    break;
                default:
                    WriteBytes((ColumnWriter<ByteArray>)writer, rows, c, count, column.Nullable);
                    break;
            }
        }
        Rows += count;
    }

    void EnsureScratch(int count)
    {
        if (_levels.Length >= count)
            return;
        _levels = new short[count];
        _byteArrays = new ByteArray[count];
        _longs = new long[count];
        _ints = new int[count];
        _bools = new bool[count];
    }

    /// <summary>A number column; for a nullable one, the definition levels and only the values that are there.</summary>
    void WriteNumbers<T>(ColumnWriter<T> writer, T[] values, bool[]? present, int count, T[] packed) where T : unmanaged
    {
        if (present is null)
        {
            writer.WriteBatch(values.AsSpan(0, count));
            return;
        }
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            _levels[i] = present[i] ? (short)1 : (short)0;
            if (present[i])
                packed[n++] = values[i];
        }
        writer.WriteBatch(count, _levels.AsSpan(0, count), default, packed.AsSpan(0, n));
    }

    void WriteStrings(ColumnWriter<ByteArray> writer, TableRows rows, int column, int count, bool nullable)
    {
        var ids = rows.StringIds(column);
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            var id = ids[i];
            _levels[i] = id >= 0 ? (short)1 : (short)0;
            if (id >= 0)
            {
                var (bytes, length) = rows.StringBytes(id);
                _byteArrays[n++] = new ByteArray(bytes, length);
            }
            else if (!nullable)
            {
                throw new InvalidOperationException($"{_table.Name}.{_table.Columns[column].Name} is null in a row");
            }
        }
        if (nullable)
            writer.WriteBatch(count, _levels.AsSpan(0, count), default, _byteArrays.AsSpan(0, n));
        else
            writer.WriteBatch(_byteArrays.AsSpan(0, n));
    }

    void WriteBytes(ColumnWriter<ByteArray> writer, TableRows rows, int column, int count, bool nullable)
    {
        var cells = rows.BytesCells(column);
        fixed (byte* arena = rows.Arena)
        {
            var n = 0;
            for (var i = 0; i < count; i++)
            {
                var (offset, length) = cells[i];
                _levels[i] = length >= 0 ? (short)1 : (short)0;
                if (length >= 0)
                    _byteArrays[n++] = new ByteArray((nint)(arena + offset), length);
            }
            if (nullable)
                writer.WriteBatch(count, _levels.AsSpan(0, count), default, _byteArrays.AsSpan(0, n));
            else
                writer.WriteBatch(_byteArrays.AsSpan(0, n));
        }
    }

    /// <summary>Finishes the file and puts it in place (replacing an older file of the same part).</summary>
    public void Commit()
    {
        _writer.Close();
        _stream.Flush(flushToDisk: false);
        _stream.Dispose();
        File.Move(_temporary, _path, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        _writer.Dispose();
        _stream.Dispose();
        if (!_committed)
            File.Delete(_temporary);
    }
}
