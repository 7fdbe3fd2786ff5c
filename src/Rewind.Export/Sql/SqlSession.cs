using System.Data.Common;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;

namespace Rewind.Export.Sql;

/// <summary>
/// SQL over a trace's tables with DuckDB embedded: each exported table is a view over its Parquet
/// files (with the segment column from the folder names), and the tables a query names are
/// exported into the trace's <see cref="ExportCache"/> the first time one asks for them. The macro
/// <c>ttd_position(sequence, steps)</c> prints a position as TTD does (5D:113).
/// </summary>
/// <example>
/// <code>
/// using var sql = SqlSession.Open("run.rwd");
/// using var reader = sql.Query("SELECT access, count(*) FROM memory GROUP BY 1");
/// </code>
/// </example>
public sealed partial class SqlSession : IDisposable
{
    readonly TraceExport _export;
    readonly ExportCache _cache;
    readonly DuckDBConnection _connection;
    readonly HashSet<ExportTable> _views = [];

    SqlSession(TraceExport export)
    {
        _export = export;
        _cache = ExportCache.For(export);
        _connection = new DuckDBConnection("DataSource=:memory:");
        try
        {
            _connection.Open();
            Execute("CREATE MACRO ttd_position(sequence, steps) AS printf('%X:%X', sequence, steps)");
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    /// <summary>Opens the trace at <paramref name="path"/>; a file that is not a readable trace is a <see cref="Trace.TraceFormatException"/>.</summary>
    public static SqlSession Open(string path)
    {
        var export = TraceExport.Open(path);
        try
        {
            return new SqlSession(export);
        }
        catch
        {
            export.Dispose();
            throw;
        }
    }

    /// <summary>The trace file.</summary>
    public Trace.TraceReader Trace => _export.Trace;

    /// <summary>Where the exported tables are kept.</summary>
    public string CacheFolder => _cache.Folder;

    /// <summary>The tables that <paramref name="sql"/> names (as whole words) and that are not exported yet.</summary>
    public IReadOnlyList<ExportTable> Missing(string sql) => [.. Named(sql).Except(_cache.Cached)];

    static IEnumerable<ExportTable> Named(string sql)
    {
        var words = Word().Matches(sql).Select(m => m.Value.ToLowerInvariant()).ToHashSet();
        return ExportSchema.Tables.Where(t => words.Contains(t.Name));
    }

    /// <summary>
    /// Runs <paramref name="sql"/>, exporting first the tables it names that are not cached (reporting
    /// to <paramref name="progress"/>). A query DuckDB rejects is a <see cref="SqlException"/> with its message.
    /// </summary>
    public DbDataReader Query(string sql, IProgress<ExportProgress>? progress = null, CancellationToken cancellation = default)
    {
        var named = Named(sql).ToList();
        _cache.Ensure(_export, named, progress, cancellation);
        foreach (var table in _cache.Cached)
        {
            if (_views.Add(table))
            {
                var files = Path.Combine(_cache.TableFolder(table), "*", "*.parquet").Replace("'", "''", StringComparison.Ordinal);
                Execute($"CREATE VIEW {table.Name} AS SELECT * FROM read_parquet('{files}', hive_partitioning = true)");
            }
        }
        try
        {
            var command = _connection.CreateCommand();
            command.CommandText = sql;
            return command.ExecuteReader();
        }
        catch (DuckDBException e)
        {
            throw new SqlException(e.Message.Trim(), e);
        }
    }

    void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [GeneratedRegex(@"[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex Word();

    public void Dispose()
    {
        _connection.Dispose();
        _export.Dispose();
    }
}

/// <summary>A query that DuckDB could not run: its message says why.</summary>
public sealed class SqlException(string message, Exception inner) : Exception(message, inner);
