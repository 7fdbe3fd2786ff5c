namespace Rewind.Replay.Tests;

/// <summary>
/// The same trace replays to the same instruction count and the same final state hash every time,
/// whatever the replaying process's folder and environment, and to the count the recording reported.
/// </summary>
public sealed class DeterminismTests
{
    [Fact]
    public async Task ReplayingTwiceGivesTheSameCountAndStateHash()
    {
        using var folder = new TempFolder();
        var trace = folder["time_random.rwd"];
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Guest("time_random-static"), []);
        Assert.True(record.ExitCode == 0, $"recording: {record}");
        var recorded = RewindCli.RecordedInstructions(record);

        var first = await RewindCli.ReplayAsync(trace, verify: true);
        var second = await RewindCli.ReplayAsync(trace, verify: false, new RunSettings
        {
            WorkingDirectory = folder.NewFolder("elsewhere"),
            Environment = new Dictionary<string, string?> { ["TZ"] = "America/New_York", ["LC_ALL"] = "C.UTF-8", ["HOME"] = "/nonexistent" },
        });
        Assert.True(first.ExitCode == 0, $"first replay: {first}");
        Assert.True(second.ExitCode == 0, $"second replay: {second}");
        Assert.Equal(record.StdoutText, first.StdoutText);
        Assert.Equal(record.StdoutText, second.StdoutText);

        var a = RewindCli.Summary(first);
        var b = RewindCli.Summary(second);
        Assert.Equal(recorded, a.Instructions);
        Assert.Equal(a, b);
    }

    [Fact]
    public async Task ReplaySessionRunTwiceGivesTheSameCountAndStateHash()
    {
        using var folder = new TempFolder();
        var trace = folder["python.rwd"];
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Tool("python3"),
            ["-c", "import random, zlib; print(zlib.crc32(bytes(random.getrandbits(8) for _ in range(1000))) >= 0)"]);
        Assert.True(record.ExitCode == 0, $"recording: {record}");
        Assert.Equal("True\n", record.StdoutText);
        var recorded = RewindCli.RecordedInstructions(record);
        var cli = RewindCli.Summary(await RewindCli.ReplayAsync(trace, verify: false));

        GuestRunner.LoadEngine();
        var runs = new List<(long Instructions, UInt128? Hash)>();
        for (var i = 0; i < 2; i++)
        {
            using var session = ReplaySession.Open(trace);
            var exit = session.Run();
            Assert.NotNull(exit);
            Assert.Equal(0, exit.ExitCode);
            Assert.Null(exit.EndOfTrace);
            runs.Add((exit.Instructions, session.Kernel.FinalStateHash));
        }
        Assert.Equal(runs[0], runs[1]);
        Assert.Equal(recorded, runs[0].Instructions);
        Assert.Equal(cli.Instructions, runs[0].Instructions);
        Assert.Equal(cli.StateHash, $"{runs[0].Hash:x32}");
    }
}
