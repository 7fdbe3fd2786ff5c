namespace Rewind.Linux.Execution;

/// <summary>Linux x86-64 signal numbers.</summary>
public enum Signal
{
    SIGHUP = 1, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2,
    SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG,
    SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS,
}

public static class SignalText
{
    /// <summary>What a shell prints when a program dies of <paramref name="signal"/> (strsignal).</summary>
    public static string Describe(Signal signal) => signal switch
    {
        Signal.SIGSEGV => "Segmentation fault",
        Signal.SIGILL => "Illegal instruction",
        Signal.SIGFPE => "Floating point exception",
        Signal.SIGBUS => "Bus error",
        Signal.SIGTRAP => "Trace/breakpoint trap",
        Signal.SIGABRT => "Aborted",
        Signal.SIGKILL => "Killed",
        Signal.SIGTERM => "Terminated",
        Signal.SIGPIPE => "Broken pipe",
        Signal.SIGALRM => "Alarm clock",
        Signal.SIGSYS => "Bad system call",
        Signal.SIGINT => "Interrupt",
        Signal.SIGQUIT => "Quit",
        Signal.SIGHUP => "Hangup",
        Signal.SIGUSR1 => "User defined signal 1",
        Signal.SIGUSR2 => "User defined signal 2",
        _ => signal.ToString(),
    };

    /// <summary>Signals whose default action dumps core ("(core dumped)" in a shell).</summary>
    public static bool DumpsCore(Signal signal) =>
        signal is Signal.SIGQUIT or Signal.SIGILL or Signal.SIGTRAP or Signal.SIGABRT or Signal.SIGBUS
            or Signal.SIGFPE or Signal.SIGSEGV or Signal.SIGXCPU or Signal.SIGXFSZ or Signal.SIGSYS;
}
