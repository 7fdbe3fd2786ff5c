using System.Globalization;
using Rewind.Query.Tests.Memory;

namespace Rewind.Export.Tests;

/// <summary>rewind sql: answers from the exported tables, which it exports on first use and keeps beside the trace until the trace changes.</summary>
public sealed class SqlTests(GlobalsTraces traces) : IClassFixture<GlobalsTraces>
{
    static Task<RunResult> SqlAsync(string trace, string query, params string[] options) =>
        GuestRunner.RewindCommandAsync(["sql", trace, query, .. options]);

    [Fact]
    public async Task A_query_counts_the_writes_the_program_logged_and_the_tables_stay_beside_the_trace_until_it_changes()
    {
        var (trace, run) = await traces.GetAsync("dynamic");
        var writes = run.Accesses.Count(a => a.Kind == 'W');
        var query = $"SELECT count(*) AS writes, count(DISTINCT address) AS addresses FROM memory WHERE access = 'w' AND address >= {run.Area} AND address < {run.Area + 32}";
        var first = await SqlAsync(trace, query, "--format", "csv");
        Assert.True(first.ExitCode == 0, first.ToString());
        var addresses = run.Accesses.Where(a => a.Kind == 'W').Select(a => a.Offset).Distinct().Count();
        Assert.Equal($"writes,addresses\n{writes},{addresses}\n", first.StdoutText);
        var cache = trace + "p";
        var version = Assert.Single(Directory.GetDirectories(cache));
        Assert.True(Directory.Exists(Path.Combine(version, "memory")));
        Assert.False(Directory.Exists(Path.Combine(version, "syscalls")), "only the tables the query named are exported");

        // The same answer from the cache, as JSON lines; then a changed trace gets its tables again.
        var again = await SqlAsync(trace, query, "--format", "jsonl");
        Assert.Equal($"{{\"writes\":{writes},\"addresses\":{addresses}}}\n", again.StdoutText);
        File.SetLastWriteTimeUtc(trace, DateTime.UtcNow.AddMinutes(1));
        var changed = await SqlAsync(trace, "SELECT count(*) FROM syscalls WHERE name = 'exit_group'", "--format", "csv");
        Assert.Equal("count_star()\n1\n", changed.StdoutText);
        Assert.NotEqual(version, Assert.Single(Directory.GetDirectories(cache)));
    }

    [Fact]
    public async Task A_query_DuckDB_rejects_is_a_one_line_error()
    {
        var (trace, _) = await traces.GetAsync("static");
        var result = await SqlAsync(trace, "SELECT no_such_column FROM threads");
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("no_such_column", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_prompt_runs_each_query_that_ends_with_a_semicolon()
    {
        var (trace, run) = await traces.GetAsync("pie");
        var input = $"SELECT count(*) AS calls\nFROM memory WHERE access = 'e' AND address = {run.Marker};\nSELECT 2 AS two;\nq\n";
        var result = await GuestRunner.RewindCommandAsync(["sql", trace, "--format", "csv"], new RunSettings { Stdin = System.Text.Encoding.UTF8.GetBytes(input) });
        Assert.True(result.ExitCode == 0, result.ToString());
        var stdout = result.StdoutText;
        Assert.Equal($"calls\n{run.Calls.ToString(CultureInfo.InvariantCulture)}\ntwo\n2\n", stdout);
    }
}
