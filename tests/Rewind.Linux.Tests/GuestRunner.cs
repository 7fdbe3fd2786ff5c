using System.Diagnostics;
using System.Text;

namespace Rewind.Linux.Tests;

/// <summary>How one program run ended: its standard output as bytes, its standard error, its exit status.</summary>
/// <remarks>A program killed by a signal has exit code 128 + the signal number, as a shell reports it.</remarks>
public sealed record RunResult(byte[] Stdout, string Stderr, int ExitCode)
{
    public string StdoutText => Encoding.UTF8.GetString(Stdout);

    public override string ToString() => $"exit {ExitCode}, stdout:\n{StdoutText}\nstderr:\n{Stderr}";
}

/// <summary>What a run gets besides its command line.</summary>
public sealed class RunSettings
{
    /// <summary>Bytes fed to standard input, which is then closed; with none the program reads end-of-file at once.</summary>
    public byte[]? Stdin { get; init; }

    /// <summary>Environment variables to set (or, with a null value, remove) on top of the test's own.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>The working directory; the test's own when null.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Options given to 'rewind run' before the '--' (ignored for native runs).</summary>
    public IReadOnlyList<string> RewindOptions { get; init; } = [];

    /// <summary>How long the run may take before it is killed and the test fails; <see cref="GuestRunner.Timeout"/> when null.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>
/// Runs a program natively and under 'dotnet rewind.dll run -- program args', so that tests can compare
/// the two, and runs the other verbs ('record', 'replay', 'info') the same way. Finds the repository (the folder with the 'rewind' launcher and tests/guest), builds the
/// guest programs once per test run, and points REWIND_UNICORN at .deps/unicorn when it is unset.
/// </summary>
public static class GuestRunner
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>The environment variable that names the Unicorn library rewind loads.</summary>
    public const string EngineVariable = "REWIND_UNICORN";

