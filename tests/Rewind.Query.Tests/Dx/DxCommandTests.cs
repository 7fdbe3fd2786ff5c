using System.Globalization;
using Rewind.Query.Tests.Memory;

namespace Rewind.Query.Tests.Dx;

/// <summary>
/// 'rewind dx' on globals_rw: what expressions evaluate to (checked against the program's own log)
/// and how dx lays results out, following TTD's documentation: a collection lists [0x0], [0x1]...,
/// -r1 expands children as "Name : value", positions read "5D:113 [Time Travel]", SeekTo() prints
/// the position, the registers and the instruction. Layout checks are snapshot-style; values come
/// from the ground truth.
/// </summary>
public sealed class DxCommandTests(GlobalsTraces traces) : IClassFixture<GlobalsTraces>
{
    static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    async Task<(string Trace, GlobalsRun Run, string Query)> MemoryAsync(ulong begin, ulong end, string mask = "rw")
    {
        var (trace, run) = await traces.GetAsync("static");
        return (trace, run, $"@$cursession.TTD.Memory({Hex(run.Area + begin)}, {Hex(run.Area + end)}, \"{mask}\")");
    }

    static async Task<string[]> DxAsync(params string[] arguments)
    {
        var result = await GuestRunner.RewindCommandAsync(["dx", .. arguments]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StdoutText.Split('\n')[..^1];
    }

    static async Task<RunResult> DxFailsAsync(params string[] arguments)
    {
        var result = await GuestRunner.RewindCommandAsync(["dx", .. arguments]);
        Assert.NotEqual(0, result.ExitCode);
        return result;
    }

    [Fact]
    public async Task ACollectionListsItsItemsByHexIndex()
    {
        var (trace, run, query) = await MemoryAsync(0, 16);
        var lines = await DxAsync(trace, query);
        var count = run.Overlapping(0, 16, "RW").Count();
        Assert.Equal([query, .. Enumerable.Range(0, count).Select(i => $"[0x{i:x}]")], lines);
    }

    [Fact]
    public async Task AnAccessExpandsToTtdsChildren()
    {
        var (trace, run, query) = await MemoryAsync(0, 16);
        var lines = await DxAsync(trace, "-r1", query + "[0x2]");
        var position = lines[4]["TimeStart : ".Length..];
        Assert.Matches("^[0-9A-F]+:[0-9A-F]+ \\[Time Travel\\]$", position);
        Assert.Equal(
        [
            query + "[0x2]",
            "EventType : MemoryAccess",
            $"ThreadId : 0x{lines[2]["ThreadId : 0x".Length..]}",
            "UniqueThreadId : 0x1",
            "TimeStart : " + position,
            "TimeEnd : " + position,
            "AccessType : Write",
            lines[7],
            $"Address : {Hex(run.Area + 8)}",
            "Size : 0x4",
            "Value : 0xdeadbeef",
        ], lines);
        Assert.Matches("^IP : 0x[0-9a-f]+$", lines[7]);
        Assert.Matches("^ThreadId : 0x[0-9a-f]+$", lines[2]);
    }

    [Fact]
    public async Task APositionShowsAsSequenceAndSteps()
    {
        var (trace, _, query) = await MemoryAsync(0, 16);
        var expression = query + "[1].TimeStart";
        var lines = await DxAsync(trace, "-r1", expression);
        Assert.Equal(3, lines.Length);
        var position = lines[0][(expression.Length + 3)..].Replace(" [Time Travel]", "", StringComparison.Ordinal).Split(':');
        Assert.Equal($"{expression} : {position[0]}:{position[1]} [Time Travel]", lines[0]);
        Assert.Equal($"Sequence : 0x{position[0].ToLowerInvariant()}", lines[1]);
        Assert.Equal($"Steps : 0x{position[1].ToLowerInvariant()}", lines[2]);
    }

    [Fact]
    public async Task SeekToPrintsThePositionTheRegistersAndTheInstruction()
    {
        var (trace, run, query) = await MemoryAsync(0, 16);
        var ip = (await DxAsync(trace, "-r1", query + "[0]")).Single(l => l.StartsWith("IP : ", StringComparison.Ordinal))["IP : 0x".Length..];
        var position = (await DxAsync(trace, query + "[0].TimeStart"))[0].Split(" : ")[1].Replace(" [Time Travel]", "", StringComparison.Ordinal);
        var expression = query + "[0].TimeStart.SeekTo()";
        var lines = await DxAsync(trace, expression);
        Assert.Equal(expression, lines[0]);
        Assert.Matches(@"^\([0-9a-f]+\.[0-9a-f]+\): Break instruction exception - code 80000003 \(first/second chance not available\)$", lines[1]);
        Assert.Equal($"Time Travel Position: {position}", lines[2]);
        Assert.Matches("^rax=[0-9a-f]{16} rbx=[0-9a-f]{16} rcx=[0-9a-f]{16}$", lines[3]);
        Assert.Matches("^rdx=[0-9a-f]{16} rsi=[0-9a-f]{16} rdi=[0-9a-f]{16}$", lines[4]);
        Assert.Matches($"^rip={ip.PadLeft(16, '0')} rsp=[0-9a-f]{{16}} rbp=[0-9a-f]{{16}}$", lines[5]);
        Assert.Matches("^ r8=[0-9a-f]{16}  r9=[0-9a-f]{16} r10=[0-9a-f]{16}$", lines[6]);
        Assert.Matches("^r11=[0-9a-f]{16} r12=[0-9a-f]{16} r13=[0-9a-f]{16}$", lines[7]);
        Assert.Matches("^r14=[0-9a-f]{16} r15=[0-9a-f]{16}$", lines[8]);
        Assert.Matches("^iopl=0         (nv|ov) (up|dn) ei (pl|ng) (nz|zr) (na|ac) (po|pe) (nc|cy)$", lines[9]);
        Assert.Matches("^cs=0033  ss=002b  ds=0000  es=0000  fs=0000  gs=0000             efl=[0-9a-f]{8}$", lines[10]);
        // The function that holds the instruction, as nm lists the program's functions by address.
        var pc = ulong.Parse(ip, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var (function, start) = FunctionAt(GuestRunner.Guest("globals_rw-static"), pc);
        Assert.Equal($"globals_rw-static!{function}+0x{pc - start:x}:", lines[11]);
        // The first access is the store of 0x1122334455667788 to q: address, bytes, text, operand.
        var padded = ip.PadLeft(16, '0');
        Assert.Matches($"^{padded[..8]}`{padded[8..]} [0-9a-f]+ +mov +qword ptr \\[.*\\],r8 ds:{Hex(run.Area)[2..].PadLeft(16, '0')[..8]}`{Hex(run.Area)[2..].PadLeft(16, '0')[8..]}=0000000000000000$", lines[12]);
        Assert.Equal(13, lines.Length);
    }

    /// <summary>The function nm lists last at or below <paramref name="pc"/>.</summary>
    static (string Name, ulong Start) FunctionAt(string program, ulong pc)
    {
        var info = new System.Diagnostics.ProcessStartInfo("nm", ["-n", "--defined-only", program]) { RedirectStandardOutput = true };
        using var nm = System.Diagnostics.Process.Start(info)!;
        (string, ulong) found = ("", 0);
        foreach (var line in nm.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length == 3 && parts[1] is "T" or "t" && ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) is var address && address <= pc)
                found = (parts[2], address);
        }
        nm.WaitForExit();
        return found;
    }

