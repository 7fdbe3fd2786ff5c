namespace Rewind.Gdb.Tests;

/// <summary>A guest program recorded into a temporary folder: its trace and what it printed while recorded.</summary>
internal sealed class Recording
{
    Recording(string program, string trace, RunResult run)
    {
        Program = program;
        Trace = trace;
        Run = run;
    }

    public string Program { get; }

    public string Trace { get; }

    public RunResult Run { get; }

    /// <summary>The lines the program printed that start with <paramref name="word"/>, without it.</summary>
    public IEnumerable<string> Printed(string word) =>
        Run.StdoutText.Split('\n').Where(l => l.StartsWith(word + " ", StringComparison.Ordinal)).Select(l => l[(word.Length + 1)..]);

    /// <summary>Records <paramref name="program"/> (a guest name or a path) with <paramref name="arguments"/>.</summary>
    public static async Task<Recording> MakeAsync(string program, params string[] arguments)
    {
        var path = File.Exists(program) ? program : GuestRunner.Guest(program);
        var folder = Directory.CreateTempSubdirectory("rewind-gdb-tests-").FullName;
        var trace = Path.Combine(folder, Path.GetFileName(path) + ".rwd");
        var run = await GuestRunner.RewindCommandAsync(["record", "-o", trace, "--", path, .. arguments], new RunSettings { WorkingDirectory = folder });
        Assert.True(File.Exists(trace), $"rewind record wrote no trace: {run}");
        return new Recording(path, trace, run);
    }
}
