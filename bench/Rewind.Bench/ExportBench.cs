using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Spectre.Console;

namespace Rewind.Bench;

/// <summary>One table of the export: its rows and the bytes of its files.</summary>
internal sealed record ExportedTable(string Name, long Rows, long Bytes)
{
    public double BytesPerRow => Rows == 0 ? 0 : (double)Bytes / Rows;
}

/// <summary>Everything bench/run --export measured.</summary>
internal sealed record ExportResults(string Program, long Instructions, Cost Export, IReadOnlyList<ExportedTable> Tables, double FirstQuerySeconds,
    Cost Query, long MemoryRows, string QueryText, string QueryOutput, int Runs)
{
    /// <summary>The goal for the query over the memory table (with 100 M rows or more), start-up included.</summary>
    public const double QueryTarget = 2.0;

    public long Rows => Tables.Sum(t => t.Rows);

    public double RowsPerCpuSecond => Rows / Export.CpuSeconds;

    public bool Met => Query.WallSeconds <= QueryTarget;

    public string Method => Runs == 1 ? "one run of each" : string.Create(CultureInfo.InvariantCulture, $"each figure the best of {Runs} runs");
}

/// <summary>
/// bench/run --export: rewind export of every table for sha256sum (rows per CPU-second, which is per
/// core, and bytes per row), then rewind sql's top-ten written addresses over the memory table of the
/// same trace, which has more than 100 M rows in full (the first query exports the table into the
/// cache beside the trace; the timed ones read it), against the goal of 2 s.
/// </summary>
internal sealed partial class ExportBench(BenchOptions options, string rewind, string work)
{
    const string TopWrites = "SELECT address, count(*) FROM memory WHERE access='w' GROUP BY 1 ORDER BY 2 DESC LIMIT 10";

    readonly TimeSpan _timeout = TimeSpan.FromSeconds(options.TimeoutSeconds * 4);

    /// <summary>Input size: 2 MB in full (about 110 M instructions and over 100 M memory rows), 256 KB with --quick.</summary>
    int InputBytes => options.Quick ? 256 << 10 : 2 << 20;

