using System.CommandLine;
using System.Diagnostics;
using Rewind.Engine;
using Rewind.Query.Plugins;
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
        var panda = new Option<string[]>("--panda")
        {
            Description = "Run a replay plugin, named as PANDA's -panda option does: PLUGIN or PLUGIN:KEY=VALUE,KEY=VALUE, e.g. "
                + "memorymap:pcs=0x401000-0x401a2f,instr_counts=0-100. May be given more than once. Plugins print their results "
                + "on stdout, so the program's own output is not reproduced (as with --quiet). Plugins: "
                + string.Join("; ", PandaPlugins.All.Select(p => $"{p.Name} ({string.Join(", ", p.Arguments)}): {p.Summary}")),
            Arity = ArgumentArity.ZeroOrMore,
        };
        var countAccesses = new Option<bool>("--count-accesses")
        {
            Description = "Count every data read and write, with the instruction that made it, and print the counts on stderr: "
                + "the replay runs with memory hooks, as analyses that watch every access do.",
        };
        var command = new Command("replay", "Replay a recorded run deterministically, without the original files, reproducing its output.")
        {
            trace, verify, quiet, panda, countAccesses,
        };
        command.SetAction(parse =>
        {
            if (!TraceCommandLine.LoadEngine())
                return 1;
            var path = parse.GetValue(trace)!;
            var stdout = Console.OpenStandardOutput();
            var stderr = Console.OpenStandardError();
            var plugins = parse.GetValue(panda) ?? [];
            Action<int, ReadOnlyMemory<byte>>? output = parse.GetValue(quiet) || plugins.Length > 0 ? null : (fd, bytes) =>
            {
                var stream = fd == 1 ? stdout : stderr;
                stream.Write(bytes.Span);
                stream.Flush();
            };
            return TraceCommandLine.Replaying(() =>
            {
                var clock = Stopwatch.StartNew();
                using var session = ReplaySession.Open(path, parse.GetValue(verify), output);
                IReadOnlyList<IReplayPlugin> attached;
                try
                {
                    attached = PandaPlugins.CreateAll(plugins, new PluginContext(session.Trace, stdout, Diagnostics.Warn));
                }
                catch (PluginArgumentException e)
                {
                    return Diagnostics.Fail(e.Message);
                }
                foreach (var plugin in attached)
                    plugin.Attach(session);
                long reads = 0, writes = 0;
                if (parse.GetValue(countAccesses))
                {
                    session.MemoryRead = (_, _, _, _, _) => reads++;
                    session.MemoryWrite = (_, _, _, _, _) => writes++;
                }
                var exit = session.Run(); // runs to the end (no stop position), unless a plugin stops it
                try
                {
                    foreach (var plugin in attached)
                        plugin.Finish(exit);
                }
                catch (IOException e)
                {
                    return Diagnostics.Fail($"cannot write the plugin output: {e.Message}");
                }
                if (exit is null)
                    return Diagnostics.Fail("a plugin stopped the replay", 2);
                if (exit.EndOfTrace is { } end)
                    return Diagnostics.Fail($"replay stopped early: {end}", 2);
                var checkedKeyframes = parse.GetValue(verify) ? $", {session.Kernel.KeyframesVerified} keyframes verified" : "";
                if (parse.GetValue(countAccesses))
                    Diagnostics.Warn($"{reads:N0} reads and {writes:N0} writes");
                Diagnostics.Warn($"replayed {exit.Instructions:N0} instructions in {clock.Elapsed.TotalSeconds:F2} s{checkedKeyframes}, final state {session.Kernel.FinalStateHash:x32}");
                return GuestCommandLine.Report(exit);
            });
        });
        return command;
    }
}
