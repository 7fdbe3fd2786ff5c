using System.Text.RegularExpressions;

namespace Rewind.Gdb.Tests;

/// <summary>
/// Going backward, gdb on a trace stops where gdb's own 'record full' stops on the program, and a
/// watchpoint run backward from the end meets every store the program printed, newest first.
/// </summary>
public sealed partial class ReverseTests
{
    /// <summary>Reverse stepping by instruction, line and function, within what 'record full' recorded (from main on).</summary>
    const string Commands = """
        break innermost
        continue
        finish
        finish
        reverse-continue
        stepi
        stepi
        nexti
        reverse-stepi
        reverse-nexti
        print $pc
        reverse-finish
        reverse-step
        reverse-step
        reverse-next
        reverse-next
        print i
        print counter
        print $pc
        """;

    [Theory]
    [InlineData("debuggee-static")]
    [InlineData("debuggee-dynamic")]
    public async Task Reverse_execution_stops_where_gdb_record_full_stops(string guest)
    {
        var recording = await Recording.MakeAsync(guest);
        var native = await GdbDriver.NativeAsync(recording.Program, Commands, record: true);
        var replay = await GdbDriver.ReplayAsync(recording.Trace, Commands);
        Assert.Contains("reverse-", "reverse-" + native); // the session ran
        Assert.Matches(@"\$\d+ = 5\n\$\d+ = 15\n", native); // back in the loop's last round, after its store
        Assert.Equal(native, replay);
    }

    [Theory]
    [InlineData("debuggee-static")]
    [InlineData("debuggee-pie")]
    public async Task A_watchpoint_meets_every_store_forward_and_backward_from_either_end(string guest)
    {
        var recording = await Recording.MakeAsync(guest);
        var stores = recording.Printed("store").Select(long.Parse).ToList();
        Assert.Equal(5, stores.Count);
        var replay = await GdbDriver.ReplayAsync(recording.Trace, """
            watch counter
            continue
            continue
            reverse-continue
            reverse-continue
            reverse-continue
            delete
            continue
            watch counter
            reverse-continue
            reverse-continue
            reverse-continue
            reverse-continue
            reverse-continue
            x/i $pc
            reverse-continue
            """, toMain: false);
        List<long> values = [0, .. stores];
        var forward = values.Zip(values.Skip(1)).ToList();
        // From the program's start: the first two stores, both undone, and the start of history; then
        // from the end: every store undone, newest first, stopped before the storing instruction.
        List<(long Old, long New)> expected = [forward[0], forward[1], (forward[1].Second, forward[1].First), (forward[0].Second, forward[0].First),
            .. Enumerable.Reverse(forward).Select(f => (f.Second, f.First))];
        var changes = Changes().Matches(replay).Select(m => (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value))).ToList();
        Assert.True(expected.SequenceEqual(changes), replay);
        Assert.Equal(3, Regex.Count(replay, "No more reverse-execution history."));
        Assert.Matches(@"=> 0x[0-9a-f]+ <main\+\d+>:\s+mov\s+%rax,0x[0-9a-f]+\(%rip\)\s+# 0x[0-9a-f]+ <counter>", replay);
    }

    [GeneratedRegex(@"Old value = (\d+)\nNew value = (\d+)")]
    private static partial Regex Changes();
}
