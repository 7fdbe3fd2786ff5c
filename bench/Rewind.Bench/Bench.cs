using System.Text.RegularExpressions;
using Spectre.Console;

namespace Rewind.Bench;

/// <summary>A column chosen for this run, with its peer tool resolved (null when missing).</summary>
internal sealed record ShownColumn(Column Column, string? ToolPath);

/// <summary>One workload's row: its command line and a cell per shown column, by key.</summary>
internal sealed record Row(Workload Workload, string Description, string Command, IReadOnlyDictionary<string, Cell> Cells);

/// <summary>Generates the inputs, measures every cell, and writes the reports.</summary>
internal sealed partial class Bench(BenchOptions options)
{
    /// <summary>A run at least this long is not repeated: the median of one, to keep a full bench near ten minutes.</summary>
    public static readonly TimeSpan LongRun = TimeSpan.FromSeconds(10);

    readonly List<string> notes = [];
    readonly TimeSpan timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);

    public int Run()
    {
        // Logs of a bench run keep the table whole instead of wrapping it at 80 columns.
        if (Console.IsOutputRedirected)
            AnsiConsole.Profile.Width = 240;
        var root = RepositoryRoot();
        var workloads = SelectWorkloads();
        var rewind = options.Rewind is { } given ? Path.GetFullPath(given) : Path.Combine(root, "rewind");
        var machine = Machine.Describe(root);
        AnsiConsole.MarkupLine($"[bold]Machine:[/] {Markup.Escape(machine.Line)}");
        var columns = SelectColumns(RewindVerbs(rewind));

        var work = Directory.CreateTempSubdirectory("rewind-bench-");
        // Ctrl-C ends the process without running finally blocks: remove the inputs and traces here too.
        ConsoleCancelEventHandler interrupted = (_, _) => Delete(work);
        Console.CancelKeyPress += interrupted;
        try
        {
            var setup = new WorkloadSetup(work.FullName, Path.Combine(root, "bench", "kernels"), Note);
            var output = Path.GetFullPath(options.Out ?? Path.Combine(root, "bench", "results"));
            Directory.CreateDirectory(output);
            if (options.Targets)
            {
                MeasureTargets(machine, rewind, work.FullName, setup, output);
                return 0;
            }
            if (options.Threads)
            {
                MeasureThreads(machine, rewind, work.FullName, setup, output);
                return 0;
            }
            if (options.Export)
            {
                MeasureExport(machine, rewind, work.FullName, output);
                return 0;
            }
            if (options.Debugging)
            {
                MeasureDebugging(machine, rewind, work.FullName, setup, output);
                return 0;
            }
            var rows = new List<Row>();
            foreach (var workload in workloads)
            {
                if (MeasureWorkload(workload, columns, setup, rewind, work.FullName) is { } row)
                    rows.Add(row);
            }
            var results = new Results(machine, options, columns, rows, notes, DateTimeOffset.UtcNow);
            AnsiConsole.WriteLine();
            Report.WriteTable(results);

            var markdown = Path.Combine(output, "results.md");
            var json = Path.Combine(output, "results.json");
            var chart = Path.Combine(output, "results.png");
            File.WriteAllText(markdown, Report.Markdown(results));
            File.WriteAllText(json, Report.Json(results));
            Chart.Write(results, chart);
            AnsiConsole.MarkupLine($"Wrote [bold]{Markup.Escape(Shorten(markdown))}[/], [bold]{Markup.Escape(Shorten(json))}[/] and [bold]{Markup.Escape(Shorten(chart))}[/]");
        }
        finally
        {
            Console.CancelKeyPress -= interrupted;
            Delete(work);
        }
        return 0;
    }

    void MeasureTargets(Machine machine, string rewind, string work, WorkloadSetup setup, string output)
    {
        AnsiConsole.MarkupLine("[bold]targets[/]: index, memory query and memorymap on bench/kernels/compute.c");
        var results = new Targets(options, rewind, work, setup).Measure();
        var date = DateTimeOffset.UtcNow;
        AnsiConsole.WriteLine();
        Targets.WriteTable(results);
        var markdown = Path.Combine(output, "targets.md");
        var json = Path.Combine(output, "targets.json");
        File.WriteAllText(markdown, Targets.Markdown(results, machine, date, options));
        File.WriteAllText(json, Targets.Json(results, date));
        AnsiConsole.MarkupLine($"Wrote [bold]{Markup.Escape(Shorten(markdown))}[/] and [bold]{Markup.Escape(Shorten(json))}[/]");
    }

    void MeasureDebugging(Machine machine, string rewind, string work, WorkloadSetup setup, string output)
    {
        AnsiConsole.MarkupLine("[bold]debugging[/]: the gdb server's reverse execution on bench/kernels/compute.c");
        var results = new Debugging(options, rewind, work, setup).Measure();
        var date = DateTimeOffset.UtcNow;
        AnsiConsole.WriteLine();
        Targets.WriteTable(results);
        var markdown = Path.Combine(output, "debugging.md");
        var json = Path.Combine(output, "debugging.json");
        File.WriteAllText(markdown, Targets.Markdown(results, machine, date, options, "Rewind's gdb server: reverse execution",
            "wall-clock time of each request from sending it to its reply, and the server's CPU time in it"));
        File.WriteAllText(json, Targets.Json(results, date));
        AnsiConsole.MarkupLine($"Wrote [bold]{Markup.Escape(Shorten(markdown))}[/] and [bold]{Markup.Escape(Shorten(json))}[/]");
    }

    void MeasureThreads(Machine machine, string rewind, string work, WorkloadSetup setup, string output)
    {
        AnsiConsole.MarkupLine("[bold]threads[/]: rewind record and rewind run of bench/kernels/threads_compute.c with 1 and 4 threads");
        var results = new ThreadScaling(options, rewind, work, setup).Measure();
        var date = DateTimeOffset.UtcNow;
        AnsiConsole.WriteLine();
        ThreadScaling.WriteTable(results);
        var markdown = Path.Combine(output, "threads.md");
        var json = Path.Combine(output, "threads.json");
        File.WriteAllText(markdown, ThreadScaling.Markdown(results, machine, date));
        File.WriteAllText(json, ThreadScaling.Json(results, date));
        AnsiConsole.MarkupLine($"Wrote [bold]{Markup.Escape(Shorten(markdown))}[/] and [bold]{Markup.Escape(Shorten(json))}[/]");
    }

    void MeasureExport(Machine machine, string rewind, string work, string output)
    {
        AnsiConsole.MarkupLine("[bold]export[/]: rewind export of every table, and rewind sql over the memory table, for sha256sum");
        var results = new ExportBench(options, rewind, work).Measure();
        var date = DateTimeOffset.UtcNow;
        AnsiConsole.WriteLine();
        ExportBench.WriteTable(results);
        var markdown = Path.Combine(output, "export.md");
        var json = Path.Combine(output, "export.json");
        File.WriteAllText(markdown, ExportBench.Markdown(results, machine, date));
        File.WriteAllText(json, ExportBench.Json(results, date));
        AnsiConsole.MarkupLine($"Wrote [bold]{Markup.Escape(Shorten(markdown))}[/] and [bold]{Markup.Escape(Shorten(json))}[/]");
    }

    static void Delete(DirectoryInfo folder)
    {
        try
        {
            folder.Delete(recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"bench: could not remove {folder.FullName}: {e.Message}");
        }
    }

    IReadOnlyList<Workload> SelectWorkloads()
    {
        if (options.Only is null)
            return Workload.All;
        var chosen = Workload.All.Where(w => w.Name == options.Only).ToArray();
        if (chosen.Length == 0)
            throw new BenchException($"no workload named '{options.Only}' (there are: {string.Join(", ", Workload.All.Select(w => w.Name))})");
        return chosen;
    }

    /// <summary>The verbs `rewind --help` lists; running it also checks that the rewind command works at all.</summary>
    static HashSet<string> RewindVerbs(string rewind)
    {
        if (!File.Exists(rewind))
            throw new BenchException($"{rewind} does not exist (build Rewind, or name it with --rewind PATH)");
        var verbs = new HashSet<string>(StringComparer.Ordinal);
        var help = Capture(new Invocation([rewind, "--help"], Environment.CurrentDirectory));
        var inCommands = false;
        foreach (var line in help.Split('\n'))
        {
            if (line.StartsWith("Commands:", StringComparison.Ordinal))
                inCommands = true;
            else if (inCommands && VerbLine().Match(line) is { Success: true } match)
                verbs.Add(match.Groups[1].Value);
            else if (inCommands && line.Length > 0 && !char.IsWhiteSpace(line[0]))
                inCommands = false;
        }
        if (!verbs.Contains("run"))
            throw new BenchException($"{rewind} --help lists no 'run' verb");
        return verbs;
    }

    /// <summary>
    /// Runs `rewind --help` untimed just before a timed rewind run: when the sources changed since the
    /// last run, the repository's launcher rebuilds now rather than inside the timed run.
    /// </summary>
    static void RewindUpToDate(string rewind) => Capture(new Invocation([rewind, "--help"], Environment.CurrentDirectory));

    /// <summary>The stdout of a command that must succeed, for the few runs whose output the bench reads.</summary>
    static string Capture(Invocation invocation)
    {
        using var output = new MemoryStream();
        var result = ProcessRunner.Run(invocation, TimeSpan.FromMinutes(10), output);
        if (result.TimedOut || result.ExitCode != 0)
            throw new BenchException($"{invocation.Display} failed: {result.LastError}");
        return System.Text.Encoding.UTF8.GetString(output.ToArray());
    }

    List<ShownColumn> SelectColumns(HashSet<string> verbs)
    {
        var shown = new List<ShownColumn>();
        foreach (var column in Column.All)
        {
            if (options.Quick && column.FullOnly)
                continue;
            if (!column.RewindVerbs.All(verbs.Contains))
                continue;
            string? tool = null;
            if (column.Tool is { } name && (tool = HostTools.Find(name)) is null)
                Note($"{name} is not installed, so its columns show n/a (scripts/setup installs it)");
            shown.Add(new ShownColumn(column, tool));
        }
        return shown;
    }

    Row? MeasureWorkload(Workload workload, IReadOnlyList<ShownColumn> columns, WorkloadSetup setup, string rewind, string work)
    {
        AnsiConsole.MarkupLine($"[bold]{workload.Name}[/]: {Markup.Escape(workload.Describe(options.Quick))}");
        var programs = new Dictionary<InputSize, Invocation?>();
        var facts = new Dictionary<InputSize, TraceFacts>();
        var baselines = new Dictionary<InputSize, (Cell Cell, RunResult Reference)>();
        var cells = new Dictionary<string, Cell>();

        // Baselines first, so that every other cell has its reference; the table keeps the list's order.
        foreach (var (column, tool) in columns.OrderBy(c => c.Column.Baseline ? 0 : 1))
        {
            var size = options.Quick ? InputSize.Main : column.Input;
            if (!programs.TryGetValue(size, out var program))
                programs[size] = program = workload.Prepare(setup, options.Quick || size == InputSize.Small);
            if (program is null)
                return null;

            if (!facts.TryGetValue(size, out var traceFacts))
            {
                var trace = Path.Combine(work, "traces", $"{workload.Name}-{size.ToString().ToLowerInvariant()}.rwd");
                Directory.CreateDirectory(Path.GetDirectoryName(trace)!);
                facts[size] = traceFacts = new TraceFacts(trace, program, rewind);
            }
            var context = new CellContext(program, rewind, tool, traceFacts, work);
            Cell cell;
            try
            {
                if (column.Baseline)
                {
                    var (baseline, reference) = MeasureBaseline(workload, column, context);
                    baselines[size] = (baseline, reference);
                    cell = baseline;
                }
                else
                {
                    cell = column.Tool is not null && tool is null
                        ? Cell.NotAvailable($"{column.Tool} is not installed")
                        : Measure(workload, column, context, baselines.TryGetValue(size, out var b) ? b : null);
                    if (cell.State != CellState.Measured && column.Leaves?.Invoke(context) is { } left)
                        File.Delete(left);
                }
            }
            finally
            {
                context.DeleteScratch();
            }
            cells[column.Key] = cell;
            AnsiConsole.MarkupLine($"  {Markup.Escape(column.Title),-34} {Markup.Escape(cell.Display(options.TimeoutSeconds))}");
        }

        var main = programs.GetValueOrDefault(InputSize.Main) ?? programs.Values.First()!;
        return new Row(workload, workload.Describe(options.Quick), main.Display.Replace(work, "$WORK", StringComparison.Ordinal), cells);
    }

    /// <summary>The native runs: they must succeed and print the same bytes every time, or nothing can be compared with them.</summary>
    (Cell Cell, RunResult Reference) MeasureBaseline(Workload workload, Column column, CellContext context)
    {
        RunResult? reference = null;
        var runs = new List<double>();
        for (var i = 0; i < options.Runs; i++)
        {
            var result = ProcessRunner.Run(column.Command(context), timeout);
            if (result.TimedOut)
                throw new BenchException($"{workload.Name}: the native run took more than {options.TimeoutSeconds} s");
            if (result.ExitCode != 0)
                throw new BenchException($"{workload.Name}: the native run failed (exit {result.ExitCode}): {result.LastError}");
            if (reference is not null && result.StdoutDigest != reference.StdoutDigest)
                throw new BenchException($"{workload.Name}: two native runs printed different output, so runs cannot be compared with it");
            reference ??= result;
            runs.Add(result.Seconds);
        }
        return (new Cell(CellState.Measured, runs), reference!);
    }

    Cell Measure(Workload workload, Column column, CellContext context, (Cell Cell, RunResult Reference)? baseline)
    {
        var what = $"{column.Title} of {workload.Name}";
        foreach (var setup in column.Setup?.Invoke(context) ?? [])
        {
            var result = ProcessRunner.Run(setup, timeout);
            if (Problem(what + " (set-up)", column, result, null) is { } problem)
                return problem;
        }
        if (column.Unavailable?.Invoke(context) is { } missing)
        {
            Note(missing);
            return Cell.NotAvailable(missing);
        }
        if (column.Measure is { } measure)
            return measure(context);

        var runs = new List<double>();
        var count = column.Once ? 1 : options.Runs;
        for (var i = 0; i < count; i++)
        {
            if (column.RewindVerbs.Count > 0)
                RewindUpToDate(context.Rewind);
            var result = ProcessRunner.Run(column.Command(context), timeout);
            if (Problem(what, column, result, column.PrintsProgramOutput ? baseline?.Reference : null) is { } problem)
                return problem;
            runs.Add(result.Seconds);
            if (result.Seconds >= LongRun.TotalSeconds)
                break;
        }
        double? ratio = baseline is { } b ? Cell.Median(runs) / Math.Max(b.Cell.Seconds!.Value, 1e-6) : null;
        return new Cell(CellState.Measured, runs, ratio);
    }

    /// <summary>
    /// A cell for a run that timed out, failed or printed the wrong output; null when the run is good.
    /// A Rewind column that fails or changes the output stops the bench: that is a bug, not a result.
    /// </summary>
    Cell? Problem(string what, Column column, RunResult result, RunResult? reference)
    {
        if (result.TimedOut)
        {
            Note($"{what}: stopped after {options.TimeoutSeconds} s");
            return new Cell(CellState.TimedOut, [], Note: $"stopped after {options.TimeoutSeconds} s");
        }
        if (result.ExitCode != 0)
        {
            var message = $"{what} failed (exit {result.ExitCode}): {result.LastError}";
            if (column.MustMatchNative)
                throw new BenchException(message);
            Note(message);
            return new Cell(CellState.Failed, [], Note: message);
        }
        if (reference is not null && result.StdoutDigest != reference.StdoutDigest)
        {
            var message = $"{what}: stdout differs from the native run ({result.StdoutBytes:N0} bytes, native {reference.StdoutBytes:N0} bytes)";
            if (column.MustMatchNative)
                throw new BenchException(message);
            Note(message);
            return new Cell(CellState.WrongOutput, [result.Seconds], Note: message);
        }
        return null;
    }

    void Note(string text)
    {
        if (notes.Contains(text))
            return;
        notes.Add(text);
        AnsiConsole.MarkupLine($"[yellow]note:[/] {Markup.Escape(text)}");
    }

    static string RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "Rewind.slnx")))
                    return folder.FullName;
            }
        }
        throw new BenchException("cannot find the repository (no Rewind.slnx above the bench or the current folder)");
    }

    /// <summary>A path relative to the current folder when it is below it.</summary>
    static string Shorten(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }

    [GeneratedRegex(@"^\s{2}([a-z][a-z0-9-]*)\b")]
    private static partial Regex VerbLine();
}