    static readonly Lazy<string> RepositoryRoot = new(FindRepositoryRoot, LazyThreadSafetyMode.ExecutionAndPublication);
    static readonly Lazy<string> GuestBinaries = new(BuildGuests, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Every run gets these unless the test overrides them, so that output does not depend on the machine's locale or zone.</summary>
    static readonly Dictionary<string, string> StableEnvironment = new(StringComparer.Ordinal)
    {
        ["LC_ALL"] = "C",
        ["TZ"] = "UTC",
    };

    public static string RepoRoot => RepositoryRoot.Value;

    /// <summary>The rewind.dll built beside this test assembly.</summary>
    public static string RewindDll => Path.Combine(AppContext.BaseDirectory, "rewind.dll");

    /// <summary>The folder of built guest programs, tests/guest/bin; built by tests/guest/build.sh on first use.</summary>
    public static string GuestBin => GuestBinaries.Value;

    /// <summary>The path of a guest program such as "hello-static" or "nostdlib".</summary>
    public static string Guest(string name)
    {
        var path = Path.Combine(GuestBin, name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"guest program {name} was not built by tests/guest/build.sh", path);
        return path;
    }

    /// <summary>The absolute path of a host tool that is an ELF executable (not a script), searched in PATH.</summary>
    public static string Tool(string name)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var directory in directories.Append("/usr/bin").Append("/bin"))
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path) && IsElf(path))
                return path;
        }
        throw new FileNotFoundException($"no ELF executable named {name} in PATH");
    }

    static readonly string[] SystemDirectories = ["/usr/bin", "/bin"];

    /// <summary>The absolute path of a system script such as gunzip (Debian's, not a shim that PATH may put first).</summary>
    public static string SystemScript(string name) =>
        SystemDirectories.Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists)
        ?? throw new FileNotFoundException($"no script named {name} in /usr/bin or /bin");

    public static Task<RunResult> NativeAsync(string program, IEnumerable<string> arguments, RunSettings? settings = null)
    {
        settings ??= new RunSettings();
        var start = NewStartInfo(program, settings);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return RunAsync(start, settings.Stdin, $"{program} (native)", settings.Timeout ?? Timeout);
    }

    /// <summary>Runs 'rewind run [RewindOptions] -- program arguments...'.</summary>
    public static Task<RunResult> RewindAsync(string program, IEnumerable<string> arguments, RunSettings? settings = null)
    {
        settings ??= new RunSettings();
        return RewindCommandAsync(["run", .. settings.RewindOptions, "--", program, .. arguments], settings, $"{program} (rewind)");
    }

    /// <summary>Runs 'dotnet rewind.dll arguments...': any verb with its options and operands.</summary>
    public static Task<RunResult> RewindCommandAsync(IEnumerable<string> arguments, RunSettings? settings = null, string? what = null)
    {
        settings ??= new RunSettings();
        var start = RewindStartInfo(arguments, settings);
        return RunAsync(start, settings.Stdin, what ?? $"rewind {string.Join(' ', start.ArgumentList.Skip(1))}", settings.Timeout ?? Timeout);
    }

    /// <summary>How to start 'dotnet rewind.dll arguments...', for a test that manages the process itself.</summary>
    public static ProcessStartInfo RewindStartInfo(IEnumerable<string> arguments, RunSettings? settings = null)
    {
        settings ??= new RunSettings();
        var start = NewStartInfo(DotnetHost(), settings);
        start.ArgumentList.Add(RewindDll);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EngineVariable)) && !settings.Environment.ContainsKey(EngineVariable)
            && UnicornLibrary is { } unicorn)
        {
            start.Environment[EngineVariable] = unicorn;
        }
        return start;
    }

    /// <summary>The libunicorn.so.2 that scripts/setup installs in .deps/unicorn, when it is there.</summary>
    public static string? UnicornLibrary
    {
        get
        {
            var unicorn = Path.Combine(RepoRoot, ".deps", "unicorn", "libunicorn.so.2");
            return File.Exists(unicorn) ? unicorn : null;
        }
    }

    static readonly Lazy<bool> EngineLoaded = new(() =>
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EngineVariable)) && UnicornLibrary is { } unicorn)
            Environment.SetEnvironmentVariable(EngineVariable, unicorn);
        Rewind.Engine.EngineLibrary.Load();
        return true;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Loads Unicorn into the test process once, for tests that call the replay and query APIs directly.</summary>
    public static void LoadEngine() => _ = EngineLoaded.Value;

    static ProcessStartInfo NewStartInfo(string fileName, RunSettings settings)
    {
        var start = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = settings.WorkingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var (name, value) in StableEnvironment)
            start.Environment[name] = value;
        foreach (var (name, value) in settings.Environment)
        {
            if (value is null)
                start.Environment.Remove(name);
            else
                start.Environment[name] = value;
        }
        return start;
    }

    static async Task<RunResult> RunAsync(ProcessStartInfo start, byte[]? stdin, string what, TimeSpan allowed)
    {
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {what}");
        using var stdout = new MemoryStream();
        var stdoutDone = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderrDone = process.StandardError.ReadToEndAsync();
        var stdinDone = FeedAsync(process.StandardInput.BaseStream, stdin);

        using var timeout = new CancellationTokenSource(allowed);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
            throw new TimeoutException($"{what} did not finish within {allowed.TotalSeconds} s and was killed");
        }
        await Task.WhenAll(stdoutDone, stderrDone, stdinDone).ConfigureAwait(false);
        return new RunResult(stdout.ToArray(), await stderrDone.ConfigureAwait(false), process.ExitCode);
    }

    static async Task FeedAsync(Stream input, byte[]? bytes)
    {
        try
        {
            if (bytes is { Length: > 0 })
                await input.WriteAsync(bytes).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The program ended without reading all of its input.
        }
        finally
        {
            try
            {
                await input.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
            }
        }
    }

    static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
            return host;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileName(self) == "dotnet")
            return self;
        return "dotnet";
    }

    static bool IsElf(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            Span<byte> magic = stackalloc byte[4];
            return file.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("\u007fELF"u8);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "rewind")) && Directory.Exists(Path.Combine(directory.FullName, "tests", "guest")))
                return directory.FullName;
        }
        throw new DirectoryNotFoundException($"no folder above {AppContext.BaseDirectory} holds the 'rewind' launcher and tests/guest");
    }

    /// <summary>Runs tests/guest/build.sh (it rebuilds only what changed) and returns tests/guest/bin.</summary>
    static string BuildGuests()
    {
        var guest = Path.Combine(RepoRoot, "tests", "guest");
        var bin = Path.Combine(guest, "bin");
        var start = new ProcessStartInfo(Path.Combine(guest, "build.sh"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(bin);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start tests/guest/build.sh");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("tests/guest/build.sh did not finish in time");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"tests/guest/build.sh failed ({process.ExitCode}): {stdout.Result}{stderr.Result}");
        return bin;
    }
}
