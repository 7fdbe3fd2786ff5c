using System.CommandLine;
using System.Diagnostics;
using Rewind.Engine;
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
            try
            {
                var clock = Stopwatch.StartNew();
                using var process = GuestProcess.Start(options);
                ExitStatus exit;
                using (new TerminationSignals(process))
                    exit = process.Run()!; // no one pauses a live run
                if (parse.GetValue(stats))
                    Diagnostics.Warn($"{exit.Instructions:N0} instructions in {clock.Elapsed.TotalSeconds:F3} s ({exit.Instructions / Math.Max(clock.Elapsed.TotalSeconds, 1e-9) / 1e6:F0} M/s)");
                return GuestCommandLine.Report(exit);
            }
            catch (GuestStartException e)
            {
                return Diagnostics.Fail(e.Message, e.Status);
            }
            catch (EngineException e)
            {
                return Diagnostics.Fail(e.Message);
            }
        });
        return command;
    }
}
