using Rewind.Trace;

namespace Rewind.Replay.Tests;

/// <summary>
/// Traces of programs that take signals replay with verification to the same output and status:
/// faults are recomputed and checked against the trace, timer signals and signals a program sends
/// itself arrive at the recorded instruction counts. The recording's output is checked against a
/// native run first.
/// </summary>
public sealed class SignalTraceTests
{
    [Theory]
    [InlineData("segv_longjmp-static", "", 0)]
    [InlineData("segv_fixup-pie", "", 0)]
    [InlineData("sigfpe_divide-dynamic", "", 0)]
    [InlineData("alarm_loop-static", "", 0)]
    [InlineData("alarm_loop-pie", "", 0)]
    [InlineData("raise_siginfo-dynamic", "", 128 + 15)]
    [InlineData("altstack-static", "", 0)]
    [InlineData("abort-static", "", 128 + 6)]
    [InlineData("sigpipe-static", "die", 128 + 13)]
    [InlineData("sigpipe-pie", "", 0)]
    [InlineData("sigsuspend_wait-static", "", 0)]
    [InlineData("int3_trap-static", "", 0)]
    [InlineData("sigill_skip-pie", "", 0)]
    public async Task TraceWithSignalsReplaysVerified(string guest, string argument, int status)
    {
        using var folder = new TempFolder();
        var program = GuestRunner.Guest(guest);
        string[] arguments = argument.Length == 0 ? [] : [argument];
        var native = await GuestRunner.NativeAsync(program, arguments);
        Assert.Equal(status, native.ExitCode);

        var trace = folder["signals.rwd"];
        var record = await RewindCli.RecordAsync(trace, program, arguments);
        Assert.True(record.ExitCode == status, $"recording: {record}");
        if (!guest.EndsWith("-pie", StringComparison.Ordinal))
            Assert.Equal(native.StdoutText, record.StdoutText);

        var replay = await RewindCli.ReplayAsync(trace);
        Assert.True(replay.ExitCode == status, $"replay: {replay}");
        Assert.Equal(record.StdoutText, replay.StdoutText);
        Assert.DoesNotContain("diverged", replay.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// Replay from any keyframe, as the index replays segments, restores the signal state the
    /// keyframe kept (handlers, mask, alternate stack, pending signals) and reaches the recording's
    /// final state, with every later keyframe verified.
    /// </summary>
    [Theory]
    [InlineData("alarm_loop-static", 5_000_000)]
    [InlineData("raise_siginfo-static", 5_000)]
    [InlineData("altstack-pie", 20_000)]
    public async Task ReplayFromEveryKeyframeReachesTheRecordedEnd(string guest, long keyframeInterval)
    {
        GuestRunner.LoadEngine();
        using var folder = new TempFolder();
        var trace = folder["keyframes.rwd"];
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Guest(guest), [], options: ["--keyframe-every", keyframeInterval.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(record.ExitCode is 0 or 128 + 15, $"recording: {record}");

        using var reader = TraceReader.Open(trace);
        Assert.True(reader.KeyframeCount > 2, $"only {reader.KeyframeCount} keyframes");
        for (var keyframe = 0; keyframe < reader.KeyframeCount; keyframe++)
            KeyframeReplay.AssertReachesTheRecordedEnd(reader, keyframe);
    }

    /// <summary>Each delivery to a handler is an Exception event with the signal's name and si_code, as 'rewind events' lists them.</summary>
    [Fact]
    public async Task EveryDeliveryIsAnExceptionEvent()
    {
        using var folder = new TempFolder();
        var trace = folder["fpe.rwd"];
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Guest("sigfpe_divide-static"), []);
        Assert.True(record.ExitCode == 0, $"recording: {record}");
        var events = await GuestRunner.RewindCommandAsync(["events", trace, "--format", "jsonl"]);
        Assert.True(events.ExitCode == 0, $"events: {events}");
        var handled = events.StdoutText.Split("\"Name\":\"SIGFPE\"").Length - 1;
        Assert.Equal(3, handled);
        Assert.Contains("\"SignalCode\":1", events.StdoutText, StringComparison.Ordinal);
    }
}
