using System.Globalization;
using System.Text.RegularExpressions;

namespace Rewind.Replay.Tests;

/// <summary>What 'rewind replay' says in its last status line: how many instructions, and the final state hash.</summary>
public readonly record struct ReplaySummary(long Instructions, string StateHash);

/// <summary>
/// The 'record', 'replay' and 'info' verbs as a test calls them, and the facts a test reads from
/// their output. Rewind's own lines on stderr start with "rewind: "; everything else there is the program's.
/// </summary>
public static partial class RewindCli
{
    public const string StatusPrefix = "rewind: ";

    /// <summary>rewind record -o TRACE [OPTIONS] -- PROGRAM ARGUMENTS...</summary>
    public static Task<RunResult> RecordAsync(string trace, string program, IEnumerable<string> arguments, RunSettings? settings = null, IEnumerable<string>? options = null) =>
        GuestRunner.RewindCommandAsync(["record", "-o", trace, .. options ?? [], "--", program, .. arguments], settings, $"rewind record {program}");

    /// <summary>rewind replay [--verify] TRACE</summary>
    public static Task<RunResult> ReplayAsync(string trace, bool verify = true, RunSettings? settings = null) =>
        GuestRunner.RewindCommandAsync(verify ? ["replay", "--verify", trace] : ["replay", trace], settings);

    /// <summary>rewind info TRACE</summary>
    public static Task<RunResult> InfoAsync(string trace, RunSettings? settings = null) =>
        GuestRunner.RewindCommandAsync(["info", trace], settings);

    /// <summary>What the program itself wrote to stderr: the output without rewind's status lines.</summary>
    public static string ProgramStderr(string stderr) =>
        string.Concat(Lines(stderr).Where(line => !line.StartsWith(StatusPrefix, StringComparison.Ordinal)));

    /// <summary>Rewind's own status lines on stderr, without their line ends.</summary>
    public static string[] StatusLines(string stderr) =>
        Lines(stderr).Where(line => line.StartsWith(StatusPrefix, StringComparison.Ordinal)).Select(line => line.TrimEnd('\n')).ToArray();

    /// <summary>The instruction count in record's "recorded N instructions in ... to TRACE" line.</summary>
    public static long RecordedInstructions(RunResult record)
    {
        var match = RecordedLine().Match(record.Stderr);
        Assert.True(match.Success, $"no 'recorded N instructions' line in:\n{record.Stderr}");
        return ParseCount(match.Groups[1].Value);
    }

    /// <summary>The numbers in replay's "replayed N instructions in ... final state HASH" line.</summary>
    public static ReplaySummary Summary(RunResult replay)
    {
        var match = ReplayedLine().Match(replay.Stderr);
        Assert.True(match.Success, $"no 'replayed N instructions ... final state HASH' line in:\n{replay.Stderr}");
        return new ReplaySummary(ParseCount(match.Groups[1].Value), match.Groups[2].Value);
    }

    /// <summary>A count as rewind prints it, with thousands separators ("1,234,567").</summary>
    public static long ParseCount(string text) => long.Parse(text.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);

    /// <summary>A hex number with or without its 0x.</summary>
    public static ulong ParseHex(string text) =>
        ulong.Parse(text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>
    /// Rewind failed cleanly: no .NET stack trace or exception name anywhere in its output, and
    /// not the catch-all "internal error" that marks a bug in Rewind.
    /// </summary>
    public static void AssertNoCrash(RunResult result)
    {
        foreach (var text in new[] { result.StdoutText, result.Stderr })
        {
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
            Assert.DoesNotContain("internal error", text, StringComparison.Ordinal);
        }
        Assert.NotEqual(70, result.ExitCode);
        Assert.True(result.ExitCode < 128, $"rewind itself died of signal {result.ExitCode - 128}: {result}");
    }

    /// <summary>The run failed with exactly one line from rewind on stderr, which it returns.</summary>
    public static string AssertOneLineError(RunResult result)
    {
        AssertNoCrash(result);
        Assert.NotEqual(0, result.ExitCode);
        var lines = StatusLines(result.Stderr);
        Assert.True(lines.Length == 1, $"expected one 'rewind: ' line, got {lines.Length}: {result}");
        return lines[0];
    }

    /// <summary>The lines of a text, each with its '\n' (the last one may lack it).</summary>
    static IEnumerable<string> Lines(string text)
    {
        for (var start = 0; start < text.Length;)
        {
            var end = text.IndexOf('\n', start);
            var next = end < 0 ? text.Length : end + 1;
            yield return text[start..next];
            start = next;
        }
    }

    [GeneratedRegex(@"^rewind: recorded ([\d,]+) instructions in ", RegexOptions.Multiline)]
    private static partial Regex RecordedLine();

    [GeneratedRegex(@"^rewind: replayed ([\d,]+) instructions in .*, final state ([0-9a-f]{32})$", RegexOptions.Multiline)]
    private static partial Regex ReplayedLine();
}
