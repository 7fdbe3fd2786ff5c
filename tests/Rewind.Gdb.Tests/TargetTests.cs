using System.Text.RegularExpressions;

namespace Rewind.Gdb.Tests;

/// <summary>What gdb gets from the trace rather than from the machine: files, threads, processes, positions.</summary>
public sealed partial class TargetTests
{
    [Fact]
    public async Task Without_the_program_gdb_reads_it_from_the_trace_over_stdio()
    {
        var folder = Directory.CreateTempSubdirectory("rewind-gdb-tests-").FullName;
        var program = Path.Combine(folder, "debuggee");
        File.Copy(GuestRunner.Guest("debuggee-pie"), program);
        var recording = await Recording.MakeAsync(program);
        File.Delete(program);
        var engine = Environment.GetEnvironmentVariable(GuestRunner.EngineVariable) ?? GuestRunner.UnicornLibrary ?? "";
        var server = $"env {GuestRunner.EngineVariable}={engine} {Environment.ProcessPath ?? "dotnet"} {GuestRunner.RewindDll} gdbserver --stdio {recording.Trace}";
        var result = await GdbDriver.RunGdbAsync(["-nx", "-batch", "-ex", $"target remote | {server}", "-x", GdbDriver.Script("""
            break innermost
            continue
            bt
            info sharedlibrary
            """)]);
        var output = result.StdoutText;
        Assert.Matches(@"#0  innermost \(x=31\) at .*debuggee.c:\d+\n#1  0x[0-9a-f]+ in middle .*\n#2  0x[0-9a-f]+ in outer .*\n#3  0x[0-9a-f]+ in main \(\)", output);
        Assert.Matches(@"Yes\s+target:/lib/x86_64-linux-gnu/libc.so.6", output);
        Assert.Contains($"Reading {program} from remote target", result.Stderr + output);
    }

    [Fact]
    public async Task Threads_are_the_processs_threads_where_it_stops()
    {
        var recording = await Recording.MakeAsync("threads_counter-dynamic", "3");
        var tids = recording.Printed("thread").Select(line => line.Split(' ')[^1]).ToHashSet();
        Assert.Equal(4, tids.Count);
        var replay = await GdbDriver.ReplayAsync(recording.Trace, """
            break work
            continue
            continue
            continue
            continue
            info threads
            thread 1
            delete
            continue
            watch counter
            reverse-continue
            reverse-continue
            """);
        var stopped = Stops().Matches(replay).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Equal(tids, stopped);
        // Where the fourth worker starts, main and the four workers exist.
        Assert.Matches(@"\n\* 5 +Thread \d+ +work \(slot=", replay);
        Assert.Matches(@"\n  1 +Thread \d+ ", replay);
        Assert.Contains("[Switching to thread 1 ", replay);
        Assert.Matches(@"Old value = 12\nNew value = 11\n(.|\n)*Old value = 11\nNew value = 10\n", replay);
    }

    [GeneratedRegex(@"\[Switching to Thread (\d+)\]\nThread \d+ hit Breakpoint 2, work")]
    private static partial Regex Stops();

    [Fact]
    public async Task One_process_is_shown_and_the_others_run_unseen()
    {
        var recording = await Recording.MakeAsync("debuggee_fork-dynamic");
        var child = recording.Printed("child").Single().Split(' ')[0];
        const string Watch = """
            watch value
            continue
            continue
            continue
            """;
        var parent = await GdbDriver.ReplayAsync(recording.Trace, Watch);
        var native = await GdbDriver.NativeAsync(recording.Program, Watch);
        Assert.Equal(Changes(native), Changes(parent));
        Assert.Equal(["0 1", "1 2"], Changes(parent));
        var forked = await GdbDriver.ReplayAsync(recording.Trace, """
            watch value
            continue
            continue
            reverse-continue
            info threads
            monitor when
            """, ["--pid", child], toMain: false);
        Assert.Equal(["1 100", "100 200", "200 100"], Changes(forked));
        Assert.Matches($@"\* 1 +Thread {child} ", forked);
        Assert.Contains($"process {child}, thread {child}", forked);
    }

    static List<string> Changes(string output) =>
        [.. ChangesPattern().Matches(output).Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}")];

    [GeneratedRegex(@"Old value = (\d+)\nNew value = (\d+)")]
    private static partial Regex ChangesPattern();

    [Fact]
    public async Task Monitor_commands_tell_and_move_the_position()
    {
        var recording = await Recording.MakeAsync("debuggee-static");
        var replay = await GdbDriver.ReplayAsync(recording.Trace, """
            break innermost
            continue
            monitor when
            info address innermost
            monitor seek 0
            flushregs
            print $pc
            info address _start
            monitor seek 50%
            monitor dx @$cursession.TTD.Memory(&counter, &counter + 1, "w").Count()
            monitor info
            monitor frobnicate
            """);
        var when = When().Match(replay);
        Assert.True(when.Success, replay);
        var instruction = when.Groups[2].Value;
        // Seeking back to the breakpoint's instruction count lands on the breakpoint's address again.
        var again = await GdbDriver.ReplayAsync(recording.Trace, $"""
            monitor seek {instruction}
            flushregs
            print $pc
            info address innermost
            """, toMain: false);
        Assert.Matches(@"\$1 = \(void \(\*\)\(\)\) (0x[0-9a-f]+) <innermost>", again);
        Assert.Matches(@"\$1 = \(void \(\*\)\(\)\) 0x[0-9a-f]+ <_start>", replay);
        Assert.Contains("monitor commands: when | seek", replay);
        Assert.Contains("Processes: ", replay);
    }

    [GeneratedRegex(@"Position ([0-9A-F]+:[0-9A-F]+) \(instr_count (\d+)\), process \d+, thread \d+")]
    private static partial Regex When();

    [Fact]
    public async Task Debug_without_gdb_says_so()
    {
        var recording = await Recording.MakeAsync("hello-static");
        var result = await GuestRunner.RewindCommandAsync(["debug", recording.Trace], new RunSettings
        {
            Environment = new Dictionary<string, string?> { ["PATH"] = "/nonexistent" },
        });
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("rewind: gdb is not installed", result.Stderr);
    }
}
