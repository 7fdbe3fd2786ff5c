using System.Globalization;
using DuckDB.NET.Data;

namespace Rewind.Export.Tests;

/// <summary>
/// An exported dataset read with DuckDB's own Parquet reader, in the test's process: the files are
/// all it sees of what rewind wrote. Each table is a view with the segment column from the folder names.
/// </summary>
public sealed class Dataset : IDisposable
{
    readonly DuckDBConnection _connection = new("DataSource=:memory:");

    public Dataset(string folder)
    {
        _connection.Open();
        Views("", folder);
    }

    /// <summary>Another dataset's tables as views named OTHER_TABLE, to compare with.</summary>
    public void Attach(string prefix, string folder) => Views(prefix + "_", folder);

    /// <summary>A view for each table the folder holds.</summary>
    void Views(string prefix, string folder)
    {
        foreach (var table in ExportSchema.Tables.Where(t => Directory.Exists(Path.Combine(folder, t.Name))))
            Execute($"CREATE VIEW {prefix}{table.Name} AS SELECT * FROM read_parquet('{Path.Combine(folder, table.Name)}/*/*.parquet', hive_partitioning = true)");
    }

    public void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The rows of <paramref name="sql"/>, each value as DuckDB.NET gives it.</summary>
    public List<object?[]> Rows(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    public long Count(string sql) => Convert.ToInt64(Rows(sql)[0][0], CultureInfo.InvariantCulture);

    public void Dispose() => _connection.Dispose();
}
