namespace Rewind.Query.Tests.Introspection;

/// <summary>
/// A trace cut short (a recorder killed outright) still answers for the part it holds, and every
/// query says that the answer stops where the trace does.
/// </summary>
public sealed class IncompleteTraceTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("rewind-incomplete-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>stdin_echo copying 2 MB (events and stored input spread over many chunks), recorded whole and cut to 60%.</summary>
    async Task<(string Whole, string Cut)> RecordAndCutAsync()
    {
        var input = new byte[2 << 20];
        new Random(7).NextBytes(input);
        var whole = Path.Combine(_folder, "whole.rwd");
        var record = await GuestRunner.RewindCommandAsync(["record", "-o", whole, "--", GuestRunner.Guest("stdin_echo-static")], new RunSettings { Stdin = input });
        Assert.True(record.ExitCode == 0, $"recording stdin_echo: {record}");
        var bytes = await File.ReadAllBytesAsync(whole);
        var cut = Path.Combine(_folder, "cut.rwd");
        await File.WriteAllBytesAsync(cut, bytes[..(bytes.Length * 6 / 10)]);
        return (whole, cut);
    }

    [Fact]
    public async Task Views_and_queries_on_a_cut_trace_warn_and_answer_for_what_is_there()
    {
        var (whole, cut) = await RecordAndCutAsync();

        var complete = await QueryCli.RunAsync("events", whole, "--format", "jsonl");
        Assert.True(complete.ExitCode == 0, complete.ToString());
        Assert.DoesNotContain("incomplete", complete.Stderr, StringComparison.Ordinal);
        Assert.Contains("\"ProcessExit\"", complete.StdoutText, StringComparison.Ordinal);

        var events = await QueryCli.RunAsync("events", cut, "--format", "jsonl");
        Assert.True(events.ExitCode == 0, events.ToString());
        Assert.StartsWith("rewind: the trace is incomplete (", events.Stderr, StringComparison.Ordinal);
        Assert.Contains("\"ModuleLoaded\"", events.StdoutText, StringComparison.Ordinal);
        Assert.DoesNotContain("\"ProcessExit\"", events.StdoutText, StringComparison.Ordinal);

        // The stack is read and written all along the run, so the part that is there has accesses.
        var memory = await QueryCli.RunAsync("memory", cut, "0x7ffffffde000", "0x7ffffffff000", "w", "--format", "jsonl", "--limit", "5");
        Assert.True(memory.ExitCode == 0, memory.ToString());
        Assert.Contains("rewind: the trace is incomplete (", memory.Stderr, StringComparison.Ordinal);
        Assert.Equal(5, memory.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
