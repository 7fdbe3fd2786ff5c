using System.Security.Cryptography;
using System.Text;

namespace Rewind.Replay.Tests;

/// <summary>Static programs (and one without a C library) recorded and replayed without their files.</summary>
public sealed class StaticProgramReplayTests
{
    public static TheoryData<string> Programs() => ["hello-static", "nostdlib", "files-static", "time_random-static", "exec_chain-static"];

    [Theory]
    [MemberData(nameof(Programs))]
    public Task ReplayWithoutTheOriginalFilesMatchesNative(string name) => RecordReplay.CheckAsync(name);
}

/// <summary>Dynamically linked programs (the real ld.so and libc) recorded and replayed without their files.</summary>
public sealed class DynamicProgramReplayTests
{
    public static TheoryData<string> Programs() => ["hello-dynamic", "compute-dynamic", "environ-dynamic", "prctl_name-dynamic", "python3", "exec_chain-dynamic"];

    [Theory]
    [MemberData(nameof(Programs))]
    public Task ReplayWithoutTheOriginalFilesMatchesNative(string name) => RecordReplay.CheckAsync(name);
}

/// <summary>Position-independent programs recorded and replayed without their files.</summary>
public sealed class PieProgramReplayTests
{
    public static TheoryData<string> Programs() => ["hello-pie", "mmap-pie", "stdin_echo-pie", "unknown_syscall-pie", "sha256sum"];

    [Theory]
    [MemberData(nameof(Programs))]
    public Task ReplayWithoutTheOriginalFilesMatchesNative(string name) => RecordReplay.CheckAsync(name);
}

/// <summary>
/// Programs recorded with 'rewind record' behave as they do natively, and 'rewind replay --verify'
/// reproduces the run from the trace alone: the copied program and its input files are deleted or
/// overwritten before the replay, and the replay still prints what the native run printed
/// (stdout byte for byte, the program's stderr, the exit status).
/// </summary>
public static class RecordReplay
{
    /// <summary>A program to record: what it needs in its input folder, its arguments and standard input.</summary>
    /// <param name="Prepare">Puts the program and its input files into the folder; returns the program's path and arguments.</param>
    sealed record Scenario(Func<TempFolder, (string Program, string[] Arguments)> Prepare, byte[]? Stdin = null,
        IReadOnlyDictionary<string, string?>? Environment = null);