    [Fact]
    public async Task CollectionMethodsEvaluate()
    {
        var (trace, run, query) = await MemoryAsync(0, 16);
        var all = run.Overlapping(0, 16, "RW").ToArray();
        var writes = all.Where(a => a.Kind == 'W').ToArray();

        Assert.Equal([$"{query}.Count() : 0x{all.Length:x}"], await DxAsync(trace, query + ".Count()"));
        var selected = await DxAsync(trace, query + ".Where(m => m.AccessType == \"Write\").Select(m => m.Value)");
        Assert.Equal(writes.Select((w, i) => $"[0x{i:x}] : {Hex(w.Value)}"), selected[1..]);
        var sizes = await DxAsync(trace, query + ".Skip(2).Take(3).Select(x => x.Size)");
        Assert.Equal(all.Skip(2).Take(3).Select((a, i) => $"[0x{i:x}] : 0x{a.Size:x}"), sizes[1..]);
        Assert.Equal($"{query}.Last().Value : {Hex(all[^1].Value)}", (await DxAsync(trace, query + ".Last().Value"))[0]);
        Assert.Equal($"{query}.First().Size : 0x8", (await DxAsync(trace, query + ".First().Size"))[0]);
        var reads = await DxAsync(trace, query + ".Where(m => m.Size < 8 && m.AccessType != \"Write\").Count()");
        Assert.EndsWith($" : 0x{all.Count(a => a.Size < 8 && a.Kind == 'R'):x}", reads[0], StringComparison.Ordinal);
        Assert.Equal(await DxAsync(trace, "-r1", query + "[0xa]"), (await DxAsync(trace, "-r1", query + "[10]")).Select(l => l.Replace("[10]", "[0xa]", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task TheProcessHasALifetimeEventsThreadsAndModules()
    {
        var (trace, _) = await traces.GetAsync("static");
        var lifetime = await DxAsync(trace, "@$curprocess.TTD.Lifetime");
        Assert.Matches(@"^@\$curprocess\.TTD\.Lifetime : \[0:0, [0-9A-F]+:[0-9A-F]+\]$", lifetime[0]);
        Assert.Equal("MinPosition : 0:0 [Time Travel]", lifetime[1]);
        Assert.Matches(@"^MaxPosition : [0-9A-F]+:[0-9A-F]+ \[Time Travel\]$", lifetime[2]);
        var events = await DxAsync(trace, "@$curprocess.TTD.Events");
        Assert.Equal("[0x0] : ThreadCreated at 0:0", events[1]);
        Assert.Contains(events, e => e.EndsWith("ProcessExit at " + lifetime[2]["MaxPosition : ".Length..].Replace(" [Time Travel]", "", StringComparison.Ordinal), StringComparison.Ordinal));
        var threads = await DxAsync(trace, "-r2", "@$curprocess.TTD.Threads");
        Assert.Equal("    UniqueId : 0x1", threads[2]);
        var modules = await DxAsync(trace, "@$curprocess.Modules");
        Assert.Equal("[0x0] : " + GuestRunner.Guest("globals_rw-static"), modules[1]);
    }

    [Fact]
    public async Task GridShowsItemsAsRowsAndChildrenAsColumns()
    {
        var (trace, _, query) = await MemoryAsync(24, 32, "c");
        var lines = await DxAsync(trace, "-g", query);
        Assert.Equal(query, lines[0]);
        Assert.Matches("^=+$", lines[1]);
        Assert.Matches(@"^=\s+= EventType\s+= ThreadId\s+= UniqueThreadId\s+= TimeStart\s+= TimeEnd\s+= AccessType\s+= IP\s+= Address\s+= Size\s+= Value\s+= OverwrittenValue =$", lines[2]);
        Assert.Matches(@"^= \[0x0\] - MemoryAccess - .* - Write\s+- .* - 0x5\s+- 0x0\s+-$", lines[4]);
        Assert.Matches(@"^= \[0x1\] - MemoryAccess - .* - Write\s+- .* - 0x6\s+- 0x5\s+-$", lines[5]);
        Assert.Matches("^=+$", lines[6]);
        Assert.Equal(7, lines.Length);
    }

    [Fact]
    public async Task AnIndexPastTheEndIsAOneLineErrorWithACaret()
    {
        var (trace, run, query) = await MemoryAsync(0, 16);
        var count = run.Overlapping(0, 16, "RW").Count();
        var expression = query + $"[{count}]";
        var result = await DxFailsAsync(trace, expression);
        Assert.Empty(result.StdoutText);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"rewind: index 0x{count:x} is past the end: the collection has 0x{count:x} items", expression, new string(' ', query.Length + 1) + "^~"], lines);
    }

    [Theory]
    [InlineData("@$cursession.TTD.Memory(0x10, 0x20", 34)]
    [InlineData("@$cursession.TTD.Memory(0x10 0x20)", 29)]
    [InlineData("@$cursession.TTD.Memory(0x10, 0x20, \"rw\").Where(m => m.Size = 8)", 60)]
    public async Task ASyntaxErrorIsOneLineWithACaretUnderTheBadSpot(string expression, int column)
    {
        var (trace, _) = await traces.GetAsync("static");
        var result = await DxFailsAsync(trace, expression);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("rewind: ", lines[0], StringComparison.Ordinal);
        Assert.Equal(expression, lines[1]);
        Assert.Equal(column, lines[2].IndexOf('^', StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("@$cursession.TTD.Memory(0x20, 0x10, \"rw\")", "begin 0x20 must be below end 0x10")]
    [InlineData("@$cursession.TTD.Memory(0x10, 0x20, \"rq\")", "'q' is not an access mask letter")]
    [InlineData("@$cursession.TTD.Memory(0x10, 0x20, \"rw\").Nope()", "collections have no method 'Nope'")]
    [InlineData("@$curprocess.TTD.Lifetime.Nope", "has no member 'Nope'")]
    public async Task BadArgumentsAreErrorsWithACaret(string expression, string message)
    {
        var (trace, _) = await traces.GetAsync("static");
        var lines = (await DxFailsAsync(trace, expression)).Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(message, lines[0], StringComparison.Ordinal);
        Assert.Equal(expression, lines[1]);
        Assert.Contains('^', lines[2]);
    }

    [Fact]
    public async Task ThePromptReadsExpressionsUntilQuit()
    {
        var (trace, _, query) = await MemoryAsync(24, 32, "c");
        var input = $"dx -r0 {query}.Count()\n{query}.Nope\n-r1 {query}.First().TimeStart\nq\n@$curprocess\n";
        var result = await GuestRunner.RewindCommandAsync(["dx", trace], new RunSettings { Stdin = System.Text.Encoding.UTF8.GetBytes(input) });
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"{query}.Count() : 0x2", lines[0]);
        Assert.Matches(@"^.*\.First\(\)\.TimeStart : [0-9A-F]+:[0-9A-F]+ \[Time Travel\]$", lines[1]);
        Assert.StartsWith("Sequence : 0x", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("Steps : 0x", lines[3], StringComparison.Ordinal);
        Assert.Equal(4, lines.Length); // nothing after q
        Assert.Contains("has no member 'Nope'", result.Stderr, StringComparison.Ordinal);
    }
}
