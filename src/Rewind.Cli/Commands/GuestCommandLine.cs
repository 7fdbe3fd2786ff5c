using System.CommandLine;
using System.Diagnostics;
using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Signals;

namespace Rewind.Cli.Commands;

/// <summary>The arguments shared by every verb that starts a program: [--sandbox] -- PROGRAM ARGS...</summary>
internal sealed class GuestCommandLine
{
    public Option<bool> Sandbox { get; } = new("--sandbox")
    {
        Description = "Keep the host untouched: file writes go to a private overlay; network and devices are refused.",
    };

    public Option<long> Preempt { get; } = CreatePreemptOption();

    public Option<bool> NoFollowChildren { get; } = new("--no-follow-children")
    {
        Description = "Trace only the first process (and its children until they exec): a program a child execs runs natively, "
            + "outside the engine and the trace. Faster for build tools and shells; what those programs do is not replayed.",
    };

    static Option<long> CreatePreemptOption()
    {
        var option = new Option<long>("--preempt")
        {
            Description = "Instructions a thread of the program runs before another runnable thread gets its turn (threads run one at a time).",
            DefaultValueFactory = _ => RunOptions.DefaultPreemptAfter,
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() < 1)
                result.AddError("--preempt must be at least 1 instruction");
        });
        return option;
    }

    public Argument<string[]> Command { get; } = new("program")
    {
        Arity = ArgumentArity.OneOrMore,
        Description = "The program to run and its arguments; put them after -- so that their options are not Rewind's.",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Sandbox);
        command.Options.Add(Preempt);
        command.Options.Add(NoFollowChildren);
        command.Arguments.Add(Command);
    }

    /// <summary>Checks the engine and builds run options; returns null after printing a one-line error.</summary>
    public RunOptions? Options(ParseResult parse, out SandboxView? sandbox)
    {
        sandbox = null;
        if (!TraceCommandLine.LoadEngine())
            return null;

        var command = parse.GetValue(Command)!;
        if (parse.GetValue(Sandbox) && parse.GetValue(NoFollowChildren))
        {
            Diagnostics.Fail("--no-follow-children cannot be used with --sandbox: the programs children exec would run on the host, outside the sandbox");
            return null;
        }
        sandbox = parse.GetValue(Sandbox) ? new SandboxView() : null;
        return new RunOptions
        {
            Program = command[0],
            Arguments = command,
            Environment = GuestEnvironment(),
            WorkingDirectory = Environment.CurrentDirectory,
            FileSystem = sandbox ?? (FileSystemView)new HostView(),
            PreemptAfter = parse.GetValue(Preempt),
            FollowChildren = !parse.GetValue(NoFollowChildren),
            Warn = Diagnostics.Warn,
        };
    }

    /// <summary>
    /// The environment Rewind was started with, in its order, as the program would have received it natively
    /// (/proc/self/environ holds it as given; .NET's own view is a table without order). Only the variable that
    /// names the engine's library is left out.
    /// </summary>
    static string[] GuestEnvironment()
    {
        var engine = EngineLibrary.PathVariable + "=";
        return System.Text.Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/environ"))
            .Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Where(variable => variable.Contains('=', StringComparison.Ordinal) && !variable.StartsWith(engine, StringComparison.Ordinal))
            .ToArray();
    }

    /// <summary>
    /// Starts the program with <paramref name="start"/> and runs it to its end, with Ctrl-C and kill passed on to it;
    /// <paramref name="ran"/> hears how it ended and how long it took. Returns the shell's exit status, or a
    /// one-line error's when the program could not start or the engine failed.
    /// </summary>
    public static int RunToEnd(Func<GuestProcess> start, Action<ExitStatus, TimeSpan> ran)
    {
        try
        {
            var clock = Stopwatch.StartNew();
            using var process = start();
            ExitStatus exit;
            using (new TerminationSignals(process))
                exit = process.Run()!; // no one pauses a live run
            ran(exit, clock.Elapsed);
            return Report(exit);
        }
        catch (GuestStartException e)
        {
            return Diagnostics.Fail(e.Message, e.Status);
        }
        catch (EngineException e)
        {
            return Diagnostics.Fail(e.Message);
        }
    }

    /// <summary>
    /// Reports how the program ended and returns the shell's exit status. A program killed by a signal ends Rewind by
    /// that signal once everything is written (<see cref="EndedBy"/>, for Main): the shell then says what it says for it.
    /// Where a fault happened is Rewind's own to tell.
    /// </summary>
    public static int Report(ExitStatus exit)
    {
        if (exit.Signal is { } signal)
        {
            if (IsFault(signal, exit.SignalCode))
                Diagnostics.Warn($"program killed by {signal} at pc 0x{exit.FaultPc:x}" + (exit.FaultAddress != 0 || signal == Signal.SIGSEGV ? $" accessing 0x{exit.FaultAddress:x}" : ""));
            EndedBy = signal;
        }
        return exit.ShellStatus;
    }

    /// <summary>The signal that killed the program, which Rewind is to end by once the command is done.</summary>
    public static Signal? EndedBy { get; private set; }

    /// <summary>A signal an instruction raised (with a kernel si_code for it), not one sent by a process or a timer.</summary>
    static bool IsFault(Signal signal, int code) =>
        signal is Signal.SIGSEGV or Signal.SIGBUS or Signal.SIGILL or Signal.SIGFPE or Signal.SIGTRAP && code > 0;
}
