namespace Rewind.Linux.Tests;

/// <summary>
/// /proc/self, /proc/PID, /dev/fd and /dev/stdin are the guest's own: what they say about the process, its
/// descriptors, memory, limits, threads and children agrees with the process itself (tests/guest/proc_self.c
/// checks each against its own calls, natively and under emulation), and paths through them reach the guest's
/// files, not Rewind's.
/// </summary>
public sealed class ProcViewTests(HostFiles files) : IClassFixture<HostFiles>
{
    public static TheoryData<string> Variants() => ["static", "dynamic", "pie"];

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task ProcSelfAgreesWithTheProcessAsNatively(string variant)
    {
        // Started through a link, as /usr/bin/java is: /proc/self/exe must be the file itself.
        var link = Path.Combine(files.NewDirectory(), "through-a-link");
        File.CreateSymbolicLink(link, GuestRunner.Guest($"proc_self-{variant}"));
        var native = await GuestRunner.NativeAsync(link, ["an argument"]);
        var emulated = await GuestRunner.RewindAsync(link, ["an argument"]);
        Assert.Equal(0, native.ExitCode);
        Assert.DoesNotContain(": no\n", native.StdoutText, StringComparison.Ordinal);
        Assert.Equal(native.StdoutText, emulated.StdoutText);
        Assert.Equal(native.Stderr, emulated.Stderr);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }

    [Fact]
    public async Task DevStdinIsTheGuestsStandardInput()
    {
        var emulated = await GuestRunner.RewindAsync(GuestRunner.Tool("bash"), ["-c", "echo guest | cat /dev/stdin"],
            new RunSettings { Stdin = "HOST\n"u8.ToArray() });
        Assert.Equal("guest\n", emulated.StdoutText);
        Assert.Equal(0, emulated.ExitCode);
    }

    [Fact]
    public async Task ProcessSubstitutionMatchesNative()
    {
        string[] arguments = ["-c", "diff <(printf 'a\\nb\\n') <(printf 'a\\nc\\n'); echo status $?"];
        var native = await GuestRunner.NativeAsync(GuestRunner.Tool("bash"), arguments);
        var emulated = await GuestRunner.RewindAsync(GuestRunner.Tool("bash"), arguments);
        Assert.Contains("status 1", native.StdoutText, StringComparison.Ordinal);
        Assert.Equal(native.StdoutText, emulated.StdoutText);
        Assert.Equal(native.Stderr, emulated.Stderr);
    }

    static readonly string[] ExtractedEntries = ["tree", "tree/inner", "tree/inner/file"];

    /// <summary>tar restores a directory's mode with fchmodat through /proc/self/fd/N: it must reach the guest's directory.</summary>
    [Fact]
    public async Task TarExtractionRestoresModesAsNatively()
    {
        var source = files.NewDirectory();
        Directory.CreateDirectory(Path.Combine(source, "tree", "inner"));
        File.WriteAllText(Path.Combine(source, "tree", "inner", "file"), "contents\n");
        File.SetUnixFileMode(Path.Combine(source, "tree", "inner"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Path.Combine(source, "tree"), (UnixFileMode)0b111_101_000);
        var archive = Path.Combine(source, "tree.tar");
        Assert.Equal(0, (await GuestRunner.NativeAsync(GuestRunner.Tool("tar"), ["-cf", archive, "-C", source, "tree"])).ExitCode);

        var modes = new List<string>();
        foreach (var emulate in new[] { false, true })
        {
            var target = files.NewDirectory();
            var settings = new RunSettings { WorkingDirectory = target };
            var result = emulate
                ? await GuestRunner.RewindAsync(GuestRunner.Tool("tar"), ["-xf", archive], settings)
                : await GuestRunner.NativeAsync(GuestRunner.Tool("tar"), ["-xf", archive], settings);
            Assert.Equal(0, result.ExitCode);
            modes.Add(string.Join(" ", ExtractedEntries.Select(entry => $"{entry}:{File.GetUnixFileMode(Path.Combine(target, entry))}")));
        }
        Assert.Equal(modes[0], modes[1]);
    }
}
