using System.Globalization;
using System.Text.RegularExpressions;
using Rewind.Query.Tests.Memory;

namespace Rewind.Export.Tests;

/// <summary>
/// rewind export against independent truth: the accesses globals_rw logged itself, the instruction
/// count rewind info reads from the trace's end, strace's syscall counts of a native run, and an
/// export cut into separate processes against the whole one. The files are read by DuckDB alone.
/// </summary>
public sealed partial class ExportTests(ExportedGlobals exported) : IClassFixture<ExportedGlobals>
{
    readonly GlobalsTraces _traces = exported.Traces;

    internal static async Task<string> ExportAsync(string trace, string folder, params string[] options)
    {
        var result = await GuestRunner.RewindCommandAsync(["export", trace, "-o", folder, .. options]);
        Assert.True(result.ExitCode == 0, $"rewind export failed: {result}");
        return folder;
    }

    async Task<(string Trace, GlobalsRun Run, Dataset Data)> ExportedGlobalsAsync()
    {
        var (trace, run, folder) = await exported.GetAsync();
        return (trace, run, new Dataset(folder));
    }

    [Fact]
    public async Task The_memory_table_holds_exactly_the_reads_and_writes_the_program_logged_of_its_global()
    {
        var (_, run, data) = await ExportedGlobalsAsync();
        using var _ = data;
        var rows = data.Rows($"SELECT access, address - {run.Area}, size, value FROM memory " +
            $"WHERE access <> 'e' AND address < {run.Area + 32} AND address + size > {run.Area} ORDER BY instr_count, access = 'w'");
        var exported = rows.Select(r => new LoggedAccess(char.ToUpperInvariant(((string)r[0]!)[0]), Convert.ToUInt64(r[1], CultureInfo.InvariantCulture),
            Convert.ToInt32(r[2], CultureInfo.InvariantCulture), Convert.ToUInt64(r[3], CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(run.Accesses, exported);
        Assert.Contains(run.Accesses, a => a.Kind == 'W');
        // Each call ran the function's first instruction once, and its 'e' row holds the bytes the program printed.
        var executions = data.Rows($"SELECT size, value FROM memory WHERE access = 'e' AND address = {run.Marker}");
        Assert.Equal(run.Calls, executions.Count);
        var size = Convert.ToInt32(executions[0][0], CultureInfo.InvariantCulture);
        Assert.Equal(BitConverter.ToUInt64(run.MarkerBytes) & (size >= 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1), Convert.ToUInt64(executions[0][1], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task The_instructions_table_has_one_row_for_each_instruction_rewind_info_counts()
    {
        var (trace, run, data) = await ExportedGlobalsAsync();
        using var _ = data;
        var info = await GuestRunner.RewindCommandAsync(["info", trace]);
        var match = InstructionsLine().Match(info.StdoutText);
        Assert.True(match.Success, $"no instruction count in rewind info:\n{info}");
        var instructions = long.Parse(match.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
        var row = data.Rows("SELECT count(*), count(DISTINCT instr_count), min(instr_count), max(instr_count), count(DISTINCT segment) FROM instructions")[0];
        Assert.Equal([instructions, instructions, 0L, instructions - 1], row[..4].Select(v => Convert.ToInt64(v, CultureInfo.InvariantCulture)));
        Assert.True(Convert.ToInt64(row[4], CultureInfo.InvariantCulture) > 10, "the trace was to have many segments");
        Assert.Equal(instructions, data.Count("SELECT count(*) FROM memory WHERE access = 'e'"));
        // The function the program called, named from the ELF symbols at the address it printed, once per call.
        Assert.Equal([(object?)"marker"], data.Rows($"SELECT DISTINCT symbol FROM instructions WHERE pc = {run.Marker}").Select(r => r[0]));
        Assert.Equal(run.Calls, data.Count($"SELECT count(*) FROM instructions WHERE pc = {run.Marker}"));
        // Positions: a sequence's steps count from 0, one per instruction.
        Assert.Equal(0, data.Count("SELECT count(*) FROM (SELECT sequence, min(steps) AS first, max(steps) - min(steps) + 1 - count(*) AS gaps FROM instructions GROUP BY 1) WHERE first <> 0 OR gaps <> 0"));
    }

    [Fact]
    public async Task Exports_of_disjoint_segment_ranges_by_separate_processes_make_the_whole_export()
    {
        var (trace, _, whole) = await ExportedGlobalsAsync();
        using var _ = whole;
        var segments = (int)whole.Count("SELECT count(DISTINCT segment) FROM instructions");
        var parts = Path.Combine(_traces.Folder, "parts");
        var third = segments / 3;
        await Task.WhenAll(
            ExportAsync(trace, parts, "--segments", $"0-{third - 1}", "--workers", "1"),
            ExportAsync(trace, parts, "--segments", $"{third}-{2 * third}", "--workers", "1"),
            ExportAsync(trace, parts, "--segments", $"{2 * third + 1}-{segments - 1}", "--workers", "1"));
        whole.Attach("part", parts);
        foreach (var table in ExportSchema.Tables.Select(t => t.Name))
        {
            Assert.Equal(whole.Count($"SELECT count(*) FROM {table}"), whole.Count($"SELECT count(*) FROM part_{table}"));
            Assert.Equal(0, whole.Count($"SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL SELECT * FROM part_{table})"));
            Assert.Equal(0, whole.Count($"SELECT count(*) FROM (SELECT * FROM part_{table} EXCEPT ALL SELECT * FROM {table})"));
        }
    }

    [Fact]
    public async Task Every_table_opens_in_DuckDB_with_the_documented_columns()
    {
        var (_, _, data) = await ExportedGlobalsAsync();
        using var _ = data;
        foreach (var table in ExportSchema.Tables)
        {
            var columns = data.Rows($"DESCRIBE SELECT * FROM {table.Name}").Select(r => ((string)r[0]!, (string)r[1]!)).ToList();
            var documented = table.Columns.Select(c => (c.Name, ExportSchema.SqlType(c.Kind))).Append(("segment", "BIGINT")).ToList();
            Assert.Equal(documented, columns);
        }
        var docs = File.ReadAllText(Path.Combine(GuestRunner.RepoRoot, "docs", "export.md"));
        Assert.Contains(ExportSchema.Markdown(), docs, StringComparison.Ordinal);
        Assert.Contains($"Schema version {ExportSchema.Version}", docs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_syscalls_table_counts_each_syscall_as_strace_does_in_a_native_run()
    {
        var program = GuestRunner.Guest("syscall_mix-static");
        var folder = Directory.CreateTempSubdirectory("rewind-export-strace-").FullName;
        try
        {
            var counts = Path.Combine(folder, "strace.txt");
            var native = await GuestRunner.NativeAsync(GuestRunner.Tool("strace"), ["-c", "-f", "-o", counts, program]);
            Assert.True(native.ExitCode == 0, $"strace failed: {native}");
            // strace -c lists the program's own execve and a total, and no syscall that does not return (exit, exit_group).
            var expected = StraceLine().Matches(File.ReadAllText(counts))
                .Select(m => (Name: m.Groups[2].Value, Calls: long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)))
                .Where(s => s.Name is not ("execve" or "total")).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
            var trace = Path.Combine(folder, "mix.rwd");
            var record = await GuestRunner.RewindCommandAsync(["record", "-o", trace, "--", program]);
            Assert.True(record.ExitCode == 0, $"rewind record failed: {record}");
            Assert.Equal(native.StdoutText, record.StdoutText);
            using var data = new Dataset(await ExportAsync(trace, Path.Combine(folder, "data"), "--tables", "syscalls"));
            var exported = data.Rows("SELECT name, count(*) FROM syscalls WHERE name NOT IN ('exit', 'exit_group') GROUP BY 1 ORDER BY 1")
                .Select(r => (Name: (string)r[0]!, Calls: Convert.ToInt64(r[1], CultureInfo.InvariantCulture))).ToList();
            Assert.Equal(expected, exported);
            // The arguments are the program's: every lseek went to offset i * 16.
            Assert.Equal(Enumerable.Range(0, 7).Select(i => (object?)(ulong)(i * 16)), data.Rows("SELECT arg1 FROM syscalls WHERE name = 'lseek' ORDER BY instr_count").Select(r => r[0]));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Bad_options_are_one_line_errors()
    {
        var (trace, _) = await _traces.GetAsync("static");
        var output = Path.Combine(_traces.Folder, "bad");
        foreach (var options in new[] { ["--tables", "memory,registers"], ["--segments", "5-2"], ["--segments", "x"], ["--from", "zz"], ["--range", "0x10", "0x10"], new[] { "--segments", "99999" } })
        {
            var result = await GuestRunner.RewindCommandAsync(["export", trace, "-o", output, .. options]);
            Assert.Equal(2, result.ExitCode);
            Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        Assert.False(Directory.Exists(output));
    }

    [GeneratedRegex(@"^Instructions\s+([\d,]+)", RegexOptions.Multiline)]
    private static partial Regex InstructionsLine();

    // "  0.00    0.000000           0         7           openat" (an errors column may stand before the name).
    [GeneratedRegex(@"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$", RegexOptions.Multiline)]
    private static partial Regex StraceLine();
}

/// <summary>globals_rw recorded with many segments (<see cref="GlobalsTraces.ManySegments"/>) and exported whole once, for all the tests.</summary>
public sealed class ExportedGlobals : IDisposable
{
    readonly Lazy<Task<(string Trace, GlobalsRun Run, string Folder)>> _export;

    public ExportedGlobals() => _export = new(async () =>
    {
        var (trace, run) = await Traces.GetAsync(GlobalsTraces.ManySegments);
        return (trace, run, await ExportTests.ExportAsync(trace, Path.Combine(Traces.Folder, "whole")));
    });

    public GlobalsTraces Traces { get; } = new();

    public Task<(string Trace, GlobalsRun Run, string Folder)> GetAsync() => _export.Value;

    public void Dispose() => Traces.Dispose();
}
