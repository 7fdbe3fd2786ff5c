using System.Globalization;
using System.Text.RegularExpressions;

namespace Rewind.Query.Tests.Memory;

/// <summary>One access the guest logged: read or write, offset in its global, size, value.</summary>
public readonly record struct LoggedAccess(char Kind, ulong Offset, int Size, ulong Value);

/// <summary>
/// What tests/guest/globals_rw.c printed about its own run: the address of its global, the
/// address and first 16 bytes of the function it called, how often, and every access it made to
/// the global, in order. This is the ground truth the queries are checked against.
/// </summary>
public sealed partial record GlobalsRun(ulong Area, ulong Marker, byte[] MarkerBytes, int Calls, ulong SelfRead, uint SelfReadValue, IReadOnlyList<LoggedAccess> Accesses)
{
    public static GlobalsRun Parse(string stdout)
    {
        var area = AreaLine().Match(stdout);
        var marker = MarkerLine().Match(stdout);
        var calls = CallsLine().Match(stdout);
        var selfRead = SelfReadLine().Match(stdout);
        Assert.True(area.Success && marker.Success && calls.Success && selfRead.Success, $"globals_rw printed something else:\n{stdout}");
        var accesses = AccessLine().Matches(stdout).Select(m => new LoggedAccess(m.Groups[1].Value[0],
            ulong.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
            ulong.Parse(m.Groups[4].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture))).ToArray();
        return new GlobalsRun(Hex(area.Groups[1].Value), Hex(marker.Groups[1].Value), Convert.FromHexString(marker.Groups[2].Value),
            int.Parse(calls.Groups[1].Value, CultureInfo.InvariantCulture), Hex(selfRead.Groups[1].Value), (uint)Hex(selfRead.Groups[2].Value), accesses);
    }

    static ulong Hex(string text) => ulong.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>The logged accesses whose bytes overlap [begin, end) (offsets from the global), of the given kinds.</summary>
    public IEnumerable<LoggedAccess> Overlapping(ulong begin, ulong end, string kinds) =>
        Accesses.Where(a => kinds.Contains(a.Kind, StringComparison.Ordinal) && a.Offset < end && a.Offset + (ulong)a.Size > begin);

    [GeneratedRegex(@"^area 0x([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex AreaLine();

    [GeneratedRegex(@"^marker 0x([0-9a-f]+) ([0-9a-f]{32})$", RegexOptions.Multiline)]
    private static partial Regex MarkerLine();

    [GeneratedRegex(@"^calls (\d+) ", RegexOptions.Multiline)]
    private static partial Regex CallsLine();

    [GeneratedRegex(@"^self_read 0x([0-9a-f]+) 0x([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex SelfReadLine();

    [GeneratedRegex(@"^access ([RW]) (\d+) (\d+) 0x([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex AccessLine();
}

/// <summary>
/// globals_rw recorded once per build (static, dynamic, PIE), and the static build once more
/// with a keyframe every 2,000 instructions, so that its queries span many segments replayed in
/// parallel. Each trace lives in its own temporary folder with its index.
/// </summary>
public sealed class GlobalsTraces : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("rewind-memory-tests-").FullName;
    readonly Dictionary<string, Lazy<Task<(string Trace, GlobalsRun Run)>>> _traces = [];
    readonly Lock _gate = new();

    public const string ManySegments = "static-many-segments";

    public string Folder => _folder;

    /// <summary>The trace of build <paramref name="build"/> ("static", "dynamic", "pie" or <see cref="ManySegments"/>) and what the program printed.</summary>
    public Task<(string Trace, GlobalsRun Run)> GetAsync(string build)
    {
        lock (_gate)
        {
            if (!_traces.TryGetValue(build, out var trace))
                _traces[build] = trace = new(() => RecordAsync(build));
            return trace.Value;
        }
    }

    async Task<(string, GlobalsRun)> RecordAsync(string build)
    {
        var many = build == ManySegments;
        var program = GuestRunner.Guest("globals_rw-" + (many ? "static" : build));
        var trace = Path.Combine(_folder, build, "globals.rwd");
        Directory.CreateDirectory(Path.GetDirectoryName(trace)!);
        string[] options = many ? ["--keyframe-every", "2000"] : [];
        var result = await GuestRunner.RewindCommandAsync(["record", "-o", trace, .. options, "--", program], new RunSettings { WorkingDirectory = _folder }).ConfigureAwait(false);
        Assert.True(result.ExitCode == 0 && File.Exists(trace), $"recording {program} failed: {result}");
        return (trace, GlobalsRun.Parse(result.StdoutText));
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
