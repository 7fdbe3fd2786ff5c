using System.CommandLine;
using Rewind.Linux.Execution;

namespace Rewind.Cli.Commands;

/// <summary>rewind run: execute a program under emulation without recording it.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var guest = new GuestCommandLine();
        var stats = new Option<bool>("--stats") { Description = "After the program ends, print its instruction count and emulation speed on stderr." };
        var command = new Command("run", "Run a Linux x86-64 program under emulation, with its input and output connected, and exit with its status.");
        guest.AddTo(command);
        command.Options.Add(stats);
        command.SetAction(parse =>
        {
            var options = guest.Options(parse, out var sandbox);
            if (options is null)
                return 1;
            using var _ = sandbox;
            return GuestCommandLine.RunToEnd(() => GuestProcess.Start(options), (exit, elapsed) =>
            {
                if (parse.GetValue(stats))
                    Diagnostics.Warn($"{exit.Instructions:N0} instructions in {elapsed.TotalSeconds:F3} s ({exit.Instructions / Math.Max(elapsed.TotalSeconds, 1e-9) / 1e6:F0} M/s)");
            });
        });
        return command;
    }
}