    public ExportResults Measure()
    {
        var folder = Path.Combine(work, "export");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "input.bin"), Generate.RandomBytes(InputBytes, seed: 1));
        var sha256sum = HostTools.Find("sha256sum") ?? throw new BenchException("--export needs sha256sum");
        var trace = Path.Combine(folder, "sha256sum.rwd");
        Run(new Invocation([rewind, "record", "-o", trace, "--", sha256sum, "input.bin"], folder));
        var instructions = Instructions(trace);

        var export = Cost.None;
        var dataset = Path.Combine(folder, "dataset");
        var stdout = "";
        for (var round = 1; round <= options.Runs; round++)
        {
            if (Directory.Exists(dataset))
                Directory.Delete(dataset, recursive: true);
            using var output = new MemoryStream();
            var result = Run(new Invocation([rewind, "export", trace, "-o", dataset], folder), output);
            stdout = Encoding.UTF8.GetString(output.ToArray());
            Report("export, all tables", round, result);
            export = export.Best(result);
        }
        var tables = RowsLine().Matches(stdout).Select(m => new ExportedTable(m.Groups[1].Value,
            long.Parse(m.Groups[2].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture),
            Directory.EnumerateFiles(Path.Combine(dataset, m.Groups[1].Value), "*.parquet", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length))).ToList();
        Directory.Delete(dataset, recursive: true);

        var first = Run(new Invocation([rewind, "sql", trace, TopWrites], folder));
        Report("sql, first (exports memory)", 1, first);
        var query = Cost.None;
        var answer = "";
        for (var round = 1; round <= options.Runs; round++)
        {
            using var output = new MemoryStream();
            var result = Run(new Invocation([rewind, "sql", trace, TopWrites], folder), output);
            answer = Encoding.UTF8.GetString(output.ToArray());
            Report("sql, top written addresses", round, result);
            query = query.Best(result);
        }
        using var count = new MemoryStream();
        Run(new Invocation([rewind, "sql", trace, "SELECT count(*) FROM memory", "--format", "csv"], folder), count);
        var memoryRows = long.Parse(Encoding.UTF8.GetString(count.ToArray()).Split('\n')[1], CultureInfo.InvariantCulture);
        return new ExportResults($"sha256sum of {InputBytes >> 10} KB", instructions, export, tables, first.Seconds, query, memoryRows, TopWrites, answer, options.Runs);
    }

    void Report(string what, int round, RunResult result) =>
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"  {Markup.Escape(what),-30} run {round} of {options.Runs}: CPU {Cell.FormatSeconds(result.CpuSeconds)}, wall {Cell.FormatSeconds(result.Seconds)}"));

    long Instructions(string trace)
    {
        using var output = new MemoryStream();
        Run(new Invocation([rewind, "info", "--json", trace], work), output);
        using var info = System.Text.Json.JsonDocument.Parse(output.ToArray());
        return info.RootElement.GetProperty("instructions").GetInt64();
    }

    RunResult Run(Invocation invocation, Stream? output = null)
    {
        var result = ProcessRunner.Run(invocation, _timeout, output);
        if (result.TimedOut || result.ExitCode != 0)
            throw new BenchException($"{invocation.Display} failed: {(result.TimedOut ? "timed out" : result.LastError)}");
        return result;
    }

    [GeneratedRegex(@"^(\w+): ([\d,]+) rows$", RegexOptions.Multiline)]
    private static partial Regex RowsLine();

    static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    static string Verdict(ExportResults r) =>
        F($"The query over {r.MemoryRows:N0} memory rows took {r.Query.WallSeconds:F2} s: target under {ExportResults.QueryTarget:F0} s{(r.MemoryRows < 100_000_000 ? " (on 100 M rows or more: this run has fewer)" : "")}, {(r.Met ? "met" : "missed")}");

    static List<string[]> Rows(ExportResults r)
    {
        var rows = new List<string[]>
        {
            new[] { "export: instructions replayed", F($"{r.Instructions:N0}") },
            new[] { "export: CPU time (user + sys), wall time", F($"{Cell.FormatSeconds(r.Export.CpuSeconds)}, {Cell.FormatSeconds(r.Export.WallSeconds)}") },
            new[] { "export: rows per CPU-second (per core)", F($"{r.RowsPerCpuSecond / 1e6:F2} M") },
            new[] { "export: rows per second (wall)", F($"{r.Rows / r.Export.WallSeconds / 1e6:F2} M") },
        };
        foreach (var table in r.Tables)
            rows.Add([F($"table {table.Name}: rows, bytes per row"), F($"{table.Rows:N0}, {table.BytesPerRow:F2}")]);
        rows.Add(["all tables: bytes per row", F($"{(double)r.Tables.Sum(t => t.Bytes) / r.Rows:F2}")]);
        rows.Add(["sql: first query, exporting memory", Cell.FormatSeconds(r.FirstQuerySeconds)]);
        rows.Add(["sql: top written addresses, wall (CPU)", F($"{Cell.FormatSeconds(r.Query.WallSeconds)} ({Cell.FormatSeconds(r.Query.CpuSeconds)})")]);
        return rows;
    }

    public static void WriteTable(ExportResults results)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("").AddColumn(new TableColumn("").RightAligned());
        foreach (var row in Rows(results))
            table.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[dim]{Markup.Escape(results.Program)}; {results.Method}, start-up included[/]");
        AnsiConsole.MarkupLine(results.Met ? $"[green]{Markup.Escape(Verdict(results))}[/]" : $"[red]{Markup.Escape(Verdict(results))}[/]");
    }

    public static string Markdown(ExportResults results, Machine machine, DateTimeOffset date)
    {
        var md = new StringBuilder();
        md.Append("# Rewind: export and SQL\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Machine: {machine.Line}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Date: {date:yyyy-MM-dd HH:mm} UTC\n");
        md.Append(CultureInfo.InvariantCulture, $"- Program: `{results.Program}`, recorded, then `rewind export TRACE -o DIR` (every table, one worker per core)\n");
        md.Append(CultureInfo.InvariantCulture, $"- Query: `rewind sql TRACE \"{results.QueryText}\"` with the memory table in the cache beside the trace\n");
        md.Append(CultureInfo.InvariantCulture, $"- Method: {results.Method}, start-up included; CPU time is the user + system time of the rewind process\n\n");
        md.Append("| | |\n|---|---:|\n");
        foreach (var row in Rows(results))
            md.Append(CultureInfo.InvariantCulture, $"| {string.Join(" | ", row)} |\n");
        md.Append(CultureInfo.InvariantCulture, $"\n{Verdict(results)}.\n\nThe query's answer:\n\n```\n{results.QueryOutput}```\n");
        return md.ToString();
    }

    public static string Json(ExportResults results, DateTimeOffset date)
    {
        using var buffer = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("date", date);
            json.WriteString("program", results.Program);
            json.WriteNumber("runs", results.Runs);
            json.WriteNumber("instructions", results.Instructions);
            json.WriteNumber("exportCpuSeconds", results.Export.CpuSeconds);
            json.WriteNumber("exportWallSeconds", results.Export.WallSeconds);
            json.WriteNumber("rowsPerCpuSecond", results.RowsPerCpuSecond);
            json.WriteStartArray("tables");
            foreach (var table in results.Tables)
            {
                json.WriteStartObject();
                json.WriteString("name", table.Name);
                json.WriteNumber("rows", table.Rows);
                json.WriteNumber("bytes", table.Bytes);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("query", results.QueryText);
            json.WriteNumber("memoryRows", results.MemoryRows);
            json.WriteNumber("firstQuerySeconds", results.FirstQuerySeconds);
            json.WriteNumber("queryWallSeconds", results.Query.WallSeconds);
            json.WriteNumber("queryCpuSeconds", results.Query.CpuSeconds);
            json.WriteNumber("queryTargetSeconds", ExportResults.QueryTarget);
            json.WriteBoolean("met", results.Met);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
