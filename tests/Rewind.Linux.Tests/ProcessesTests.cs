using System.Text.RegularExpressions;

namespace Rewind.Linux.Tests;

/// <summary>
/// Programs that start other processes print under 'rewind run' what they print natively: our own
/// fork, pipe, exec, kill, vfork and wait program (tests/guest/processes.c), a shell pipeline, make
/// running its recipes through the shell, and Python's subprocess and multiprocessing.
/// </summary>
public sealed partial class ProcessesTests
{
    public static TheoryData<string> Variants() => ["static", "dynamic", "pie"];

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task ForkPipeExecKillAndWaitMatchNative(string variant)
    {
        string[] arguments = [GuestRunner.Guest($"hello-{variant}")];
        var path = GuestRunner.Guest($"processes-{variant}");
        var native = await GuestRunner.NativeAsync(path, arguments);
        var emulated = await GuestRunner.RewindAsync(path, arguments);
        Assert.Equal(0, native.ExitCode);
        Assert.Contains("read 5000 lines, sum 12497500\nwriter exited with 7\n", native.StdoutText, StringComparison.Ordinal);
        // Pids differ between any two runs.
        Assert.Equal(ForkedPid().Replace(native.StdoutText, "forked N"), ForkedPid().Replace(emulated.StdoutText, "forked N"));
        Assert.Equal(native.Stderr, emulated.Stderr);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }

    [GeneratedRegex(@"forked \d+")]
    private static partial Regex ForkedPid();

    /// <summary>Runs the program natively and under rewind run, asserts the same output and status, and returns the native run.</summary>
    static async Task<RunResult> AssertSameAsNativeAsync(string program, string[] arguments, RunSettings? settings = null)
    {
        var native = await GuestRunner.NativeAsync(program, arguments, settings);
        AssertSame(native, await GuestRunner.RewindAsync(program, arguments, settings));
        return native;
    }

    static void AssertSame(RunResult native, RunResult emulated)
    {
        Assert.Equal(native.StdoutText, emulated.StdoutText);
        Assert.Equal(native.Stderr, emulated.Stderr);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }

    [Fact]
    public async Task ForkAndWaitMatchNative()
    {
        var path = GuestRunner.Guest("fork_wait-dynamic");
        var native = await AssertSameAsNativeAsync(path, []);
        Assert.Equal("child exited with 3\n", native.StdoutText);
    }

    [Fact]
    public async Task ShellPipelineMatchesNative()
    {
        string[] arguments = ["-c", "ls /usr/bin | sort | wc -l; echo done >&2"];
        var native = await AssertSameAsNativeAsync(GuestRunner.Tool("bash"), arguments);
        Assert.Equal(0, native.ExitCode);
    }

    [Fact]
    public async Task MakeRunsItsRecipesAsNatively()
    {
        var makefile = "all: out.txt\n\t@echo done\nout.txt: in.txt\n\ttr a-z A-Z < in.txt > out.txt\n\t@cat out.txt\nin.txt:\n\techo hello make > in.txt\n";
        var results = new List<(RunResult Result, string Made)>();
        foreach (var emulate in new[] { false, true })
        {
            var folder = Directory.CreateTempSubdirectory("rewind-make-").FullName;
            try
            {
                File.WriteAllText(Path.Combine(folder, "Makefile"), makefile);
                var settings = new RunSettings { WorkingDirectory = folder };
                var result = emulate
                    ? await GuestRunner.RewindAsync(GuestRunner.Tool("make"), [], settings)
                    : await GuestRunner.NativeAsync(GuestRunner.Tool("make"), [], settings);
                results.Add((result, File.ReadAllText(Path.Combine(folder, "out.txt"))));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        var (native, emulated) = (results[0], results[1]);
        Assert.Equal("HELLO MAKE\n", native.Made);
        Assert.Equal(native.Made, emulated.Made);
        AssertSame(native.Result, emulated.Result);
    }

    [Fact]
    public async Task PythonSubprocessMatchesNative()
    {
        string[] arguments = ["-c", "import subprocess, sys; r = subprocess.run(['sh', '-c', 'echo from child; exit 3'], capture_output=True, text=True); "
            + "print(repr(r.stdout), r.returncode); sys.exit(subprocess.call(['true']))"];
        var native = await AssertSameAsNativeAsync(GuestRunner.Tool("python3"), arguments);
        Assert.Equal("'from child\\n' 3\n", native.StdoutText);
    }

    [Fact]
    public async Task PythonMultiprocessingPoolMatchesNative()
    {
        // Forked workers, pipes, and semaphores in memory the processes share (futexes across processes).
        string[] arguments = ["-c", "import multiprocessing as mp\ndef square(x): return x * x\nif __name__ == '__main__':\n"
            + "    with mp.Pool(2) as pool: print(pool.map(square, range(10)))"];
        var native = await AssertSameAsNativeAsync(GuestRunner.Tool("python3"), arguments);
        Assert.Equal("[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n", native.StdoutText);
    }

    [Fact]
    public async Task WithoutFollowingChildrenExecdProgramsRunNatively()
    {
        string[] arguments = ["-c", "ls /usr/bin | sort | wc -l; echo $?"];
        await AssertSameAsNativeAsync(GuestRunner.Tool("bash"), arguments, new RunSettings { RewindOptions = ["--no-follow-children"] });
    }

    [Fact]
    public async Task WithoutFollowingChildrenTheSandboxIsRefused()
    {
        var emulated = await GuestRunner.RewindAsync(GuestRunner.Tool("true"), [], new RunSettings { RewindOptions = ["--no-follow-children", "--sandbox"] });
        Assert.NotEqual(0, emulated.ExitCode);
        Assert.Matches(@"^rewind: --no-follow-children cannot be used with --sandbox: [^\n]+\n$", emulated.Stderr);
    }
}
