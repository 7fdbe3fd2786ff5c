using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Rewind.Query.Tests.Introspection;

/// <summary>A guest program recorded once into a temporary folder, for the tests of one class to query.</summary>
public sealed class RecordedGuest : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("rewind-query-tests-").FullName;
    readonly Lazy<Task<RunResult>> _record;

    public RecordedGuest(string guest)
    {
        Program = GuestRunner.Guest(guest);
        Trace = Path.Combine(_folder, guest + ".rwd");
        _record = new(() => GuestRunner.RewindCommandAsync(["record", "-o", Trace, "--", Program], new RunSettings { WorkingDirectory = _folder }));
    }

    /// <summary>The program's absolute path, as it was started.</summary>
    public string Program { get; }

    public string Trace { get; }

    public string Folder => _folder;

    /// <summary>The recording run (made on first use): the program's own output and exit status.</summary>
    public async Task<RunResult> RecordAsync()
    {
        var result = await _record.Value.ConfigureAwait(false);
        Assert.True(File.Exists(Trace), $"rewind record wrote no trace: {result}");
        return result;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One memorymap line, split into its fields (the line must match PANDA's format exactly).</summary>
public sealed partial record MemoryMapLine(ulong Pc, long InstructionCount, string Process, int Pid, int Tid, bool InKernel,
    string ImageName, string ImagePath, string ImageBase)
{
    public static MemoryMapLine Parse(string line)
    {
        var match = Format().Match(line);
        Assert.True(match.Success, $"not a memorymap line: '{line}'");
        var g = match.Groups;
        return new MemoryMapLine(ulong.Parse(g["pc"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            long.Parse(g["count"].Value, CultureInfo.InvariantCulture), g["process"].Value,
            int.Parse(g["pid"].Value, CultureInfo.InvariantCulture), int.Parse(g["tid"].Value, CultureInfo.InvariantCulture),
            g["kernel"].Value == "true", g["name"].Value, g["path"].Value, g["base"].Value);
    }

    /// <summary>All lines of memorymap's output.</summary>
    public static MemoryMapLine[] ParseAll(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse).ToArray();

    // Hex in lower case without padding ("0" for zero), decimal without leading zeros.
    [GeneratedRegex(@"^pc=0x(?<pc>0|[1-9a-f][0-9a-f]*) instr_count=(?<count>0|[1-9][0-9]*) process=(?<process>\S+) pid=(?<pid>[0-9]+) tid=(?<tid>[0-9]+) in_kernel=(?<kernel>true|false) image_name=(?<name>\S+) image_path=(?<path>\S+) image_base=(?<base>0x(0|[1-9a-f][0-9a-f]*)|\(unknown\))$")]
    private static partial Regex Format();
}

/// <summary>The verbs as the tests call them.</summary>
public static class QueryCli
{
    public static Task<RunResult> RunAsync(params string[] arguments) => GuestRunner.RewindCommandAsync(arguments);

    /// <summary>Runs a verb that must succeed and returns its stdout.</summary>
    public static async Task<string> OutputAsync(params string[] arguments)
    {
        var result = await RunAsync(arguments).ConfigureAwait(false);
        Assert.True(result.ExitCode == 0, $"rewind {string.Join(' ', arguments)} failed: {result}");
        return result.StdoutText;
    }

    /// <summary>The jsonl output of a view, one parsed object per line.</summary>
    public static async Task<JsonElement[]> JsonLinesAsync(params string[] arguments)
    {
        var output = await OutputAsync([.. arguments, "--format", "jsonl"]).ConfigureAwait(false);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToArray();
    }

    /// <summary>The run failed with exactly one line from rewind on stderr, and no stack trace; returns that line.</summary>
    public static string AssertOneLineError(RunResult result)
    {
        Assert.NotEqual(0, result.ExitCode);
        Assert.NotEqual(70, result.ExitCode); // internal error
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr: {result}");
        Assert.StartsWith("rewind: ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", lines[0], StringComparison.Ordinal);
        Assert.Equal("", result.StdoutText);
        return lines[0];
    }

    public static ulong Hex(string text) =>
        ulong.Parse(text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
