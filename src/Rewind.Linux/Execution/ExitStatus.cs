namespace Rewind.Linux.Execution;

/// <summary>How a guest program ended.</summary>
public sealed record ExitStatus
{
    /// <summary>exit_group status, or null when a signal ended the program.</summary>
    public int? ExitCode { get; init; }

    /// <summary>Signal that ended the program, or null.</summary>
    public Signal? Signal { get; init; }

    /// <summary>The signal's si_code (SEGV_MAPERR, SI_USER...), when a signal ended the program.</summary>
    public int SignalCode { get; init; }

    /// <summary>Program counter of the instruction that faulted, when a fault ended the program.</summary>
    public ulong FaultPc { get; init; }

    /// <summary>Address whose access faulted (SIGSEGV/SIGBUS), when known.</summary>
    public ulong FaultAddress { get; init; }

    /// <summary>Set when replay stopped at the end of a trace that was cut short, with the reason.</summary>
    public string? EndOfTrace { get; init; }

    /// <summary>Instructions executed, in the whole run.</summary>
    public long Instructions { get; init; }

    /// <summary>The status a shell shows in $?: the exit code, or 128 + signal number.</summary>
    public int ShellStatus => ExitCode is { } code ? code & 0xff : Signal is { } signal ? 128 + (int)signal : 1;
}
