namespace Rewind.Linux.Tests;

/// <summary>
/// Runs of several processes, each filling the engine's translation buffer many times over (every
/// process switch translates the code of the process that runs next), repeated: they end as natively,
/// never with Rewind dying of a fault in the engine.
/// </summary>
public sealed class MultiProcessStressTests
{
    const int Repeats = 3;

    [Fact]
    public async Task FiveStagePipelineRunsAgainAndAgain()
    {
        using var files = new HostFiles();
        var words = Path.Combine(files.Root, "words.txt");
        File.WriteAllLines(words, Enumerable.Range(0, 3000).Select(i => $"{i % 977} some words {i % 13}"));
        string[] arguments = ["-c", $"tr ' ' '\\n' < {words} | sort | uniq -c | sort -rn | head -5"];
        var native = await GuestRunner.NativeAsync(GuestRunner.Tool("bash"), arguments);
        for (var run = 1; run <= Repeats; run++)
        {
            var emulated = await GuestRunner.RewindAsync(GuestRunner.Tool("bash"), arguments);
            Assert.True(emulated.ExitCode == 0, $"run {run}: {emulated}");
            Assert.Equal(native.StdoutText, emulated.StdoutText);
        }
    }

    [Fact]
    public async Task PythonSubprocessesRunAgainAndAgain()
    {
        string[] arguments = ["-c", "import subprocess\nfor i in range(3): print(subprocess.run(['echo', str(i)], capture_output=True).stdout)"];
        var native = await GuestRunner.NativeAsync(GuestRunner.Tool("python3"), arguments);
        for (var run = 1; run <= Repeats; run++)
        {
            var emulated = await GuestRunner.RewindAsync(GuestRunner.Tool("python3"), arguments);
            Assert.True(emulated.ExitCode == 0, $"run {run}: {emulated}");
            Assert.Equal(native.StdoutText, emulated.StdoutText);
        }
    }
}
