using System.Text.RegularExpressions;
using Rewind.Trace;

namespace Rewind.Replay.Tests;

/// <summary>
/// Runs of several processes (fork, pipes, exec, kill, vfork, wait; a shell pipeline) recorded in one
/// trace with keyframes every few thousand instructions, so that many catch several processes at once,
/// then replayed with --verify: the replay prints what the recording printed, which matches the native
/// run, and replay from any keyframe restores every process and reaches the recorded final state.
/// </summary>
public sealed partial class ProcessReplayTests
{
    static readonly string[] Options = ["--keyframe-every", "20000"];

    public static TheoryData<string> Variants() => ["static", "dynamic", "pie"];

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task ReplayReproducesEveryProcess(string variant)
    {
        using var folder = new TempFolder();
        var path = GuestRunner.Guest($"processes-{variant}");
        string[] arguments = [GuestRunner.Guest($"hello-{variant}")];
        var native = await GuestRunner.NativeAsync(path, arguments);
        var trace = folder["run.rwd"];
        var record = await RewindCli.RecordAsync(trace, path, arguments, options: Options);
        Assert.True(record.ExitCode == 0, $"recording: {record}");
        Assert.Equal(ForkedPid().Replace(native.StdoutText, "forked N"), ForkedPid().Replace(record.StdoutText, "forked N"));

        var replay = await RewindCli.ReplayAsync(trace, verify: true);
        Assert.True(replay.ExitCode == 0, $"replaying: {replay}");
        Assert.Equal(record.StdoutText, replay.StdoutText);
        Assert.Equal(RewindCli.RecordedInstructions(record), RewindCli.Summary(replay).Instructions);
    }

    [GeneratedRegex(@"forked \d+")]
    private static partial Regex ForkedPid();

    [Fact]
    public async Task ShellPipelineReplaysWithItsOutputOnce()
    {
        using var folder = new TempFolder();
        var trace = folder["run.rwd"];
        string[] arguments = ["-c", "ls /usr/bin | sort | wc -l"];
        var native = await GuestRunner.NativeAsync(GuestRunner.Tool("bash"), arguments);
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Tool("bash"), arguments, options: Options);
        Assert.True(record.ExitCode == 0, $"recording: {record}");
        Assert.Equal(native.StdoutText, record.StdoutText);
        // What ls and sort wrote into pipes is not output; only wc's count reaches the terminal.
        var replay = await RewindCli.ReplayAsync(trace, verify: true);
        Assert.True(replay.ExitCode == 0, $"replaying: {replay}");
        Assert.Equal(native.StdoutText, replay.StdoutText);
    }

    [Fact]
    public async Task ReplayFromEveryKeyframeRestoresEveryProcess()
    {
        GuestRunner.LoadEngine();
        using var folder = new TempFolder();
        var trace = folder["run.rwd"];
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Guest("processes-static"), [GuestRunner.Guest("hello-static")], options: Options);
        Assert.True(record.ExitCode == 0, $"recording: {record}");

        using var reader = TraceReader.Open(trace);
        var keyframes = Enumerable.Range(0, reader.KeyframeCount).Select(reader.ReadKeyframe).ToArray();
        var rootPid = reader.Header.ProcessId;
        // Keyframes caught two processes at once, and a child running while its parent waits.
        Assert.Contains(keyframes, k => k.OtherProcesses.Count >= 1);
        Assert.Contains(keyframes, k => k.Process.Pid != rootPid);
        for (var k = 0; k < keyframes.Length; k += Math.Max(1, keyframes.Length / 12))
        {
            var running = keyframes[k].Process.Pid;
            KeyframeReplay.AssertReachesTheRecordedEnd(reader, k, session => Assert.Equal(running, session.Process.Pid));
        }
    }

    [Fact]
    public async Task WithoutFollowingChildrenTheTraceHoldsOnlyWhatRanInTheEngine()
    {
        using var folder = new TempFolder();
        var trace = folder["run.rwd"];
        var hello = GuestRunner.Guest("hello-static");
        var record = await RewindCli.RecordAsync(trace, GuestRunner.Guest("processes-static"), [hello], options: [.. Options, "--no-follow-children"]);
        Assert.True(record.ExitCode == 0, $"recording: {record}");
        // hello-static ran natively: its lines are in the recording's output, through the shared terminal.
        Assert.Contains("hello, world\nargc=1\nexec child exited with 3\n", record.StdoutText, StringComparison.Ordinal);

        var replay = await RewindCli.ReplayAsync(trace, verify: true);
        Assert.True(replay.ExitCode == 0, $"replaying: {replay}");
        // Replay reproduces the processes that ran in the engine, not what hello-static printed outside it.
        Assert.Equal(record.StdoutText.Replace("hello, world\nargc=1\n", "", StringComparison.Ordinal), replay.StdoutText);
    }

    [Fact]
    public async Task MakeAndPythonSubprocessReplayAndVerify()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder["Makefile"], "all:\n\techo made | tr a-z A-Z\n");
        var runs = new (string Program, string[] Arguments)[]
        {
            (GuestRunner.Tool("make"), ["-s", "-C", folder.Path]),
            (GuestRunner.Tool("python3"), ["-c", "import subprocess; print(subprocess.run(['echo', 'child'], capture_output=True).stdout)"]),
        };
        foreach (var (program, arguments) in runs)
        {
            var native = await GuestRunner.NativeAsync(program, arguments);
            var trace = folder[Path.GetFileName(program) + ".rwd"];
            var record = await RewindCli.RecordAsync(trace, program, arguments, options: ["--keyframe-every", "1000000"]);
            Assert.True(record.ExitCode == 0, $"recording {program}: {record}");
            Assert.Equal(native.StdoutText, record.StdoutText);
            var replay = await RewindCli.ReplayAsync(trace, verify: true);
            Assert.True(replay.ExitCode == 0, $"replaying {program}: {replay}");
            Assert.Equal(native.StdoutText, replay.StdoutText);
        }
    }
}
