namespace Rewind.Query.Tests.MemoryMap;

/// <summary>What a user types wrong gets one line on stderr and a non-zero status, never a stack trace.</summary>
public sealed class MemoryMapErrorTests(CountableGuest fixture) : IClassFixture<CountableGuest>
{
    readonly Introspection.RecordedGuest _guest = fixture.Guest;

    [Theory]
    [InlineData("--pcs", "0x401000-zz", "pc 'zz'")]
    [InlineData("--pcs", "08", "octal")]
    [InlineData("--pcs", "0x401000--0x401010", "empty item")]
    [InlineData("--pcs", "0x", "pc '0x'")]
    [InlineData("--instr-counts", "1-x", "instr_counts item 'x'")]
    [InlineData("--instr-counts", "0x10", "instr_counts item '0x10'")]
    [InlineData("--instr-counts", "5-", "empty item")]
    public async Task A_malformed_list_is_a_one_line_error(string option, string value, string expected)
    {
        await _guest.RecordAsync();
        var line = Introspection.QueryCli.AssertOneLineError(await Introspection.QueryCli.RunAsync("memorymap", _guest.Trace, $"{option}={value}"));
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nosuch", "unknown plugin 'nosuch'")]
    [InlineData("memorymap:bogus=1", "unknown argument 'bogus'")]
    [InlineData("memorymap:pcs", "is not KEY=VALUE")]
    [InlineData("memorymap:pcs=0x1,pcs=0x2", "given twice")]
    [InlineData("memorymap:pcs=zz", "memorymap: pc 'zz'")]
    [InlineData("memorymap:instr_counts=1-y", "memorymap: instr_counts item 'y'")]
    public async Task A_bad_panda_plugin_is_a_one_line_error(string specification, string expected)
    {
        await _guest.RecordAsync();
        var line = Introspection.QueryCli.AssertOneLineError(await Introspection.QueryCli.RunAsync("replay", _guest.Trace, "--panda", specification));
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plugin_given_twice_is_a_one_line_error()
    {
        await _guest.RecordAsync();
        var line = Introspection.QueryCli.AssertOneLineError(
            await Introspection.QueryCli.RunAsync("replay", _guest.Trace, "--panda", "memorymap:pcs=0x401000", "--panda", "memorymap:instr_counts=1"));
        Assert.Contains("given twice", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zz:1", "not a position")]
    [InlineData("1000", "outside the trace")]
    [InlineData("FF:0", "past the end")]
    [InlineData("101%", "not a percentage")]
    public async Task A_bad_position_for_modules_is_a_one_line_error(string position, string expected)
    {
        await _guest.RecordAsync();
        var line = Introspection.QueryCli.AssertOneLineError(await Introspection.QueryCli.RunAsync("modules", _guest.Trace, "--at", position));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("memorymap")]
    [InlineData("events")]
    [InlineData("threads")]
    [InlineData("modules")]
    public async Task A_missing_trace_is_a_one_line_error(string verb)
    {
        var line = Introspection.QueryCli.AssertOneLineError(await Introspection.QueryCli.RunAsync(verb, Path.Combine(_guest.Folder, "missing.rwd")));
        Assert.Contains("no such file", line, StringComparison.Ordinal);
    }
}
