using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Rewind.Query.Dx;

namespace Rewind.Export.Sql;

/// <summary>How <c>rewind sql</c> prints a result.</summary>
public enum SqlFormat
{
    /// <summary>A grid like dx -g; column widths come from the first rows, the rest stream.</summary>
    Grid,
    /// <summary>RFC 4180 CSV with a header line.</summary>
    Csv,
    /// <summary>One JSON object per row.</summary>
    Jsonl,
}

/// <summary>Writes a query's rows as they come, in one of the <see cref="SqlFormat"/>s.</summary>
public static class SqlOutput
{
    /// <summary>Rows read before a grid's widths are fixed.</summary>
    const int GridSample = 1000;

    public static long Write(DbDataReader reader, SqlFormat format, Stream output) => format switch
    {
        SqlFormat.Csv => WriteCsv(reader, output),
        SqlFormat.Jsonl => WriteJsonl(reader, output),
        _ => WriteGrid(reader, output),
    };

    static string[] Names(DbDataReader reader) => [.. Enumerable.Range(0, reader.FieldCount).Select(reader.GetName)];

    /// <summary>A value as text: numbers in decimal, blobs in hex (0x...), null as "null".</summary>
    public static string Text(DbDataReader reader, int column)
    {
        if (reader.IsDBNull(column))
            return "null";
        return reader.GetValue(column) switch
        {
            bool flag => flag ? "true" : "false",
            byte[] bytes => "0x" + Convert.ToHexStringLower(bytes),
            Stream stream => "0x" + Convert.ToHexStringLower(ReadAll(stream)),
            IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
            var value => value.ToString() ?? "",
        };
    }

    static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    static long WriteGrid(DbDataReader reader, Stream output)
    {
        using var text = new StreamWriter(output, leaveOpen: true);
        var names = Names(reader);
        var sample = new List<string[]>();
        var more = true;
        while (sample.Count < GridSample && (more = reader.Read()))
            sample.Add(Row(reader));
        var widths = names.Select((_, c) => sample.Count == 0 ? 0 : sample.Max(r => r[c].Length)).ToArray();
        var grid = new DxGridWriter(names, widths);
        foreach (var line in grid.Header())
            text.WriteLine(line);
        long rows = 0;
        foreach (var row in sample)
        {
            text.WriteLine(grid.Row(row));
            rows++;
        }
        while (more && reader.Read())
        {
            text.WriteLine(grid.Row(Row(reader)));
            rows++;
        }
        text.WriteLine(grid.Border);
        return rows;
    }

    static string[] Row(DbDataReader reader) => [.. Enumerable.Range(0, reader.FieldCount).Select(c => Text(reader, c))];

    static long WriteCsv(DbDataReader reader, Stream output)
    {
        using var text = new StreamWriter(output, leaveOpen: true);
        text.WriteLine(string.Join(',', Names(reader).Select(Quote)));
        long rows = 0;
        while (reader.Read())
        {
            var cells = new string[reader.FieldCount];
            for (var c = 0; c < cells.Length; c++)
                cells[c] = reader.IsDBNull(c) ? "" : Quote(Text(reader, c));
            text.WriteLine(string.Join(',', cells));
            rows++;
        }
        return rows;
    }

    static string Quote(string cell) =>
        cell.AsSpan().IndexOfAny(",\"\r\n") < 0 ? cell : "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    static long WriteJsonl(DbDataReader reader, Stream output)
    {
        var names = Names(reader);
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        long rows = 0;
        while (reader.Read())
        {
            writer.WriteStartObject();
            for (var c = 0; c < names.Length; c++)
            {
                writer.WritePropertyName(names[c]);
                WriteValue(writer, reader, c);
            }
            writer.WriteEndObject();
            writer.Flush();
            output.WriteByte((byte)'\n');
            writer.Reset();
            rows++;
        }
        return rows;
    }

    static void WriteValue(Utf8JsonWriter writer, DbDataReader reader, int column)
    {
        if (reader.IsDBNull(column))
        {
            writer.WriteNullValue();
            return;
        }
        switch (reader.GetValue(column))
        {
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case long or int or short or sbyte or byte or ulong or uint or ushort or decimal or System.Numerics.BigInteger:
                // Written as the number's own digits: 64-bit values stay exact.
                writer.WriteRawValue(Encoding.UTF8.GetBytes(Text(reader, column)), skipInputValidation: true);
                break;
            case double or float when double.IsFinite(Convert.ToDouble(reader.GetValue(column), CultureInfo.InvariantCulture)):
                writer.WriteRawValue(Encoding.UTF8.GetBytes(Text(reader, column)), skipInputValidation: true);
                break;
            default:
                writer.WriteStringValue(Text(reader, column));
                break;
        }
    }
}
