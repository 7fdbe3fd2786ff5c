using System.Globalization;
using System.Text.Json;

namespace Rewind.Query.Tests.Memory;

/// <summary>
/// 'rewind memory': its output formats (fields named as in TTD, numbers as numbers, addresses and
/// values as "0x..." strings, positions as "SEQ:STEPS"), the index beside the trace, and one-line
/// errors for bad input.
/// </summary>
public sealed class MemoryCommandTests(GlobalsTraces traces) : IClassFixture<GlobalsTraces>
{
    static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    static async Task<RunResult> MemoryAsync(params string[] arguments) => await GuestRunner.RewindCommandAsync(["memory", .. arguments]);

    [Fact]
    public async Task JsonLinesHaveTtdsFieldsWithTheirTypes()
    {
        var (trace, run) = await traces.GetAsync("static");
        var result = await MemoryAsync(trace, Hex(run.Area), Hex(run.Area + 32), "rw", "--format", "jsonl");
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var expected = run.Overlapping(0, 32, "RW").ToArray();
        Assert.Equal(expected.Length, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            using var json = JsonDocument.Parse(lines[i]);
            var o = json.RootElement;
            Assert.Equal("MemoryAccess", o.GetProperty("EventType").GetString());
            Assert.Equal(JsonValueKind.Number, o.GetProperty("ThreadId").ValueKind);
            Assert.Equal(1, o.GetProperty("UniqueThreadId").GetInt32());
            Assert.Matches("^[0-9A-F]+:[0-9A-F]+$", o.GetProperty("TimeStart").GetString());
            Assert.Equal(o.GetProperty("TimeStart").GetString(), o.GetProperty("TimeEnd").GetString());
            Assert.Equal(expected[i].Kind == 'R' ? "Read" : "Write", o.GetProperty("AccessType").GetString());
            Assert.Matches("^0x[0-9a-f]+$", o.GetProperty("IP").GetString());
            Assert.Equal(Hex(run.Area + expected[i].Offset), o.GetProperty("Address").GetString());
            Assert.Equal(expected[i].Size, o.GetProperty("Size").GetInt32());
            Assert.Equal(Hex(expected[i].Value), o.GetProperty("Value").GetString());
            Assert.Equal(JsonValueKind.Number, o.GetProperty("InstrCount").ValueKind);
        }
    }

    [Fact]
    public async Task JsonCsvAndTableAgree()
    {
        var (trace, run) = await traces.GetAsync("static");
        string[] range = [trace, Hex(run.Area + 24), (run.Area + 32).ToString(CultureInfo.InvariantCulture), "c"];
        var json = await MemoryAsync([.. range, "--format", "json"]);
        var csv = await MemoryAsync([.. range, "--format", "csv"]);
        var table = await MemoryAsync(range);
        Assert.True(json.ExitCode == 0 && csv.ExitCode == 0 && table.ExitCode == 0, $"{json}\n{csv}\n{table}");

        using var document = JsonDocument.Parse(json.StdoutText);
        var array = document.RootElement.EnumerateArray().ToArray();
        Assert.Equal(["0x5", "0x6"], array.Select(a => a.GetProperty("Value").GetString()!).ToArray());
        Assert.Equal(["0x0", "0x5"], array.Select(a => a.GetProperty("OverwrittenValue").GetString()!).ToArray());

        var rows = csv.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("EventType,ThreadId,UniqueThreadId,TimeStart,TimeEnd,AccessType,IP,Address,Size,Value,InstrCount,OverwrittenValue", rows[0]);
        Assert.Equal(3, rows.Length);
        Assert.Matches(",Write,0x[0-9a-f]+,0x[0-9a-f]+,8,0x5,[0-9]+,0x0$", rows[1]);

        // The grid: a border, the header between '=', a border, one row per access, a border.
        var lines = table.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        Assert.Matches("^=+$", lines[0]);
        Assert.Matches(@"^= += EventType +(= \w+ +)+=$", lines[1]);
        Assert.StartsWith("= [0x0] ", lines[3], StringComparison.Ordinal);
        Assert.Contains("- MemoryAccess ", lines[3], StringComparison.Ordinal);
        Assert.Contains("- " + array[0].GetProperty("TimeStart").GetString() + " ", lines[3], StringComparison.Ordinal);
        Assert.StartsWith("= [0x1] ", lines[4], StringComparison.Ordinal);
    }

    [Fact]
    public async Task LimitStopsAfterThatMany()
    {
        var (trace, run) = await traces.GetAsync(GlobalsTraces.ManySegments);
        var result = await MemoryAsync(trace, Hex(run.Area), Hex(run.Area + 32), "--format", "jsonl", "--limit", "2");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, result.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Theory]
    [InlineData("0xzz", "0x10", "rw", "'0xzz'")]
    [InlineData("12abc", "0x10", "rw", "'12abc'")]
    [InlineData("-5", "0x10", "rw", "'-5'")]
    [InlineData("0x10", "0x1ffffffffffffffff", "rw", "'0x1ffffffffffffffff'")]
    [InlineData("0x", "0x10", "rw", "'0x'")]
    [InlineData("0x20", "0x10", "rw", "begin 0x20 must be below end 0x10")]
    [InlineData("0x20", "0x20", "rw", "begin 0x20 must be below end 0x20")]
    [InlineData("0x10", "0x20", "rx", "'x'")]
    [InlineData("0x10", "0x20", "", "empty")]
    public async Task BadInputIsAOneLineError(string begin, string end, string mask, string said)
    {
        var (trace, _) = await traces.GetAsync("static");
        var result = await MemoryAsync(trace, begin, end, mask);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Empty(result.StdoutText);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("rewind: ", line, StringComparison.Ordinal);
        Assert.Contains(said, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingTraceIsAOneLineError()
    {
        var result = await MemoryAsync(Path.Combine(traces.Folder, "nothing.rwd"), "0x10", "0x20");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Matches(@"^rewind: .*nothing\.rwd: no such file\n$", result.Stderr);
    }
}
