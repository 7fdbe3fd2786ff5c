using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Rewind.Bench;

/// <summary>The best CPU time (user + system) and the best wall-clock time of a command's runs.</summary>
internal sealed record Cost(double CpuSeconds, double WallSeconds)
{
    /// <summary>Before the first run: any run is better.</summary>
    public static Cost None { get; } = new(double.PositiveInfinity, double.PositiveInfinity);

    public Cost Best(RunResult run) => new(Math.Min(CpuSeconds, run.CpuSeconds), Math.Min(WallSeconds, run.Seconds));
}

/// <summary>One thread count: the instructions of its recording, and what rewind record and rewind run cost.</summary>
internal sealed record ThreadCount(int Threads, long Instructions, Cost Record, Cost Run)
{
    public double NanosecondsPerInstruction(double seconds) => seconds * 1e9 / Instructions;
}

/// <summary>Everything bench/run --threads measured.</summary>
internal sealed record ThreadScalingResults(string Program, ThreadCount One, ThreadCount Many, int Runs)
{
    /// <summary>The goal: recording many threads costs at most this times one thread's cost per instruction.</summary>
    public const double Target = 1.2;

    public double RecordCpuRatio => PerInstructionRatio(t => t.Record.CpuSeconds);
    public double RecordWallRatio => PerInstructionRatio(t => t.Record.WallSeconds);
    public double RunCpuRatio => PerInstructionRatio(t => t.Run.CpuSeconds);
    public double RunWallRatio => PerInstructionRatio(t => t.Run.WallSeconds);
    public bool Met => RecordCpuRatio <= Target;

    public string Method => Runs == 1 ? "one run of each" : string.Create(CultureInfo.InvariantCulture, $"each figure the best of {Runs} runs");

    double PerInstructionRatio(Func<ThreadCount, double> seconds) =>
        Many.NanosecondsPerInstruction(seconds(Many)) / One.NanosecondsPerInstruction(seconds(One));
}

/// <summary>
/// bench/run --threads: the cost per instruction of recording bench/kernels/threads_compute.c with one
/// worker thread and with four, on the same total work, against the goal that four threads cost at
/// most 1.2 times as much per instruction. Rewind runs the threads one at a time, so the extra cost
/// is that of its thread starts and switches. CPU time (user + system) is the headline figure: on a
/// shared machine the wall-clock time also measures the other jobs.
/// </summary>
internal sealed class ThreadScaling(BenchOptions options, string rewind, string work, WorkloadSetup setup)
{
    const int ManyThreads = 4;

