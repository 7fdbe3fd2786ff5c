namespace Rewind.Linux.Execution;

/// <summary>Finds the program to run the way a shell's execvp does: a path with a slash as is, else PATH.</summary>
public static class ProgramLocator
{
    public static string? Find(string program, IReadOnlyList<string> environment, string workingDirectory)
    {
        if (program.Contains('/'))
            return File.Exists(Path.Combine(workingDirectory, program)) || Directory.Exists(Path.Combine(workingDirectory, program)) ? program : null;
        var path = environment.FirstOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..]
            ?? "/usr/local/bin:/usr/bin:/bin";
        foreach (var directory in path.Split(':'))
        {
            var candidate = Path.Combine(directory.Length == 0 ? "." : directory, program);
            var full = Path.Combine(workingDirectory, candidate);
            if (File.Exists(full) && IsExecutable(full))
                return candidate;
        }
        return null;
    }

    public static bool IsExecutable(string path) =>
        (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
