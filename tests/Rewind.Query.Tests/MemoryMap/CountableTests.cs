using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Rewind.Query.Tests.Introspection;

namespace Rewind.Query.Tests.MemoryMap;

/// <summary>The countable guest (tests/guest/countable.c), recorded once for the tests of <see cref="CountableTests"/>.</summary>
public sealed class CountableGuest() : IDisposable
{
    public RecordedGuest Guest { get; } = new("countable");

    public void Dispose() => Guest.Dispose();
}

/// <summary>
/// memorymap on a program whose instructions are counted by hand (tests/guest/countable.c: 18),
/// checked against that count, the ELF entry point and valgrind lackey's count.
/// </summary>
public sealed partial class CountableTests(CountableGuest fixture) : IClassFixture<CountableGuest>
{
    /// <summary>The hand count in countable.c.</summary>
    const int HandCount = 18;

    readonly RecordedGuest _guest = fixture.Guest;

    async Task<string> FullOutputAsync()
    {
        await _guest.RecordAsync();
        return await QueryCli.OutputAsync("memorymap", _guest.Trace);
    }

    [Fact]
    public async Task Every_instruction_is_one_line_counted_from_zero_starting_at_the_entry_point()
    {
        var record = await _guest.RecordAsync();
        Assert.Equal(3, record.ExitCode);
        var result = await QueryCli.RunAsync("memorymap", _guest.Trace);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("all instructions will be reported", result.Stderr, StringComparison.Ordinal);

        var lines = MemoryMapLine.ParseAll(result.StdoutText);
        Assert.Equal(HandCount, lines.Length);
        Assert.Equal(Enumerable.Range(0, HandCount).Select(i => (long)i), lines.Select(l => l.InstructionCount));
        var (entry, lowest) = ReadElf(_guest.Program);
        Assert.Equal(entry, lines[0].Pc);
        foreach (var line in lines)
        {
            Assert.Equal("countable", line.Process);
            Assert.Equal(line.Pid, line.Tid);
            Assert.False(line.InKernel);
            Assert.Equal("countable", line.ImageName);
            Assert.Equal(_guest.Program, line.ImagePath);
            Assert.Equal($"0x{lowest:x}", line.ImageBase);
        }
    }

    [Fact]
    public async Task The_line_count_equals_valgrind_lackeys_guest_instructions()
    {
        var lines = MemoryMapLine.ParseAll(await FullOutputAsync());
        var lackey = await GuestRunner.NativeAsync("valgrind", ["--tool=lackey", _guest.Program]);
        var match = LackeyCount().Match(lackey.Stderr);
        Assert.True(match.Success, $"no 'guest instrs: N' line from valgrind --tool=lackey: {lackey}");
        var count = long.Parse(match.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
        Assert.Equal(HandCount, count);
        Assert.Equal(count, lines.Length);
    }

    [Fact]
    public async Task Filtering_by_every_pc_or_every_count_gives_the_same_lines()
    {
        var full = await FullOutputAsync();
        var lines = MemoryMapLine.ParseAll(full);
        var pcs = string.Join('-', lines.Select(l => $"0x{l.Pc:x}").Distinct());
        var counts = string.Join('-', lines.Select(l => l.InstructionCount));

        Assert.Equal(full, await QueryCli.OutputAsync("memorymap", _guest.Trace, "--pcs", pcs));
        Assert.Equal(full, await QueryCli.OutputAsync("memorymap", _guest.Trace, "--instr-counts", counts));
        // An instruction that matches a pc and a count is printed once.
        Assert.Equal(full, await QueryCli.OutputAsync("memorymap", _guest.Trace, "--pcs", pcs, "--instr-counts", counts));
    }

    [Fact]
    public async Task A_pc_line_is_printed_each_time_the_pc_runs_with_its_exact_count()
    {
        var lines = MemoryMapLine.ParseAll(await FullOutputAsync());
        // countable.c: step (inc %ecx) runs as instructions 2 and 5; the block [cmp, jne] holds 7 and 8.
        var step = lines[2].Pc;
        var jne = lines[8].Pc;
        var filtered = MemoryMapLine.ParseAll(await QueryCli.OutputAsync("memorymap", _guest.Trace, "--pcs", $"{step}-0x{jne:X}"));
        Assert.Equal([2L, 5L, 8L], filtered.Select(l => l.InstructionCount));
        Assert.Equal([step, step, jne], filtered.Select(l => l.Pc));
        // Octal, as strtoul reads a leading 0.
        var octal = MemoryMapLine.ParseAll(await QueryCli.OutputAsync("memorymap", _guest.Trace, "--pcs", "0" + Convert.ToString((long)step, 8)));
        Assert.Equal([2L, 5L], octal.Select(l => l.InstructionCount));
    }

    [Fact]
    public async Task Instruction_counts_are_reported_in_execution_order_and_counts_past_the_end_are_ignored()
    {
        var lines = MemoryMapLine.ParseAll(await FullOutputAsync());
        var output = await QueryCli.OutputAsync("memorymap", _guest.Trace, "--instr-counts", "17-3-4-0-1000");
        var filtered = MemoryMapLine.ParseAll(output);
        Assert.Equal([0L, 3L, 4L, 17L], filtered.Select(l => l.InstructionCount));
        Assert.Equal([lines[0], lines[3], lines[4], lines[17]], filtered);
    }

    [Fact]
    public async Task The_panda_form_of_replay_prints_the_same_lines_and_not_the_programs_output()
    {
        var lines = MemoryMapLine.ParseAll(await FullOutputAsync());
        var counts = "1-2-16";
        var expected = await QueryCli.OutputAsync("memorymap", _guest.Trace, "--pcs", $"0x{lines[9].Pc:x}", "--instr-counts", counts);
        var replay = await QueryCli.RunAsync("replay", _guest.Trace, "--panda", $"memorymap:pcs=0x{lines[9].Pc:x},instr_counts={counts}");
        Assert.Equal(3, replay.ExitCode); // replay ends with the program's status
        Assert.Equal(expected, replay.StdoutText);
        Assert.Equal(4, MemoryMapLine.ParseAll(replay.StdoutText).Length);

        var everything = await QueryCli.RunAsync("replay", _guest.Trace, "--panda", "memorymap");
        Assert.Equal(HandCount, MemoryMapLine.ParseAll(everything.StdoutText).Length);
        Assert.Contains("all instructions will be reported", everything.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_can_go_to_a_file()
    {
        var full = await FullOutputAsync();
        var file = Path.Combine(_guest.Folder, "lines.txt");
        var result = await QueryCli.RunAsync("memorymap", _guest.Trace, "-o", file);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.StdoutText);
        Assert.Equal(full, await File.ReadAllTextAsync(file));
    }

    /// <summary>e_entry, and the lowest PT_LOAD address (page-aligned) of a 64-bit ELF file.</summary>
    static (ulong Entry, ulong Lowest) ReadElf(string path)
    {
        var elf = File.ReadAllBytes(path);
        var entry = BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(24));
        var phoff = (int)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(32));
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(54));
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(56));
        var lowest = ulong.MaxValue;
        for (var i = 0; i < phnum; i++)
        {
            var header = elf.AsSpan(phoff + i * phentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) == 1) // PT_LOAD
                lowest = Math.Min(lowest, BinaryPrimitives.ReadUInt64LittleEndian(header[16..]) & ~0xfffUL);
        }
        Debug.Assert(lowest != ulong.MaxValue);
        return (entry, lowest);
    }

    [GeneratedRegex(@"guest instrs:\s+([0-9,]+)")]
    private static partial Regex LackeyCount();
}