    readonly TimeSpan _timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);

    /// <summary>Matrix order: about 1 billion instructions in full, a few million with --quick.</summary>
    int Size => options.Quick ? 100 : 500;

    public ThreadScalingResults Measure()
    {
        var program = setup.Kernel("threads_compute") ?? throw new BenchException("--threads needs gcc to build bench/kernels/threads_compute.c");
        var size = Size.ToString(CultureInfo.InvariantCulture);
        Invocation Kernel(int threads, params string[] under) =>
            new([.. under, program, threads.ToString(CultureInfo.InvariantCulture), size], work);

        // Both thread counts do the same work, so they print the same checksum; every rewind run must print it too.
        var expected = Run(Kernel(1)).StdoutDigest;
        if (Run(Kernel(ManyThreads)).StdoutDigest != expected)
            throw new BenchException($"bench/kernels/threads_compute.c printed different results with 1 and {ManyThreads} threads");

        int[] counts = [1, ManyThreads];
        var traces = counts.ToDictionary(n => n, n => Path.Combine(work, $"threads_compute-{n}.rwd"));
        var record = counts.ToDictionary(n => n, _ => Cost.None);
        var run = counts.ToDictionary(n => n, _ => Cost.None);
        // The thread counts take turns in every round, so that a change in the machine's load falls on both.
        for (var round = 1; round <= options.Runs; round++)
        {
            foreach (var n in counts)
            {
                record[n] = record[n].Best(Timed($"record, {Threads(n)}", round, Kernel(n, rewind, "record", "-o", traces[n], "--"), expected));
                run[n] = run[n].Best(Timed($"run, {Threads(n)}", round, Kernel(n, rewind, "run", "--"), expected));
            }
        }

        // rewind run reports no count, but it schedules as the recorder does, so it runs the same instructions.
        var results = counts.Select(n => new ThreadCount(n, Instructions(traces[n]), record[n], run[n])).ToArray();
        return new ThreadScalingResults($"threads_compute THREADS {size}", results[0], results[1], options.Runs);
    }

    RunResult Timed(string what, int round, Invocation invocation, string expected)
    {
        var result = Run(invocation);
        if (result.StdoutDigest != expected)
            throw new BenchException($"{invocation.Display}: stdout differs from the native run");
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"  {Markup.Escape(what),-22} run {round} of {options.Runs}: CPU {Cell.FormatSeconds(result.CpuSeconds)}, wall {Cell.FormatSeconds(result.Seconds)}"));
        return result;
    }

    long Instructions(string trace)
    {
        using var output = new MemoryStream();
        Run(new Invocation([rewind, "info", "--json", trace], work), output);
        using var info = JsonDocument.Parse(output.ToArray());
        return info.RootElement.GetProperty("instructions").GetInt64();
    }

    RunResult Run(Invocation invocation, Stream? output = null)
    {
        var result = ProcessRunner.Run(invocation, _timeout, output);
        if (result.TimedOut || result.ExitCode != 0)
            throw new BenchException($"{invocation.Display} failed: {(result.TimedOut ? "timed out" : result.LastError)}");
        return result;
    }

    static string Threads(int n) => n == 1 ? "1 thread" : $"{n} threads";

    /// <summary>The rows of the table: what, one thread, many threads, their ratio (empty for absolute times).</summary>
    static List<string[]> Rows(ThreadScalingResults r)
    {
        string Ns(ThreadCount t, double seconds) => F($"{t.NanosecondsPerInstruction(seconds):F2}");
        string Ratio(double ratio) => F($"{ratio:F2}");
        return
        [
            ["instructions", F($"{r.One.Instructions:N0}"), F($"{r.Many.Instructions:N0}"), Ratio((double)r.Many.Instructions / r.One.Instructions)],
            ["record: CPU time (user + sys)", Cell.FormatSeconds(r.One.Record.CpuSeconds), Cell.FormatSeconds(r.Many.Record.CpuSeconds), ""],
            ["record: wall time", Cell.FormatSeconds(r.One.Record.WallSeconds), Cell.FormatSeconds(r.Many.Record.WallSeconds), ""],
            ["record: CPU ns/instruction", Ns(r.One, r.One.Record.CpuSeconds), Ns(r.Many, r.Many.Record.CpuSeconds), Ratio(r.RecordCpuRatio)],
            ["record: wall ns/instruction", Ns(r.One, r.One.Record.WallSeconds), Ns(r.Many, r.Many.Record.WallSeconds), Ratio(r.RecordWallRatio)],
            ["run: CPU ns/instruction", Ns(r.One, r.One.Run.CpuSeconds), Ns(r.Many, r.Many.Run.CpuSeconds), Ratio(r.RunCpuRatio)],
            ["run: wall ns/instruction", Ns(r.One, r.One.Run.WallSeconds), Ns(r.Many, r.Many.Run.WallSeconds), Ratio(r.RunWallRatio)],
        ];
    }

    static string Verdict(ThreadScalingResults r) =>
        F($"Recording {r.Many.Threads} threads costs {r.RecordCpuRatio:F2}x the CPU time per instruction of 1 thread: target at most {ThreadScalingResults.Target:F1}x, {(r.Met ? "met" : "missed")}");

    static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    public static void WriteTable(ThreadScalingResults results)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("")
            .AddColumn(new TableColumn(Threads(results.One.Threads)).RightAligned())
            .AddColumn(new TableColumn(Threads(results.Many.Threads)).RightAligned())
            .AddColumn(new TableColumn(F($"{results.Many.Threads} / {results.One.Threads}")).RightAligned());
        foreach (var row in Rows(results))
            table.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[dim]{Markup.Escape(results.Program)}; {results.Method}, start-up included; CPU time = user + system time[/]");
        AnsiConsole.MarkupLine(results.Met ? $"[green]{Markup.Escape(Verdict(results))}[/]" : $"[red]{Markup.Escape(Verdict(results))}[/]");
    }

    public static string Markdown(ThreadScalingResults results, Machine machine, DateTimeOffset date)
    {
        var md = new StringBuilder();
        md.Append("# Rewind: recording threads\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Machine: {machine.Line}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Date: {date:yyyy-MM-dd HH:mm} UTC\n");
        md.Append(CultureInfo.InvariantCulture, $"- Program: `{results.Program}`, the same total work with 1 and {results.Many.Threads} threads\n");
        md.Append(CultureInfo.InvariantCulture, $"- Method: {results.Method}, start-up included; CPU time is the user + system time of the rewind process\n\n");
        md.Append(CultureInfo.InvariantCulture, $"| | {Threads(results.One.Threads)} | {Threads(results.Many.Threads)} | {results.Many.Threads} / {results.One.Threads} |\n|---|---|---|---|\n");
        foreach (var row in Rows(results))
            md.Append(CultureInfo.InvariantCulture, $"| {string.Join(" | ", row)} |\n");
        md.Append(CultureInfo.InvariantCulture, $"\n{Verdict(results)}.\n");
        return md.ToString();
    }

    public static string Json(ThreadScalingResults results, DateTimeOffset date)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("date", date);
            json.WriteString("program", results.Program);
            json.WriteNumber("runs", results.Runs);
            json.WriteNumber("target", ThreadScalingResults.Target);
            json.WriteNumber("recordCpuRatio", results.RecordCpuRatio);
            json.WriteNumber("recordWallRatio", results.RecordWallRatio);
            json.WriteNumber("runCpuRatio", results.RunCpuRatio);
            json.WriteNumber("runWallRatio", results.RunWallRatio);
            json.WriteBoolean("met", results.Met);
            json.WriteStartArray("threads");
            foreach (var t in new[] { results.One, results.Many })
            {
                json.WriteStartObject();
                json.WriteNumber("threads", t.Threads);
                json.WriteNumber("instructions", t.Instructions);
                WriteCost(json, "record", t, t.Record);
                WriteCost(json, "run", t, t.Run);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    static void WriteCost(Utf8JsonWriter json, string name, ThreadCount t, Cost cost)
    {
        json.WriteStartObject(name);
        json.WriteNumber("cpuSeconds", cost.CpuSeconds);
        json.WriteNumber("wallSeconds", cost.WallSeconds);
        json.WriteNumber("cpuNanosecondsPerInstruction", t.NanosecondsPerInstruction(cost.CpuSeconds));
        json.WriteNumber("wallNanosecondsPerInstruction", t.NanosecondsPerInstruction(cost.WallSeconds));
        json.WriteEndObject();
    }
}
