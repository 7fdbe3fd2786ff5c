using System.CommandLine;
using Rewind.Cli.Commands;

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
            SyscallsCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
