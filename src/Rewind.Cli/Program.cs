using System.CommandLine;
using Rewind.Cli.Commands;
using System.CommandLine.Invocation;

namespace Rewind.Cli;

public static class Program
{
    /// <summary>
    /// No response files: arguments starting with '@' are the guest's own (record -- prog @x) or
    /// dx expressions (@$cursession...), never files of more arguments.
    /// </summary>
    static readonly ParserConfiguration Configuration = new() { ResponseFileTokenReplacer = null };

    public static int Main(string[] args)
    {
        // Tables sent to a file or a pipe keep their rows whole instead of wrapping at 80 columns.
        if (Console.IsOutputRedirected)
            Spectre.Console.AnsiConsole.Profile.Width = 400;
        var root = new RootCommand("Rewind: record Linux x86-64 programs once, then ask the run anything.")
        {
            RunCommand.Create(),
            RecordCommand.Create(),
            ReplayCommand.Create(),
            InfoCommand.Create(),
            SyscallsCommand.Create(),
            EventsCommand.Create(),
            ThreadsCommand.Create(),
            ModulesCommand.Create(),
            MemoryMapCommand.Create(),
            IndexCommand.Create(),
            MemoryCommand.Create(),
            CallsCommand.Create(),
            HeapCommand.Create(),
            MemCommand.Create(),
            DxCommand.Create(),
            ExportCommand.Create(),
            SqlCommand.Create(),
            GdbserverCommand.Create(),
            DebugCommand.Create(),
        };
        try
        {
            var status = root.Parse(args, Configuration).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            if (GuestCommandLine.EndedBy is { } signal)
            {
                Console.Out.Flush();
                Console.Error.Flush();
                Rewind.Linux.Host.HostEnding.DieOf(signal);
            }
            return status;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("REWIND_DEBUG") is null)
        {
            // A bug in Rewind, not in the user's input: one line, and the way to get more.
            return Diagnostics.Fail($"internal error: {e.GetType().Name}: {e.Message} (set REWIND_DEBUG=1 for details)", 70);
        }
    }
}
