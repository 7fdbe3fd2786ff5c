using System.Text;

namespace Rewind.Linux.Tests;

/// <summary>Input files shared by the tests of one class, made once in a temporary folder.</summary>
public sealed class HostFiles : IDisposable
{
    public HostFiles()
    {
        Root = Directory.CreateTempSubdirectory("rewind-tests-").FullName;

        TextFile = Path.Combine(Root, "text.txt");
        File.WriteAllText(TextFile, "first line\nsecond line, with some UTF-8: \u00e9\u00e8\u00ea \u2713\nthird line without newline");

        // Numbers in a scrambled order, for the compute and mmap guests.
        NumbersFile = Path.Combine(Root, "numbers.txt");
        var numbers = new StringBuilder();
        for (var i = 0; i < 5000; i++)
            numbers.Append((i * 7919L % 5003) - 1000).Append('\n');
        File.WriteAllText(NumbersFile, numbers.ToString());

        // About 4 MB of bytes that compress a little but not much.
        BigFile = Path.Combine(Root, "big.bin");
        var big = new byte[4 * 1024 * 1024 + 123];
        ulong state = 0x9E3779B97F4A7C15;
        for (var i = 0; i < big.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            big[i] = (byte)(i % 3 == 0 ? (byte)'a' + (int)(state % 4) : (int)(state >> 56));
        }
        File.WriteAllBytes(BigFile, big);

        // About 1 MB of text for the gzip round trip.
        CompressibleFile = Path.Combine(Root, "log.txt");
        var log = new StringBuilder();
        for (var i = 0; log.Length < 1024 * 1024; i++)
            log.Append("line ").Append(i).Append(": value=").Append(i * 37 % 1009).Append(i % 5 == 0 ? " warning\n" : " ok\n");
        File.WriteAllText(CompressibleFile, log.ToString());

        // A folder for 'ls -la', made once so that both runs list the same times.
        ListedDirectory = Path.Combine(Root, "listed");
        Directory.CreateDirectory(Path.Combine(ListedDirectory, "subdir"));
        File.WriteAllText(Path.Combine(ListedDirectory, "a.txt"), "a");
        File.WriteAllText(Path.Combine(ListedDirectory, "B.txt"), "bb");
        File.WriteAllText(Path.Combine(ListedDirectory, ".hidden"), "hidden");
        File.WriteAllBytes(Path.Combine(ListedDirectory, "empty"), []);
        File.CreateSymbolicLink(Path.Combine(ListedDirectory, "link"), "a.txt");
    }

    public string Root { get; }
    public string TextFile { get; }
    public string NumbersFile { get; }
    public string BigFile { get; }
    public string CompressibleFile { get; }
    public string ListedDirectory { get; }

