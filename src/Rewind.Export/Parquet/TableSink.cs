using System.Globalization;
using Rewind.Trace.Positions;

namespace Rewind.Export.Parquet;

/// <summary>Where an export's files go: <c>DIR/TABLE/segment=N/part-0.parquet</c>, Hive style.</summary>
public sealed class DatasetLayout(string folder)
{
    public string Folder { get; } = folder;

    public string TableFolder(ExportTable table) => Path.Combine(Folder, table.Name);

    public string PartPath(ExportTable table, int segment) =>
        Path.Combine(TableFolder(table), "segment=" + segment.ToString(CultureInfo.InvariantCulture), "part-0.parquet");
}

/// <summary>
/// The rows of one table for the segment being exported: rows go to <see cref="Rows"/>; a full
/// buffer becomes a row group of the segment's file (so memory stays bounded), and <see cref="End"/>
/// writes the rest and puts the file in place. A segment that gave the table no rows gets no file,
/// unless asked for one (so that every table of an export has a file, and with it its schema).
/// </summary>
internal sealed class TableSink : IDisposable
{
    readonly DatasetLayout _layout;
    readonly Timeline _timeline;
    readonly Dictionary<string, string> _metadata;
    ParquetPart? _part;
    int _segment = -1;

    public TableSink(ExportTable table, DatasetLayout layout, Timeline timeline, IReadOnlyDictionary<string, string> metadata, int rowGroup)
    {
        Rows = new TableRows(table, rowGroup);
        _layout = layout;
        _timeline = timeline;
        _metadata = new Dictionary<string, string>(metadata) { ["rewind.table"] = table.Name };
    }

    public TableRows Rows { get; }

    public ExportTable Table => Rows.Table;

    /// <summary>Rows written so far, over all segments.</summary>
    public long Written { get; private set; }

    public void Begin(int segment)
    {
        _segment = segment;
        Rows.Clear();
    }

    /// <summary>Writes the rows gathered so far as a row group of the segment's file.</summary>
    public void Flush()
    {
        if (Rows.Count == 0)
            return;
        Rows.FillPositions(_timeline);
        Part().Write(Rows);
        Written += Rows.Count;
        Rows.Clear();
    }

    ParquetPart Part()
    {
        if (_part is null)
        {
            var metadata = new Dictionary<string, string>(_metadata) { ["rewind.segment"] = _segment.ToString(CultureInfo.InvariantCulture) };
            _part = new ParquetPart(_layout.PartPath(Table, _segment), Table, metadata);
        }
        return _part;
    }

    /// <summary>Ends the segment: writes what is left and puts its file in place.</summary>
    public void End(bool fileEvenIfEmpty = false)
    {
        Flush();
        if (_part is null && fileEvenIfEmpty)
            Part();
        _part?.Commit();
        _part?.Dispose();
        _part = null;
    }

    public void Dispose()
    {
        _part?.Dispose();
        Rows.Dispose();
    }
}
