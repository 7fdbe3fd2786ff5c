using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Rewind.Trace;

namespace Rewind.Replay.Tests;

/// <summary>
/// Multi-threaded programs recorded with a short time slice (so that threads interleave inside
/// their loops) and keyframes every few thousand instructions (so that many fall between two
/// switches or while threads are blocked), then replayed with --verify: the replay prints what the
/// recording printed, which matches the native run, at the same instruction count; and replay from
/// any keyframe restores every thread and reaches the recorded final state.
/// </summary>
public sealed partial class ThreadReplayTests
{
    static readonly string[] Options = ["--preempt", "997", "--keyframe-every", "5000"];

    public static TheoryData<string> Programs()
    {
        var data = new TheoryData<string>();
        foreach (var name in new[] { "threads_counter", "threads_condvar", "threads_exit", "threads_timeout", "threads_pipe", "threads_main_exit", "threads_signal", "threads_tgkill" })
        {
            foreach (var variant in new[] { "static", "dynamic", "pie" })
                data.Add($"{name}-{variant}");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public async Task ReplayReproducesTheRecordedThreads(string program)
    {
        using var folder = new TempFolder();
        var path = GuestRunner.Guest(program);
        var native = await GuestRunner.NativeAsync(path, []);
        var trace = folder["run.rwd"];
        var record = await RewindCli.RecordAsync(trace, path, [], options: Options);
        Assert.True(record.ExitCode == 0, $"recording {program}: {record}");
        Assert.Equal(Stable(native.StdoutText), Stable(record.StdoutText));

        var replay = await RewindCli.ReplayAsync(trace, verify: true);
        Assert.True(replay.ExitCode == 0, $"replaying {program}: {replay}");
        Assert.Equal(record.StdoutText, replay.StdoutText);
        Assert.Equal(RewindCli.RecordedInstructions(record), RewindCli.Summary(replay).Instructions);
        Assert.Matches(@"\b([2-9]|\d{2,}) keyframes verified", replay.Stderr);
    }

    /// <summary>Output without what differs from run to run natively: addresses and tids.</summary>
    static string Stable(string output) => RunDependent().Replace(output, "$1 ...");

    [GeneratedRegex(@"^(counter at|thread \d+ tid) .*$", RegexOptions.Multiline)]
    private static partial Regex RunDependent();

    [Theory]
    [InlineData("threads_counter-static")]
    [InlineData("threads_condvar-pie")]
    public async Task ReplayFromEveryKeyframeReachesTheRecordedEnd(string program)
    {
        GuestRunner.LoadEngine();
        using var folder = new TempFolder();
        var trace = folder["run.rwd"];
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Guest(program), [], options: Options);
        Assert.True(record.ExitCode == 0, $"recording {program}: {record}");

        using var reader = TraceReader.Open(trace);
        var keyframes = Enumerable.Range(0, reader.KeyframeCount).Select(reader.ReadKeyframe).ToArray();
        // The keyframes caught several threads at once, and threads other than the main one running.
        Assert.Contains(keyframes, k => k.Threads.Count >= 3);
        Assert.Contains(keyframes, k => k.CurrentThread != 1);
        for (var k = 0; k < keyframes.Length; k += Math.Max(1, keyframes.Length / 12))
        {
            var running = keyframes[k].CurrentThread;
            KeyframeReplay.AssertReachesTheRecordedEnd(reader, k, session => Assert.Equal(running, session.Process.CurrentThread.UniqueId));
        }
    }

    [Fact]
    public async Task ThreadSwitchCallbacksFollowTheTrace()
    {
        GuestRunner.LoadEngine();
        using var folder = new TempFolder();
        var trace = folder["run.rwd"];
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Guest("threads_condvar-static"), [], options: Options);
        Assert.Equal(0, record.ExitCode);
        using var reader = TraceReader.Open(trace);
        var recorded = reader.Events().OfType<ThreadSwitchEvent>().Select(e => (e.Instruction, e.Thread)).ToArray();

        using var session = ReplaySession.Open(reader, leaveTraceOpen: true);
        var seen = new List<(long, long)>();
        session.ThreadSwitched = e =>
        {
            // The switch happens between two instructions: the new thread runs the next one.
            Assert.Equal(e.Instruction + 1, session.Process.Instructions);
            Assert.Equal(e.Thread, session.Process.CurrentThread.UniqueId);
            seen.Add((e.Instruction, session.Process.CurrentThread.UniqueId));
        };
        Assert.NotNull(session.Run());
        Assert.True(recorded.Length > 10, $"only {recorded.Length} switches were recorded");
        Assert.Equal(recorded, seen);
    }

    [Fact]
    public async Task ADeadlockReplaysToTheSameEnd()
    {
        using var folder = new TempFolder();
        var trace = folder["deadlock.rwd"];
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Guest("threads_deadlock-static"), [], options: Options);
        Assert.Equal(128 + 9, record.ExitCode);
        var replay = await RewindCli.ReplayAsync(trace, verify: true);
        Assert.Equal(128 + 9, replay.ExitCode);
        Assert.Equal("both locked\n", replay.StdoutText);
        Assert.Equal(RewindCli.RecordedInstructions(record), RewindCli.Summary(replay).Instructions);
    }

    [Fact]
    public async Task MultithreadedXzRecordsAndReplays()
    {
        using var folder = new TempFolder();
        var input = folder["input.txt"];
        await File.WriteAllLinesAsync(input, Enumerable.Range(0, 20_000).Select(i => $"line {i}: value={i * 37 % 1009}"));
        string[] arguments = ["-T2", "--block-size=32KiB", "-c", input];
        var native = await GuestRunner.NativeAsync(GuestRunner.Tool("xz"), arguments);
        var trace = folder["xz.rwd"];
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Tool("xz"), arguments);
        Assert.Equal(0, record.ExitCode);
        Assert.Equal(SHA256.HashData(native.Stdout), SHA256.HashData(record.Stdout));

        var replay = await RewindCli.ReplayAsync(trace, verify: true);
        Assert.Equal(0, replay.ExitCode);
        Assert.Equal(SHA256.HashData(native.Stdout), SHA256.HashData(replay.Stdout));
        Assert.Equal(RewindCli.RecordedInstructions(record), RewindCli.Summary(replay).Instructions);
    }
}
