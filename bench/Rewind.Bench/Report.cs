using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Rewind.Bench;

/// <summary>Everything one bench run measured.</summary>
internal sealed record Results(
    Machine Machine,
    BenchOptions Options,
    IReadOnlyList<ShownColumn> Columns,
    IReadOnlyList<Row> Rows,
    IReadOnlyList<string> Notes,
    DateTimeOffset Date)
{
    public string Method
    {
        get
        {
            if (Options.Quick)
                return "quick: small inputs, one run per measurement, no lackey --trace-mem";
            var runs = Options.Runs == 1
                ? "one run per measurement"
                : string.Create(CultureInfo.InvariantCulture, $"median of {Options.Runs} runs (a run of {Bench.LongRun.TotalSeconds:F0} s or more is not repeated)");
            var once = Columns.Where(c => c.Column.Once).Select(c => c.Column.Title).ToArray();
            var onceText = once.Length == 0 ? "" : $"; {string.Join(", ", once)}: one run";
            return string.Create(CultureInfo.InvariantCulture, $"{runs}{onceText}; runs stopped after {Options.TimeoutSeconds} s");
        }
    }

    public string Cell(Row row, Column column) =>
        row.Cells.TryGetValue(column.Key, out var cell) ? cell.Display(Options.TimeoutSeconds) : "";
}

/// <summary>The three views of the results: the terminal table, results.md and results.json.</summary>
internal static class Report
{
    public static void WriteTable(Results results)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("workload");
        foreach (var (column, _) in results.Columns)
            table.AddColumn(new TableColumn(Markup.Escape(column.Title)).RightAligned());
        foreach (var row in results.Rows)
            table.AddRow([Markup.Escape(row.Workload.Name), .. results.Columns.Select(c => Markup.Escape(results.Cell(row, c.Column)))]);
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[dim]{Markup.Escape(results.Method)}; ratio = time / native time on the same input[/]");
        foreach (var note in results.Notes)
            AnsiConsole.MarkupLine($"[yellow]note:[/] {Markup.Escape(note)}");
    }

    public static string Markdown(Results results)
    {
        var md = new StringBuilder();
        md.Append("# Rewind benchmark\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Machine: {results.Machine.Line}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Date: {results.Date:yyyy-MM-dd HH:mm} UTC\n");
        md.Append(CultureInfo.InvariantCulture, $"- Method: {results.Method}\n");
        md.Append("- Each cell: time (time / native time on the same input)\n\n");

        md.Append("| workload | ").AppendJoin(" | ", results.Columns.Select(c => Escape(c.Column.Title))).Append(" |\n");
        md.Append("|---|").AppendJoin("", results.Columns.Select(_ => "---:|")).Append('\n');
        foreach (var row in results.Rows)
            md.Append("| ").Append(Escape(row.Workload.Name)).Append(" | ").AppendJoin(" | ", results.Columns.Select(c => Escape(results.Cell(row, c.Column)))).Append(" |\n");

        md.Append("\n## Workloads\n\n");
        foreach (var row in results.Rows)
        {
            md.Append(CultureInfo.InvariantCulture, $"- **{Escape(row.Workload.Name)}**: {Escape(row.Description)}");
            if (!results.Options.Quick && results.Columns.Any(c => c.Column.Input == InputSize.Small))
                md.Append(CultureInfo.InvariantCulture, $" (small input: {Escape(row.Workload.Describe(true))})");
            md.Append('\n');
        }
        md.Append("\n## Columns\n\n");
        foreach (var (column, _) in results.Columns)
            md.Append(CultureInfo.InvariantCulture, $"- **{Escape(column.Title)}**: {Escape(column.Meaning)}\n");
        if (results.Notes.Count > 0)
        {
            md.Append("\n## Notes\n\n");
            foreach (var note in results.Notes)
                md.Append(CultureInfo.InvariantCulture, $"- {Escape(note)}\n");
        }
        return md.ToString();
    }

    public static string Json(Results results)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject("machine");
            json.WriteNumber("cores", results.Machine.Cores);
            json.WriteString("cpu", results.Machine.Cpu);
            json.WriteString("kernel", results.Machine.Kernel);
            json.WriteString("dotnet", results.Machine.Dotnet);
            json.WriteString("unicorn", results.Machine.Unicorn);
            json.WriteEndObject();
            json.WriteString("date", results.Date);
            json.WriteString("mode", results.Options.Quick ? "quick" : "full");
            json.WriteNumber("runs", results.Options.Runs);
            json.WriteNumber("timeoutSeconds", results.Options.TimeoutSeconds);
            json.WriteString("method", results.Method);

            json.WriteStartArray("columns");
            foreach (var (column, tool) in results.Columns)
            {
                json.WriteStartObject();
                json.WriteString("key", column.Key);
                json.WriteString("title", column.Title);
                json.WriteString("meaning", column.Meaning);
                json.WriteString("input", results.Options.Quick ? "small" : column.Input == InputSize.Small ? "small" : "main");
                json.WriteBoolean("baseline", column.Baseline);
                if (column.Tool is not null)
                    json.WriteBoolean("toolInstalled", tool is not null);
                json.WriteEndObject();
            }
            json.WriteEndArray();

            json.WriteStartArray("workloads");
            foreach (var row in results.Rows)
            {
                json.WriteStartObject();
                json.WriteString("name", row.Workload.Name);
                json.WriteString("description", row.Description);
                json.WriteString("command", row.Command);
                json.WriteStartObject("cells");
                foreach (var (column, _) in results.Columns)
                {
                    if (!row.Cells.TryGetValue(column.Key, out var cell))
                        continue;
                    json.WriteStartObject(column.Key);
                    json.WriteString("state", JsonNamingPolicy.CamelCase.ConvertName(cell.State.ToString()));
                    json.WriteString("display", cell.Display(results.Options.TimeoutSeconds));
                    if (cell.Seconds is { } seconds)
                        json.WriteNumber("seconds", Math.Round(seconds, 4));
                    if (cell.Ratio is { } ratio)
                        json.WriteNumber("ratio", Math.Round(ratio, 2));
                    json.WriteStartArray("runs");
                    foreach (var run in cell.Runs)
                        json.WriteNumberValue(Math.Round(run, 4));
                    json.WriteEndArray();
                    foreach (var (name, value) in cell.Figures ?? new Dictionary<string, double>())
                        json.WriteNumber(name, value);
                    if (cell.Note is { } note)
                        json.WriteString("note", note);
                    json.WriteEndObject();
                }
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();

            json.WriteStartArray("notes");
            foreach (var note in results.Notes)
                json.WriteStringValue(note);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
