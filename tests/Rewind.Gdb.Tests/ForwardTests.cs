namespace Rewind.Gdb.Tests;

/// <summary>Going forward, gdb on a trace shows what gdb shows on the program itself, command for command.</summary>
public sealed class ForwardTests
{
    /// <summary>
    /// Breakpoints (software, temporary, hardware), backtraces from the program's unwind tables,
    /// step, next, finish (with the long double returned in st0 and the double in xmm0), until,
    /// advance, stepi, nexti, memory and variables, and watchpoints on writes, reads and both.
    /// </summary>
    const string Commands = """
        watch counter
        continue
        continue
        until
        until
        delete
        break innermost
        continue
        bt
        finish
        finish
        next
        print counter
        x/2gx &counter
        info registers rip
        tbreak twice_wide
        hbreak twice_narrow
        continue
        finish
        next
        step
        finish
        next
        print narrow
        print wide
        stepi
        nexti
        print $pc
        """;

    [Theory]
    [InlineData("debuggee-static")]
    [InlineData("debuggee-dynamic")]
    [InlineData("debuggee-pie")]
    public async Task A_session_on_the_trace_matches_one_on_the_program(string guest)
    {
        var recording = await Recording.MakeAsync(guest);
        var native = await GdbDriver.NativeAsync(recording.Program, Commands);
        var replay = await GdbDriver.ReplayAsync(recording.Trace, Commands);
        Assert.Contains("Old value = 1", native); // the script did what it is meant to
        Assert.Matches(@"Value returned is \$\d+ = 3\n", native); // st0
        Assert.Matches(@"Value returned is \$\d+ = 4.5\n", native); // xmm0
        Assert.Equal(native, replay);
    }

    const string Watches = """
        awatch counter
        continue
        continue
        continue
        delete
        rwatch readings
        continue
        """;

    [Fact]
    public async Task Read_and_access_watchpoints_stop_where_they_stop_on_the_program()
    {
        var recording = await Recording.MakeAsync("debuggee-dynamic");
        var native = await GdbDriver.NativeAsync(recording.Program, Watches);
        var replay = await GdbDriver.ReplayAsync(recording.Trace, Watches);
        Assert.Contains("Value = ", native);
        Assert.Equal(native, replay);
    }
}
