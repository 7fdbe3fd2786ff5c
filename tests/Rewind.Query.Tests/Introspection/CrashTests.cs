using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Rewind.Query.Tests.Introspection;

/// <summary>tests/guest/nullderef.c (static), recorded once: it dies of SIGSEGV.</summary>
public sealed class NullDereferenceGuest : IDisposable
{
    public RecordedGuest Guest { get; } = new("nullderef-static");

    public void Dispose() => Guest.Dispose();
}

/// <summary>A program killed by a fault: the Exception event, the exit, and memorymap at the faulting instruction.</summary>
public sealed partial class CrashTests(NullDereferenceGuest fixture) : IClassFixture<NullDereferenceGuest>
{
    readonly RecordedGuest _guest = fixture.Guest;

    async Task<(ulong Pc, long Instructions)> RecordAsync()
    {
        var record = await _guest.RecordAsync();
        Assert.Equal(128 + 11, record.ExitCode);
        var killed = Killed().Match(record.Stderr);
        var recorded = Recorded().Match(record.Stderr);
        Assert.True(killed.Success && recorded.Success, $"unexpected record output: {record}");
        return (QueryCli.Hex(killed.Groups[1].Value), long.Parse(recorded.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task The_fault_is_an_Exception_event_with_the_signal_and_the_faulting_pc()
    {
        var (pc, _) = await RecordAsync();
        var events = await QueryCli.JsonLinesAsync("events", _guest.Trace);
        var exception = Assert.Single(events, e => e.GetProperty("Type").GetString() == "Exception").GetProperty("Exception");
        Assert.Equal("SIGSEGV", exception.GetProperty("Name").GetString());
        Assert.Equal(11, exception.GetProperty("Code").GetInt32());
        Assert.Equal($"0x{pc:x}", exception.GetProperty("ProgramCounter").GetString());
        Assert.Equal("0x0", exception.GetProperty("Address").GetString());
        Assert.Equal("ProcessExit", events[^1].GetProperty("Type").GetString());
        Assert.Equal(JsonValueKind.Null, events[^1].GetProperty("ExitCode").ValueKind);
    }

    [Fact]
    public async Task Memorymap_reports_the_completed_instructions_and_not_the_fault()
    {
        var (pc, instructions) = await RecordAsync();
        var all = MemoryMapLine.ParseAll(await QueryCli.OutputAsync("memorymap", _guest.Trace));
        Assert.Equal(instructions, all.Length);
        Assert.Equal(instructions - 1, all[^1].InstructionCount);
        Assert.Equal("nullderef-stati", all[^1].Process); // comm keeps 15 characters
        Assert.Equal("nullderef-static", all[^1].ImageName);
        // The faulting instruction never completed: it has no line, by pc or by count.
        Assert.Equal("", await QueryCli.OutputAsync("memorymap", _guest.Trace, "--pcs", $"0x{pc:x}", "--instr-counts", $"{instructions}"));
        Assert.Equal(all[^1], MemoryMapLine.Parse((await QueryCli.OutputAsync("memorymap", _guest.Trace, "--instr-counts", $"{instructions - 1}")).Trim()));
    }

    [GeneratedRegex(@"killed by SIGSEGV at pc (0x[0-9a-f]+)")]
    private static partial Regex Killed();

    [GeneratedRegex(@"recorded ([0-9,]+) instructions")]
    private static partial Regex Recorded();
}
