using System.CommandLine;
using Rewind.Cli.Commands;
using System.CommandLine.Invocation;

namespace Rewind.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Rewind: record Linux x86-64 programs once, then ask the run anything.")
        {
            RunCommand.Create(),
            RecordCommand.Create(),
            ReplayCommand.Create(),
            InfoCommand.Create(),
            SyscallsCommand.Create(),
        };
        try
        {
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("REWIND_DEBUG") is null)
        {
            // A bug in Rewind, not in the user's input: one line, and the way to get more.
            return Diagnostics.Fail($"internal error: {e.GetType().Name}: {e.Message} (set REWIND_DEBUG=1 for details)", 70);
        }
    }
}
