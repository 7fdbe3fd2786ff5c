using System.Diagnostics;
using System.Text;

namespace Rewind.Replay.Tests;

/// <summary>
/// A recorder killed outright (SIGKILL: no chance to finish the file) leaves a trace that 'info'
/// calls incomplete and that 'replay' replays up to where it ends, with a one-line message.
/// </summary>
public sealed class KilledRecordingTests
{
    /// <summary>Prints a numbered tick now and then, for at most a minute.</summary>
    const string BusyLoop = """
        import time
        end = time.monotonic() + 60
        i = 0
        while time.monotonic() < end:
            for _ in range(20000):
                i += 1
            print('tick', i, flush=True)
        """;

    [Fact]
    public async Task TraceOfAKilledRecorderReplaysUpToWhereItEnds()
    {
        using var folder = new TempFolder();
        var trace = folder["killed.rwd"];
        var start = GuestRunner.RewindStartInfo(["record", "-o", trace, "--", GuestRunner.Tool("python3"), "-c", BusyLoop],
            new RunSettings { WorkingDirectory = folder.Path });
        var recordedOutput = await RecordAndKillAsync(start);
        Assert.Contains("tick ", recordedOutput, StringComparison.Ordinal);

        var info = await RewindCli.InfoAsync(trace, new RunSettings { Timeout = TimeSpan.FromSeconds(60) });
        RewindCli.AssertNoCrash(info);
        Assert.Equal(0, info.ExitCode);
        Assert.Matches(@"the trace is\s+incomplete", info.StdoutText);
        Assert.Matches(@"Ended\s+not recorded", info.StdoutText);

        var replay = await RewindCli.ReplayAsync(trace, verify: true, new RunSettings { Timeout = TimeSpan.FromSeconds(60) });
        var line = RewindCli.AssertOneLineError(replay);
        Assert.Equal(2, replay.ExitCode);
        Assert.Matches(@"^rewind: replay stopped early: the trace ends at instruction [1-9][\d,]* \(", line);
        // The replay printed the ticks that made it into the trace: the start of what the recording printed.
        Assert.StartsWith(replay.StdoutText, recordedOutput, StringComparison.Ordinal);
        Assert.Contains("tick ", replay.StdoutText, StringComparison.Ordinal);
        Assert.Equal("", RewindCli.ProgramStderr(replay.Stderr));
    }

    /// <summary>
    /// Starts the recording and waits until the program has printed a few ticks and gone on printing
    /// for 1.5 s more (the recorder writes its events out at least every half second, so the trace
    /// holds the first ticks by then); then kills it with SIGKILL and returns what it printed.
    /// </summary>
    static async Task<string> RecordAndKillAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start rewind record");
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = new StringBuilder();
        var ticks = 0;
        var sinceThirdTick = new Stopwatch();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while ((ticks < 3 || sinceThirdTick.Elapsed < TimeSpan.FromSeconds(1.5))
                && await process.StandardOutput.ReadLineAsync(patience.Token) is { } line)
            {
                stdout.Append(line).Append('\n');
                if (++ticks == 3)
                    sinceThirdTick.Start();
            }
            if (process.HasExited)
                Assert.Fail($"the recording ended before it was killed: {stdout}{await stderr}");
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(); // SIGKILL
        }
        stdout.Append(await process.StandardOutput.ReadToEndAsync());
        await process.WaitForExitAsync();
        Assert.Equal(128 + 9, process.ExitCode);
        Assert.DoesNotContain("recorded ", await stderr, StringComparison.Ordinal);
        return stdout.ToString();
    }
}
