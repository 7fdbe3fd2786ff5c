using System.Globalization;
using System.Text.RegularExpressions;

namespace Rewind.Replay.Tests;

/// <summary>
/// A program that dies of SIGSEGV leaves a complete trace whose ending is that signal, at the pc of
/// the faulting instruction and with the faulting address. The expected pc and address come from
/// the program's own printout (crash_at) or from the ELF symbol table (nm), and the replay of the
/// trace dies the same way.
/// </summary>
public sealed partial class CrashTraceTests
{
    const int SegmentationFaultStatus = 128 + 11;

    [Theory]
    [InlineData("crash_at-static")]
    [InlineData("crash_at-dynamic")]
    [InlineData("crash_at-pie")]
    public async Task TraceOfACrashEndsWithTheFaultingInstructionAndAddress(string guest)
    {
        using var folder = new TempFolder();
        var program = folder.CopyIn(GuestRunner.Guest(guest));
        var native = await GuestRunner.NativeAsync(program, []);
        Assert.Equal(SegmentationFaultStatus, native.ExitCode);

        var trace = folder["crash.rwd"];
        var record = await RewindCli.RecordAsync(trace, program, []);
        Assert.True(record.ExitCode == SegmentationFaultStatus, $"recording: {record}");
        // Addresses in a position-independent program differ from run to run natively.
        if (!guest.EndsWith("-pie", StringComparison.Ordinal))
            Assert.Equal(native.StdoutText, record.StdoutText);

        // What the program printed about itself in the recorded run.
        var printed = PrintedAddresses().Match(record.StdoutText);
        Assert.True(printed.Success, $"crash_at printed: {record.StdoutText}");
        var crashInstruction = RewindCli.ParseHex(printed.Groups[1].Value);
        var badAddress = RewindCli.ParseHex(printed.Groups[2].Value);

        File.Delete(program);
        var (pc, address) = await CrashInInfoAsync(trace);
        Assert.Equal(crashInstruction, pc);
        Assert.Equal(badAddress, address);

        var replay = await RewindCli.ReplayAsync(trace);
        Assert.True(replay.ExitCode == SegmentationFaultStatus, $"replay: {replay}");
        Assert.Equal(record.StdoutText, replay.StdoutText);
        Assert.Contains($"rewind: program killed by SIGSEGV at pc 0x{crashInstruction:x} accessing 0x{badAddress:x}\n", replay.Stderr, StringComparison.Ordinal);
    }

    /// <summary>nullderef stores through NULL in main: the trace's pc lies in main (by the ELF symbol table), the address is 0.</summary>
    [Fact]
    public async Task TraceOfANullDereferenceEndsInMainAtAddressZero()
    {
        using var folder = new TempFolder();
        var program = folder.CopyIn(GuestRunner.Guest("nullderef-static"));
        var (mainStart, mainSize) = await SymbolAsync(program, "main");

        var trace = folder["nullderef.rwd"];
        var record = await RewindCli.RecordAsync(trace, program, []);
        Assert.True(record.ExitCode == SegmentationFaultStatus, $"recording: {record}");
        Assert.Equal("before\n", record.StdoutText);
        File.Delete(program);

        var (pc, address) = await CrashInInfoAsync(trace);
        Assert.InRange(pc, mainStart, mainStart + mainSize - 1);
        Assert.Equal(0UL, address);

        var replay = await RewindCli.ReplayAsync(trace);
        Assert.True(replay.ExitCode == SegmentationFaultStatus, $"replay: {replay}");
        Assert.Equal("before\n", replay.StdoutText);
    }

    /// <summary>What 'rewind info' says about how the recorded run ended, checking that the trace is complete.</summary>
    static async Task<(ulong Pc, ulong Address)> CrashInInfoAsync(string trace)
    {
        var info = await RewindCli.InfoAsync(trace);
        Assert.True(info.ExitCode == 0, $"info: {info}");
        Assert.DoesNotContain("incomplete", info.StdoutText, StringComparison.Ordinal);
        // The table wraps long values onto the next line: match across white space.
        var ended = EndedLine().Match(info.StdoutText);
        Assert.True(ended.Success, $"no SIGSEGV ending in:\n{info.StdoutText}");
        return (RewindCli.ParseHex(ended.Groups[1].Value), RewindCli.ParseHex(ended.Groups[2].Value));
    }

    /// <summary>A function's address and size from the program's symbol table, read by nm.</summary>
    static async Task<(ulong Start, ulong Size)> SymbolAsync(string program, string name)
    {
        var nm = await GuestRunner.NativeAsync(GuestRunner.Tool("nm"), ["-S", "--defined-only", program]);
        Assert.True(nm.ExitCode == 0, $"nm: {nm}");
        foreach (var line in nm.StdoutText.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 4 && fields[2] is "T" or "t" && fields[3] == name)
                return (ulong.Parse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), ulong.Parse(fields[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
        Assert.Fail($"nm does not list a function {name} in {program}");
        return default;
    }

    [GeneratedRegex(@"crash instruction (0x[0-9a-f]+)\nbad address (0x[0-9a-f]+)\n")]
    private static partial Regex PrintedAddresses();

    [GeneratedRegex(@"Ended\s+SIGSEGV\s+\(Segmentation\s+fault\)\s+at\s+pc\s+0x([0-9a-f]+),\s+address\s+0x([0-9a-f]+)")]
    private static partial Regex EndedLine();
}
