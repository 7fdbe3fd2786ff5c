using Rewind.Linux.Files;

namespace Rewind.Linux.Execution;

/// <summary>How to start a guest program.</summary>
public sealed record RunOptions
{
    /// <summary>Program as the user typed it: a path, or a name looked up in PATH.</summary>
    public required string Program { get; init; }

    /// <summary>argv, including argv[0].</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    public required IReadOnlyList<string> Environment { get; init; }

    public required string WorkingDirectory { get; init; }

    /// <summary>File system the guest sees; the host itself unless sandboxed.</summary>
    public FileSystemView FileSystem { get; init; } = new HostView();

    /// <summary>Instructions a thread runs before another runnable thread gets its turn.</summary>
    public long PreemptAfter { get; init; } = DefaultPreemptAfter;

    public const long DefaultPreemptAfter = 100_000;

    /// <summary>
    /// Whether child processes run in the engine (and so in the trace) all their life. When false, a child
    /// runs there only until its exec, and the program it execs runs natively, outside the trace.
    /// </summary>
    public bool FollowChildren { get; init; } = true;

    /// <summary>Receives one-line warnings (unsupported syscalls and the like); the library never prints.</summary>
    public Action<string>? Warn { get; init; }
}
