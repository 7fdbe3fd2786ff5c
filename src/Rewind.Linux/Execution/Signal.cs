namespace Rewind.Linux.Execution;

/// <summary>Linux x86-64 signal numbers.</summary>
public enum Signal
{
    SIGHUP = 1, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2,
    SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG,
    SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS,
}

/// <summary>What happens to a process that receives a signal it neither handles nor ignores (signal(7)).</summary>
public enum DefaultAction
{
    Terminate,
    /// <summary>Terminate and dump core: a shell adds "(core dumped)" when a core file was written.</summary>
    Core,
    Ignore,
    Stop,
    Continue,
}

public static class SignalText
{
    /// <summary>Every standard signal: what a shell prints when it kills a program (strsignal), and its default action.</summary>
    static readonly (string Description, DefaultAction Action)[] Table =
    [
        ("", DefaultAction.Terminate), // no signal 0
        ("Hangup", DefaultAction.Terminate),
        ("Interrupt", DefaultAction.Terminate),
        ("Quit", DefaultAction.Core),
        ("Illegal instruction", DefaultAction.Core),
        ("Trace/breakpoint trap", DefaultAction.Core),
        ("Aborted", DefaultAction.Core),
        ("Bus error", DefaultAction.Core),
        ("Floating point exception", DefaultAction.Core),
        ("Killed", DefaultAction.Terminate),
        ("User defined signal 1", DefaultAction.Terminate),
        ("Segmentation fault", DefaultAction.Core),
        ("User defined signal 2", DefaultAction.Terminate),
        ("Broken pipe", DefaultAction.Terminate),
        ("Alarm clock", DefaultAction.Terminate),
        ("Terminated", DefaultAction.Terminate),
        ("Stack fault", DefaultAction.Terminate),
        ("Child exited", DefaultAction.Ignore),
        ("Continued", DefaultAction.Continue),
        ("Stopped (signal)", DefaultAction.Stop),
        ("Stopped", DefaultAction.Stop),
        ("Stopped (tty input)", DefaultAction.Stop),
        ("Stopped (tty output)", DefaultAction.Stop),
        ("Urgent I/O condition", DefaultAction.Ignore),
        ("CPU time limit exceeded", DefaultAction.Core),
        ("File size limit exceeded", DefaultAction.Core),
        ("Virtual timer expired", DefaultAction.Terminate),
        ("Profiling timer expired", DefaultAction.Terminate),
        ("Window changed", DefaultAction.Ignore),
        ("I/O possible", DefaultAction.Terminate),
        ("Power failure", DefaultAction.Terminate),
        ("Bad system call", DefaultAction.Core),
    ];

    /// <summary>What a shell prints when a program dies of <paramref name="signal"/> (strsignal).</summary>
    public static string Describe(Signal signal) =>
        (int)signal is > 0 and var n && n < Table.Length ? Table[n].Description : $"Real-time signal {(int)signal - 34}";

    /// <summary>The default action; real-time signals (32-64) terminate.</summary>
    public static DefaultAction DefaultActionOf(int signal) => signal > 0 && signal < Table.Length ? Table[signal].Action : DefaultAction.Terminate;

    /// <summary>Signals whose default action dumps core ("(core dumped)" in a shell).</summary>
    public static bool DumpsCore(Signal signal) => DefaultActionOf((int)signal) == DefaultAction.Core;

    /// <summary>The name, as in a trace's events: SIGSEGV, or SIGRT5 style for real-time signals (SIGRTMIN is 34).</summary>
    public static string Name(int signal) => Enum.IsDefined((Signal)signal) ? ((Signal)signal).ToString() : signal >= 34 ? $"SIGRT{signal - 34}" : $"signal {signal}";
}
