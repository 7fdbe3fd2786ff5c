using System.CommandLine;
using System.Diagnostics;
using Rewind.Engine;
using Rewind.Replay;
using Rewind.Trace;

namespace Rewind.Cli.Commands;

/// <summary>rewind replay: re-execute a trace from the trace alone.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file to replay." };
        var verify = new Option<bool>("--verify") { Description = "Check every keyframe (instruction count, registers, changed pages) and stop at the first divergence." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Do not reproduce the program's stdout and stderr." };
        var command = new Command("replay", "Replay a recorded run deterministically, without the original files, reproducing its output.")
        {
            trace, verify, quiet,
        };
        command.SetAction(parse =>
        {
            if (!TraceCommandLine.LoadEngine())
                return 1;
            var path = parse.GetValue(trace)!;
            var stdout = Console.OpenStandardOutput();
            var stderr = Console.OpenStandardError();
            Action<int, ReadOnlyMemory<byte>>? output = parse.GetValue(quiet) ? null : (fd, bytes) =>
            {
                var stream = fd == 1 ? stdout : stderr;
                stream.Write(bytes.Span);
                stream.Flush();
            };
            try
            {
                var clock = Stopwatch.StartNew();
                using var session = ReplaySession.Open(path, parse.GetValue(verify), output);
                var exit = session.Run()!; // runs to the end: no stop position
                if (exit.EndOfTrace is { } end)
                    return Diagnostics.Fail($"replay stopped early: {end}", 2);
                var checkedKeyframes = parse.GetValue(verify) ? $", {session.Kernel.KeyframesVerified} keyframes verified" : "";
                Diagnostics.Warn($"replayed {exit.Instructions:N0} instructions in {clock.Elapsed.TotalSeconds:F2} s{checkedKeyframes}, final state {session.Kernel.FinalStateHash:x32}");
                return GuestCommandLine.Report(exit);
            }
            catch (TraceFormatException e)
            {
                return Diagnostics.Fail(e.Message);
            }
            catch (DivergenceException e)
            {
                return Diagnostics.Fail(e.Message, 3);
            }
            catch (EngineException e)
            {
                return Diagnostics.Fail(e.Message);
            }
        });
        return command;
    }
}