    static readonly Dictionary<string, Scenario> Scenarios = new(StringComparer.Ordinal)
    {
        ["hello-static"] = Guest("hello-static", "a", "b c"),
        ["hello-dynamic"] = Guest("hello-dynamic", "one"),
        ["hello-pie"] = Guest("hello-pie"),
        ["nostdlib"] = Guest("nostdlib"),
        ["compute-dynamic"] = new(inputs => (inputs.CopyIn(GuestRunner.Guest("compute-dynamic")), [WriteNumbers(inputs)])),
        ["mmap-pie"] = new(inputs => (inputs.CopyIn(GuestRunner.Guest("mmap-pie")), [WriteNumbers(inputs)])),
        // Writes and removes files in its working folder ("."), which differs between the runs.
        ["files-static"] = Guest("files-static", "."),
        ["stdin_echo-pie"] = Guest("stdin_echo-pie") with
        {
            Stdin = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i} of standard input\n"))),
        },
        ["environ-dynamic"] = Guest("environ-dynamic", "x", "y z") with
        {
            Environment = new Dictionary<string, string?> { ["REWIND_REPLAY_TEST"] = "recorded value" },
        },
        ["time_random-static"] = Guest("time_random-static"),
        ["unknown_syscall-pie"] = Guest("unknown_syscall-pie"),
        ["prctl_name-dynamic"] = Guest("prctl_name-dynamic"),
        // Executes itself again: replay maps the second image from the trace too.
        ["exec_chain-static"] = Guest("exec_chain-static"),
        ["exec_chain-dynamic"] = Guest("exec_chain-dynamic"),
        ["python3"] = new(Python),
        ["sha256sum"] = new(Sha256sum),
    };

    public static async Task CheckAsync(string name)
    {
        var scenario = Scenarios[name];
        using var folder = new TempFolder();
        using var inputs = new TempFolder();
        var (program, arguments) = scenario.Prepare(inputs);
        var environment = scenario.Environment ?? new Dictionary<string, string?>();
        var native = await GuestRunner.NativeAsync(program, arguments,
            new RunSettings { Stdin = scenario.Stdin, Environment = environment, WorkingDirectory = folder.NewFolder("native") });

        var trace = folder["run.rwd"];
        var record = await RewindCli.RecordAsync(trace, program, arguments,
            new RunSettings { Stdin = scenario.Stdin, Environment = environment, WorkingDirectory = folder.NewFolder("record") });
        AssertSameRun(native, record, "recording");
        var recorded = RewindCli.RecordedInstructions(record);

        // The program and its inputs are gone (or changed) for the replay.
        DestroyInputs(inputs.Path);
        Directory.Delete(folder["record"], recursive: true);
        if (program.StartsWith(inputs.Path, StringComparison.Ordinal))
            Assert.False(File.Exists(program), "the copied program was deleted");

        var replay = await RewindCli.ReplayAsync(trace, verify: true, new RunSettings { WorkingDirectory = folder.NewFolder("replay") });
        AssertSameRun(native, replay, "replay");
        var summary = RewindCli.Summary(replay);
        Assert.Equal(recorded, summary.Instructions);
        Assert.Matches(@"\b[1-9]\d* keyframes verified", replay.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder["replay"]));

        if (name == "sha256sum")
            Assert.StartsWith(ExpectedSha256 + "  ", replay.StdoutText, StringComparison.Ordinal);
    }

    static void AssertSameRun(RunResult native, RunResult rewind, string what)
    {
        if (!native.Stdout.AsSpan().SequenceEqual(rewind.Stdout))
        {
            Assert.Equal(native.StdoutText, rewind.StdoutText);
            Assert.Fail($"{what}: stdout differs in bytes ({native.Stdout.Length} natively, {rewind.Stdout.Length} under rewind)");
        }
        Assert.Equal(native.Stderr, RewindCli.ProgramStderr(rewind.Stderr));
        Assert.True(native.ExitCode == rewind.ExitCode, $"{what}: exit {rewind.ExitCode}, natively {native.ExitCode}; {rewind}");
    }

    static Scenario Guest(string name, params string[] arguments) => new(inputs => (inputs.CopyIn(GuestRunner.Guest(name)), arguments));

    /// <summary>Every file in the input folder: programs are deleted, data files overwritten with other bytes.</summary>
    static void DestroyInputs(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            if (IsProgram(file))
                File.Delete(file);
            else
                File.WriteAllText(file, "overwritten after the recording\n");
        }
    }

    static bool IsProgram(string path) => (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0;

    /// <summary>Numbers in a scrambled order, one a line, for compute and mmap.</summary>
    static string WriteNumbers(TempFolder inputs)
    {
        var path = inputs["numbers.txt"];
        File.WriteAllLines(path, Enumerable.Range(0, 3000).Select(i => ((i * 7919L % 3001) - 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return path;
    }

    /// <summary>python3 reading a JSON file, writing to stdout and stderr, exiting with 5.</summary>
    static (string, string[]) Python(TempFolder inputs)
    {
        var data = inputs["data.json"];
        File.WriteAllText(data, "{\"name\": \"rewind\", \"values\": [3, 1, 4, 1, 5, 9, 2, 6]}");
        const string code = """
            import hashlib, json, sys
            d = json.load(open(sys.argv[1]))
            print(d['name'], sorted(d['values']), sum(d['values']))
            print(hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest())
            sys.stderr.write('to stderr\n')
            sys.exit(5)
            """;
        return (GuestRunner.Tool("python3"), ["-c", code, data]);
    }

    static readonly byte[] Sha256Input = MakeSha256Input();
    static readonly string ExpectedSha256 = Convert.ToHexStringLower(SHA256.HashData(Sha256Input));

    /// <summary>A copy of sha256sum and a generated 6 MB file to hash.</summary>
    static (string, string[]) Sha256sum(TempFolder inputs)
    {
        var data = inputs["data.bin"];
        File.WriteAllBytes(data, Sha256Input);
        return (inputs.CopyIn(GuestRunner.Tool("sha256sum")), [data]);
    }

    static byte[] MakeSha256Input()
    {
        var bytes = new byte[6 * 1024 * 1024 + 77];
        ulong state = 0x2545F4914F6CDD1D;
        for (var i = 0; i < bytes.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes[i] = (byte)(state >> 32);
        }
        return bytes;
    }
}

/// <summary>Where 'rewind record' puts the trace when it is not told.</summary>
public sealed class DefaultTraceNameTests
{
    /// <summary>Without -o, record writes PROGRAM-1.rwd in the current folder, then PROGRAM-2.rwd, skipping names that exist.</summary>
    [Fact]
    public async Task RecordWithoutOutputNamesTracesAfterTheProgramWithoutOverwriting()
    {
        using var folder = new TempFolder();
        folder.CopyIn(GuestRunner.Guest("hello-static"));
        var settings = new RunSettings { WorkingDirectory = folder.Path };
        string[] record = ["record", "--", "./hello-static"];

        var first = await GuestRunner.RewindCommandAsync(record, settings);
        Assert.Equal(3, first.ExitCode);
        Assert.Contains(" to hello-static-1.rwd ", first.Stderr, StringComparison.Ordinal);
        var second = await GuestRunner.RewindCommandAsync(record, settings);
        Assert.Equal(3, second.ExitCode);
        Assert.Contains(" to hello-static-2.rwd ", second.Stderr, StringComparison.Ordinal);

        // A file that happens to have the next name is kept as it is.
        var taken = folder["hello-static-3.rwd"];
        await File.WriteAllTextAsync(taken, "not mine");
        var third = await GuestRunner.RewindCommandAsync(record, settings);
        Assert.Equal(3, third.ExitCode);
        Assert.Contains(" to hello-static-4.rwd ", third.Stderr, StringComparison.Ordinal);
        Assert.Equal("not mine", await File.ReadAllTextAsync(taken));

        Assert.Equal(["hello-static", "hello-static-1.rwd", "hello-static-2.rwd", "hello-static-3.rwd", "hello-static-4.rwd"],
            Directory.EnumerateFiles(folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var n in new[] { 1, 2, 4 })
        {
            var replay = await RewindCli.ReplayAsync(folder[$"hello-static-{n}.rwd"]);
            Assert.Equal(3, replay.ExitCode);
            Assert.Equal("hello, world\nargc=1\n", replay.StdoutText);
        }
    }

    /// <summary>A program that cannot start (no such file) fails as a shell's command would, and leaves no trace behind.</summary>
    [Fact]
    public async Task RecordOfAProgramThatCannotStartLeavesNoTrace()
    {
        using var folder = new TempFolder();
        var settings = new RunSettings { WorkingDirectory = folder.Path };

        var shell = await GuestRunner.NativeAsync("sh", ["-c", "./no-such-program"]);
        var record = await GuestRunner.RewindCommandAsync(["record", "--", "./no-such-program"], settings);

        Assert.Equal(shell.ExitCode, record.ExitCode);
        RewindCli.AssertOneLineError(record);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path));
    }
}
