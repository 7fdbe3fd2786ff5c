using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Rewind.Bench;

/// <summary>One performance target: what was measured, the goal, and whether it was met.</summary>
internal sealed record TargetResult(string Name, string Measured, string Goal, bool Met, IReadOnlyDictionary<string, double> Figures);

/// <summary>
/// bench/run --targets: the figures the index, memory queries and memorymap are held to, measured on
/// the compute kernel scaled up (about 1 and 3 billion instructions in the same memory: one and
/// three rounds of the product; --quick: a few million, to try the scenario). Index build speed per core; an 8-byte query's first result and last result after
/// indexing, and the first call of one function (TTD.Calls), on a global the kernel writes all through its run; peak memory of both at two trace
/// lengths; memorymap lines written to a file per second; a replay with a memorymap pc filter
/// against a plain replay.
/// </summary>
internal sealed class Targets(BenchOptions options, string rewind, string work, WorkloadSetup setup)
{
    readonly TimeSpan _timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);

    public IReadOnlyList<TargetResult> Measure()
    {
        var program = setup.Kernel("compute") ?? throw new BenchException("the targets need gcc to build bench/kernels/compute.c");
        var symbols = Symbols(program, work);
        var counter = symbols["rows_done"];
        var main = symbols["main"];
        var (size, mapSize) = options.Quick ? (60, 40) : (480, 130);

        var results = new List<TargetResult>();
        var shortTrace = Record(program, size);
        var longTrace = Record(program, size, rounds: 3);

        var index = Timed($"index {shortTrace.Name}", [rewind, "index", "--rebuild", shortTrace.Path]);
        var perCore = shortTrace.Instructions / index.Seconds / Environment.ProcessorCount / 1e6;
        results.Add(new("index build speed", F($"{perCore:F1} M instructions/s per core ({shortTrace.Instructions / index.Seconds / 1e6:F0} M/s on {Environment.ProcessorCount} cores, {shortTrace.Name})"),
            "30 M/s per core, all cores used", perCore >= 30, new Dictionary<string, double>
            {
                ["instructions"] = shortTrace.Instructions,
                ["seconds"] = index.Seconds,
                ["perCoreMillionsPerSecond"] = perCore,
                ["peakResidentBytes"] = index.PeakResidentBytes,
            }));

        var query = Timed($"memory query on {shortTrace.Name}", [rewind, "memory", shortTrace.Path, Hex(counter), Hex(counter + 8), "rw", "--format", "jsonl"]);
        var accesses = query.StdoutBytes == 0 ? 0 : query.Lines;
        var first = query.Result.FirstOutputSeconds ?? double.NaN;
        results.Add(new("8-byte query, first result", F($"{first:F2} s ({accesses:N0} accesses to rows_done, {shortTrace.Name})"), "within 1 s", first <= 1,
            new Dictionary<string, double> { ["seconds"] = first, ["accesses"] = accesses }));
        results.Add(new("8-byte query, all results", F($"{query.Seconds:F2} s"), "within 5 s", query.Seconds <= 5,
            new Dictionary<string, double> { ["seconds"] = query.Seconds }));

        // One function's calls: main, whose return (the last instructions of the run) the index finds at the trace's end.
        var calls = Timed($"calls of main on {shortTrace.Name}", [rewind, "calls", shortTrace.Path, "compute!main", "--format", "jsonl"]);
        var firstCall = calls.Result.FirstOutputSeconds ?? double.NaN;
        results.Add(new("calls of one function, first result", F($"{firstCall:F2} s (compute!main, {shortTrace.Name})"), "within 1 s", firstCall <= 1,
            new Dictionary<string, double> { ["seconds"] = firstCall, ["allSeconds"] = calls.Seconds }));

        var longIndex = Timed($"index {longTrace.Name}", [rewind, "index", "--rebuild", longTrace.Path]);
        var longQuery = Timed($"memory query on {longTrace.Name}", [rewind, "memory", longTrace.Path, Hex(counter), Hex(counter + 8), "rw", "--format", "jsonl"]);
        var growth = (double)longQuery.PeakResidentBytes / Math.Max(1, query.PeakResidentBytes);
        results.Add(new("peak memory, query", F($"{Megabytes(query.PeakResidentBytes)} ({shortTrace.Name}), {Megabytes(longQuery.PeakResidentBytes)} ({longTrace.Name})"),
            "independent of trace length", growth < 1.25, new Dictionary<string, double>
            {
                ["shortTraceBytes"] = query.PeakResidentBytes,
                ["longTraceBytes"] = longQuery.PeakResidentBytes,
                ["shortInstructions"] = shortTrace.Instructions,
                ["longInstructions"] = longTrace.Instructions,
            }));
        var indexGrowth = (double)longIndex.PeakResidentBytes / Math.Max(1, index.PeakResidentBytes);
        results.Add(new("peak memory, index build", F($"{Megabytes(index.PeakResidentBytes)} ({shortTrace.Name}), {Megabytes(longIndex.PeakResidentBytes)} ({longTrace.Name})"),
            "independent of trace length", indexGrowth < 1.25, new Dictionary<string, double>
            {
                ["shortTraceBytes"] = index.PeakResidentBytes,
                ["longTraceBytes"] = longIndex.PeakResidentBytes,
                ["longSeconds"] = longIndex.Seconds,
            }));

        // memorymap writes about 150 bytes a line: to a file in memory (tmpfs) the time is Rewind's, to
        // a disk it is often the disk's. Both are shown; the target is about the first.
        var mapTrace = Record(program, mapSize);
        var inMemory = Directory.Exists("/dev/shm") ? "/dev/shm" : work;
        var lines = Path.Combine(inMemory, $"rewind-bench-memorymap-{Environment.ProcessId}.txt");
        var map = Timed($"memorymap {mapTrace.Name} to {inMemory}", [rewind, "memorymap", mapTrace.Path, "-o", lines]);
        var written = CountLines(lines);
        File.Delete(lines);
        var onDisk = Path.Combine(work, "memorymap.txt");
        var mapToDisk = Timed($"memorymap {mapTrace.Name} to the work folder", [rewind, "memorymap", mapTrace.Path, "-o", onDisk]);
        File.Delete(onDisk);
        var linesPerSecond = written / map.Seconds / 1e6;
        var diskLinesPerSecond = written / mapToDisk.Seconds / 1e6;
        results.Add(new("memorymap, every instruction to a file",
            F($"{linesPerSecond:F1} M lines/s to a file in {inMemory} ({written:N0} lines in {map.Seconds:F2} s, {mapTrace.Name}); {diskLinesPerSecond:F1} M lines/s to a file on disk"),
            "5 M lines/s", linesPerSecond >= 5, new Dictionary<string, double>
            {
                ["lines"] = written,
                ["seconds"] = map.Seconds,
                ["diskSeconds"] = mapToDisk.Seconds,
            }));

        var replay = Timed($"replay {shortTrace.Name}", [rewind, "replay", "--quiet", shortTrace.Path]);
        var filtered = Timed($"memorymap --pcs main {shortTrace.Name}", [rewind, "memorymap", shortTrace.Path, "--pcs", Hex(main), "-o", onDisk]);
        File.Delete(onDisk);
        var relative = replay.Seconds / filtered.Seconds;
        results.Add(new("memorymap --pcs, speed against a plain replay", F($"{relative:F2} ({filtered.Seconds:F2} s against {replay.Seconds:F2} s, --pcs main, {shortTrace.Name})"),
            "at least 0.5", relative >= 0.5, new Dictionary<string, double> { ["seconds"] = filtered.Seconds, ["replaySeconds"] = replay.Seconds, ["ratio"] = relative }));
        return results;
    }

    sealed record TraceFile(string Path, string Name, long Instructions);

    /// <summary>compute N ROUNDS recorded into the work folder, with its instruction count.</summary>
    TraceFile Record(string program, int size, int rounds = 1)
    {
        var path = Path.Combine(work, $"compute-{size}-{rounds}.rwd");
        var name = rounds > 1 ? F($"compute {size} x{rounds}") : F($"compute {size}");
        AnsiConsole.MarkupLine($"  recording {Markup.Escape(name)}");
        Run([rewind, "record", "-o", path, "--", program, size.ToString(CultureInfo.InvariantCulture), rounds.ToString(CultureInfo.InvariantCulture)]);
        using var info = JsonDocument.Parse(Run([rewind, "info", "--json", path]).Output);
        var instructions = info.RootElement.GetProperty("instructions").GetInt64();
        return new TraceFile(path, string.Create(CultureInfo.InvariantCulture, $"{name}: {instructions / 1e9:F2} G instructions"), instructions);
    }

    sealed record Timing(RunResult Result, double Seconds, long PeakResidentBytes, long StdoutBytes, long Lines);

    /// <summary>The best of --repeat runs (a run over 10 s is not repeated): the machine's speed, not its load.</summary>
    Timing Timed(string what, IReadOnlyList<string> arguments)
    {
        Timing? best = null;
        for (var i = 0; i < options.Runs; i++)
        {
            var (result, output) = Run(arguments);
            var lines = output.Count(c => c == '\n');
            if (best is null || result.Seconds < best.Seconds)
                best = new Timing(result, result.Seconds, result.PeakResidentBytes, result.StdoutBytes, lines);
            if (result.Seconds >= Bench.LongRun.TotalSeconds)
                break;
        }
        AnsiConsole.MarkupLine($"  {Markup.Escape(what),-52} {Cell.FormatSeconds(best!.Seconds)}, peak {Megabytes(best.PeakResidentBytes)}");
        return best;
    }

    (RunResult Result, string Output) Run(IReadOnlyList<string> arguments)
    {
        using var output = new MemoryStream();
        var invocation = new Invocation(arguments, work);
        var result = ProcessRunner.Run(invocation, _timeout, output);
        if (result.TimedOut || result.ExitCode != 0)
            throw new BenchException($"{invocation.Display} failed: {(result.TimedOut ? "timed out" : result.LastError)}");
        return (result, Encoding.UTF8.GetString(output.ToArray()));
    }

    /// <summary>Addresses of the kernel's symbols (it is built without PIE, so they are the run-time addresses).</summary>
    public static Dictionary<string, ulong> Symbols(string program, string work)
    {
        var nm = HostTools.Find("nm") ?? throw new BenchException("the targets need nm (binutils) to find the kernel's symbols");
        var symbols = new Dictionary<string, ulong>(StringComparer.Ordinal);
        using var output = new MemoryStream();
        var listed = ProcessRunner.Run(new Invocation([nm, program], work), TimeSpan.FromMinutes(1), output);
        if (listed.ExitCode != 0)
            throw new BenchException($"nm {program} failed: {listed.LastError}");
        foreach (var line in Encoding.UTF8.GetString(output.ToArray()).Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3 && ulong.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var address))
                symbols[parts[2]] = address;
        }
        foreach (var name in new[] { "rows_done", "main" })
        {
            if (!symbols.ContainsKey(name))
                throw new BenchException($"bench/kernels/compute.c has no symbol {name}");
        }
        return symbols;
    }

    static long CountLines(string path)
    {
        using var file = File.OpenRead(path);
        var buffer = new byte[1 << 20];
        long lines = 0;
        int read;
        while ((read = file.Read(buffer)) > 0)
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
        return lines;
    }

    static string Hex(ulong value) => $"0x{value:x}";

    static string Megabytes(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F0} MB");

    static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    public static void WriteTable(IReadOnlyList<TargetResult> results)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("target").AddColumn("measured").AddColumn("goal").AddColumn("met");
        foreach (var r in results)
            table.AddRow(Markup.Escape(r.Name), Markup.Escape(r.Measured), Markup.Escape(r.Goal), r.Met ? "[green]yes[/]" : "[red]no[/]");
        AnsiConsole.Write(table);
    }

    public static string Markdown(IReadOnlyList<TargetResult> results, Machine machine, DateTimeOffset date, BenchOptions options,
        string title = "Rewind performance targets", string measured = "wall-clock time including start-up")
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# {title}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Machine: {machine.Line}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Date: {date:yyyy-MM-dd HH:mm} UTC\n");
        md.Append(CultureInfo.InvariantCulture, $"- Method: best of {options.Runs} runs (a run of 10 s or more is not repeated), {measured}\n\n");
        md.Append("| target | measured | goal | met |\n|---|---|---|---|\n");
        foreach (var r in results)
            md.Append(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Measured} | {r.Goal} | {(r.Met ? "yes" : "no")} |\n");
        return md.ToString();
    }

    public static string Json(IReadOnlyList<TargetResult> results, DateTimeOffset date)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("date", date);
            json.WriteStartArray("targets");
            foreach (var r in results)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Name);
                json.WriteString("measured", r.Measured);
                json.WriteString("goal", r.Goal);
                json.WriteBoolean("met", r.Met);
                foreach (var (name, value) in r.Figures)
                    json.WriteNumber(name, double.IsFinite(value) ? value : -1);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