    /// <summary>A new empty folder under the shared temporary folder.</summary>
    public string NewDirectory()
    {
        var path = Path.Combine(Root, "run-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Real programs under 'rewind run' behave as they do natively: the same standard output (byte for
/// byte), standard error and exit status. The expected values are computed by running each program
/// natively in the same test.
/// </summary>
public sealed partial class RunMatchesNativeTests(HostFiles files) : IClassFixture<HostFiles>
{
    const int SegmentationFaultStatus = 128 + 11;

    static readonly string[] Variants = ["static", "dynamic", "pie"];

    static readonly string[] GuestNames =
    [
        "hello", "files", "compute", "nullderef", "readonly_write", "unknown_syscall",
        "prctl_name", "mmap", "time_random", "environ", "stdin_echo", "exec_chain",
    ];

    public static TheoryData<string> GuestPrograms()
    {
        var data = new TheoryData<string>();
        foreach (var name in GuestNames)
        {
            foreach (var variant in Variants)
                data.Add($"{name}-{variant}");
        }
        data.Add("nostdlib");
        return data;
    }

    [Theory]
    [InlineData("/bin/true")]
    [InlineData("/bin/false")]
    [InlineData("/bin/echo", "hello", "world")]
    public async Task SimpleCommandMatchesNative(string program, params string[] arguments)
    {
        await AssertSameAsync(program, arguments);
    }

    [Fact]
    public async Task CatOfAFileMatchesNative()
    {
        await AssertSameAsync(GuestRunner.Tool("cat"), [files.TextFile]);
    }

    [Fact]
    public async Task LsOfADirectoryMatchesNative()
    {
        var result = await AssertSameAsync(GuestRunner.Tool("ls"), ["-la", files.ListedDirectory]);
        Assert.Contains("a.txt", result.StdoutText, StringComparison.Ordinal);
        Assert.Contains("link -> a.txt", result.StdoutText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sha256OfALargeFileMatchesNative()
    {
        var result = await AssertSameAsync(GuestRunner.Tool("sha256sum"), [files.BigFile]);
        Assert.Matches("^[0-9a-f]{64}  ", result.StdoutText);
    }

    [Fact]
    public async Task GzipRoundTripMatchesNative()
    {
        var gzip = GuestRunner.Tool("gzip");
        var compressed = await AssertSameAsync(gzip, ["-c", files.CompressibleFile]);
        Assert.True(compressed.Stdout.Length > 0);

        // gunzip is a shell script that executes 'gzip -d'.
        var original = await File.ReadAllBytesAsync(files.CompressibleFile);
        var restored = await GuestRunner.RewindAsync(GuestRunner.SystemScript("gunzip"), ["-c"], new RunSettings { Stdin = compressed.Stdout });
        Assert.Equal(0, restored.ExitCode);
        Assert.Equal("", restored.Stderr);
        Assert.True(original.AsSpan().SequenceEqual(restored.Stdout), $"gunzip -c under rewind gave {restored.Stdout.Length} bytes, not the {original.Length} of the original");
    }

    [Theory]
    [InlineData("bash", "-c", "ls -la {0}")] // one simple command: bash executes it in its own process
    [InlineData("env", "LC_ALL=C", "ls", "-la", "{0}")]
    [InlineData("bash", "-c", "exec -a renamed-ls ls {0}; echo not reached")]
    public async Task ProgramsThatExecuteAnotherMatchNative(string tool, params string[] arguments)
    {
        var result = await AssertSameAsync(GuestRunner.Tool(tool), arguments.Select(a => string.Format(System.Globalization.CultureInfo.InvariantCulture, a, files.ListedDirectory)).ToArray());
        Assert.Contains("a.txt", result.StdoutText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SeqPipedIntoSortMatchesNative()
    {
        var seq = GuestRunner.Tool("seq");
        var sort = GuestRunner.Tool("sort");
        var numbers = await AssertSameAsync(seq, ["1", "2000"]);

        var native = await GuestRunner.NativeAsync(sort, ["-r"], new RunSettings { Stdin = numbers.Stdout });
        var emulated = await GuestRunner.RewindAsync(sort, ["-r"], new RunSettings { Stdin = numbers.Stdout });
        AssertSame(native, emulated);
        Assert.StartsWith("999\n998\n", native.StdoutText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PythonMatchesNative()
    {
        var result = await AssertSameAsync(GuestRunner.Tool("python3"),
            ["-c", "import json,hashlib; print(json.dumps({'a':[1,2,3]}), hashlib.sha256(b'abc').hexdigest())"]);
        Assert.Equal("{\"a\": [1, 2, 3]} ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n", result.StdoutText);
    }

    [Theory]
    [MemberData(nameof(GuestPrograms))]
    public async Task GuestProgramMatchesNative(string program)
    {
        var path = GuestRunner.Guest(program);
        var name = program.Split('-')[0];
        switch (name)
        {
            case "hello":
                var hello = await AssertSameAsync(path, ["a", "b c"]);
                Assert.Equal(3, hello.ExitCode);
                break;

            case "files":
                await FilesMatchesNativeAsync(path);
                break;

            case "compute":
            case "mmap":
                await AssertSameAsync(path, [files.NumbersFile]);
                break;

            case "environ":
                var environment = new Dictionary<string, string?> { ["REWIND_TEST_VAR"] = "value with spaces" };
                var environ = await AssertSameAsync(path, ["one", "two words"], new RunSettings { Environment = environment });
                Assert.Contains("REWIND_TEST_VAR=value with spaces\n", environ.StdoutText, StringComparison.Ordinal);
                break;

            case "stdin_echo":
                var input = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 3000).Select(i => $"line {i}: mixed Case text\n")));
                var echoed = await AssertSameAsync(path, [], new RunSettings { Stdin = input });
                Assert.Equal(Encoding.UTF8.GetString(input).ToUpperInvariant(), echoed.StdoutText);
                break;

            case "nullderef":
                await CrashMatchesNativeAsync(path, "before\n");
                break;

            case "readonly_write":
                await CrashMatchesNativeAsync(path, "read 0\n");
                break;

            case "unknown_syscall":
                var native = await GuestRunner.NativeAsync(path, []);
                var emulated = await GuestRunner.RewindAsync(path, []);
                Assert.Equal(native.StdoutText, emulated.StdoutText);
                Assert.Equal(native.ExitCode, emulated.ExitCode);
                Assert.Contains("still running\n", emulated.StdoutText, StringComparison.Ordinal);
                Assert.Contains("rewind: unsupported syscall io_uring_setup (425) returned ENOSYS", emulated.Stderr, StringComparison.Ordinal);
                break;

            case "exec_chain":
                var chain = await AssertSameAsync(path, []);
                Assert.Equal(7, chain.ExitCode);
                Assert.Contains("second image: argc=4 argv[2]=third argument env=passed on\nsame pid: yes\n", chain.StdoutText, StringComparison.Ordinal);
                break;

            case "nostdlib":
                var bare = await AssertSameAsync(path, []);
                Assert.Equal(7, bare.ExitCode);
                Assert.Equal("hello from nostdlib\n", bare.StdoutText);
                break;

            default:
                await AssertSameAsync(path, []);
                break;
        }
    }

    /// <summary>Under --sandbox the guest sees its own writes, but the host folder stays as it was.</summary>
    [Fact]
    public async Task SandboxKeepsTheHostUnchanged()
    {
        var program = GuestRunner.Guest("files-static");
        var nativeDirectory = files.NewDirectory();
        var native = await GuestRunner.NativeAsync(program, [nativeDirectory], new RunSettings { WorkingDirectory = nativeDirectory });
        Assert.Equal(0, native.ExitCode);
        Assert.True(File.Exists(Path.Combine(nativeDirectory, "result.txt")), "the native run leaves result.txt");

        var sandboxed = files.NewDirectory();
        var before = Snapshot(sandboxed);
        var emulated = await GuestRunner.RewindAsync(program, [sandboxed], new RunSettings
        {
            WorkingDirectory = sandboxed,
            RewindOptions = ["--sandbox"],
        });
        Assert.Equal(native.StdoutText, emulated.StdoutText);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
        Assert.Equal(before, Snapshot(sandboxed));
        Assert.Empty(Directory.EnumerateFileSystemEntries(sandboxed));
    }

    /// <summary>The files guest in a fresh folder each way: same output, and the same file left on the host.</summary>
    async Task FilesMatchesNativeAsync(string path)
    {
        var nativeDirectory = files.NewDirectory();
        var emulatedDirectory = files.NewDirectory();
        var native = await GuestRunner.NativeAsync(path, [nativeDirectory], new RunSettings { WorkingDirectory = nativeDirectory });
        var emulated = await GuestRunner.RewindAsync(path, [emulatedDirectory], new RunSettings { WorkingDirectory = emulatedDirectory });
        AssertSame(native, emulated);
        Assert.Equal(0, native.ExitCode);
        Assert.Equal(Snapshot(nativeDirectory, withTimes: false), Snapshot(emulatedDirectory, withTimes: false));
        Assert.Equal(
            await File.ReadAllTextAsync(Path.Combine(nativeDirectory, "result.txt")),
            await File.ReadAllTextAsync(Path.Combine(emulatedDirectory, "result.txt")));
    }

    /// <summary>A program that dies of SIGSEGV: status 139 both ways, the output it flushed first, and no shell's message from Rewind.</summary>
    static async Task CrashMatchesNativeAsync(string path, string expectedStdout)
    {
        var native = await GuestRunner.NativeAsync(path, []);
        var emulated = await GuestRunner.RewindAsync(path, []);
        Assert.Equal(SegmentationFaultStatus, native.ExitCode);
        Assert.Equal(expectedStdout, native.StdoutText);
        Assert.Equal(native.StdoutText, emulated.StdoutText);
        Assert.Equal(SegmentationFaultStatus, emulated.ExitCode);
        Assert.DoesNotContain("Segmentation fault", emulated.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A program killed by a signal ends Rewind by the same signal: the shell that started it reports the ending itself, as
    /// it does for the native program, and $? is the same.
    /// </summary>
    [Theory]
    [InlineData("nullderef-dynamic", "Segmentation fault")]
    [InlineData("abort-dynamic", "Aborted")]
    public async Task AShellSeesTheSameEndingAsNatively(string guest, string message)
    {
        var program = GuestRunner.Guest(guest);
        var rewind = GuestRunner.RewindStartInfo(["run", "--", program]);
        var command = string.Join(' ', new[] { rewind.FileName }.Concat(rewind.ArgumentList).Select(Quote));
        var settings = new RunSettings { Environment = new Dictionary<string, string?> { [GuestRunner.EngineVariable] = GuestRunner.UnicornLibrary } };
        var native = await GuestRunner.NativeAsync(GuestRunner.Tool("bash"), ["-c", $"{Quote(program)}; echo status $?"], settings);
        var emulated = await GuestRunner.NativeAsync(GuestRunner.Tool("bash"), ["-c", $"{command}; echo status $?"], settings);
        Assert.Equal(native.StdoutText, emulated.StdoutText);
        Assert.Contains(message, native.Stderr, StringComparison.Ordinal);
        // bash names the pid and the command line it ran; what it says of the ending must be the same.
        Assert.Equal(ShellReport(native.Stderr), ShellReport(emulated.Stderr));
    }

    static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    static string ShellReport(string stderr) => ShellEnding().Match(stderr) is { Success: true } match ? match.Groups[1].Value : stderr;

    [System.Text.RegularExpressions.GeneratedRegex(@"\d+ ([A-Z][a-z]+( [a-z]+)*( \(core dumped\))?)")]
    private static partial System.Text.RegularExpressions.Regex ShellEnding();

    static async Task<RunResult> AssertSameAsync(string program, string[] arguments, RunSettings? settings = null)
    {
        var native = await GuestRunner.NativeAsync(program, arguments, settings);
        var emulated = await GuestRunner.RewindAsync(program, arguments, settings);
        AssertSame(native, emulated);
        return native;
    }

    static void AssertSame(RunResult native, RunResult emulated)
    {
        if (!native.Stdout.AsSpan().SequenceEqual(emulated.Stdout))
        {
            // Show text when it is text, so that the difference is readable.
            Assert.Equal(native.StdoutText, emulated.StdoutText);
            Assert.Fail($"stdout differs in bytes ({native.Stdout.Length} natively, {emulated.Stdout.Length} under rewind)");
        }
        Assert.Equal(native.Stderr, emulated.Stderr);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }

    /// <summary>Every entry under a folder with its kind and size (and, optionally, modification time).</summary>
    /// <remarks>With times, the folder's own modification time is included: it changes when anything was created and removed in it.</remarks>
    static string[] Snapshot(string directory, bool withTimes = true) =>
        Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories)
            .Prepend(directory)
            .Select(path => new FileInfo(path))
            .Select(info => $"{Path.GetRelativePath(directory, info.FullName)} {(info.Attributes.HasFlag(FileAttributes.Directory) ? "dir" : info.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))}"
                + (withTimes ? $" {info.LastWriteTimeUtc.Ticks}" : ""))
            .Order(StringComparer.Ordinal)
            .ToArray();
}
