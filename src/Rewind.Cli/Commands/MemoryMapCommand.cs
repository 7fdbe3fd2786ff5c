using System.CommandLine;
using Rewind.Engine;
using Rewind.Query.Introspection;
using Rewind.Query.MemoryMap;
using Rewind.Replay;
using Rewind.Trace;

namespace Rewind.Cli.Commands;

/// <summary>rewind memorymap: PANDA's memorymap plugin on a trace.</summary>
internal static class MemoryMapCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file to replay." };
        var pcs = new Option<string?>("--pcs")
        {
            Description = "Report every execution of these addresses: a dash-delimited list read as C strtoul does with base 0 "
                + "(0x or 0X: hex, a leading 0: octal, otherwise decimal), e.g. 0x401000-0x401a2f. Only these addresses are instrumented.",
        };
        var counts = new Option<string?>("--instr-counts")
        {
            Description = "Report the instructions with these 0-based instruction counts: a dash-delimited list of decimal numbers, e.g. 0-100-5000.",
        };
        var output = new Option<string?>("--output", "-o") { Description = "Write the lines to this file instead of stdout." };
        var command = new Command("memorymap",
            "Replay a trace and print PANDA memorymap lines, byte for byte as PANDA does: "
            + "'pc=0x<hex> instr_count=<n> process=<comm> pid=<n> tid=<n> in_kernel=false image_name=<file> image_path=<path> image_base=0x<hex>', "
            + "with (unknown) for the image when the pc is in no file-backed module. image_base is the module's load base (dladdr's dli_fbase); "
            + "process is the task name at that instruction (prctl(PR_SET_NAME) changes it). With --pcs and --instr-counts together, "
            + "an instruction that matches both is printed once; with neither, every instruction is printed (a warning says so). "
            + "An instruction that faulted and ended the program never completed and is not printed ('rewind events' shows its pc). Same as: rewind replay TRACE --panda memorymap:pcs=...,instr_counts=...")
        {
            trace, pcs, counts, output,
        };
        command.SetAction(parse =>
        {
            MemoryMapArguments arguments;
            try
            {
                arguments = MemoryMapArguments.Parse(parse.GetValue(pcs), parse.GetValue(counts));
            }
            catch (FormatException e)
            {
                return Diagnostics.Fail($"memorymap: {e.Message}");
            }
            if (!TraceCommandLine.LoadEngine())
                return 1;
            var file = parse.GetValue(output);
            return TraceCommandLine.Replaying(() =>
            {
                using var session = Open(parse.GetValue(trace)!, out var model);
                if (arguments.ReportsEverything)
                    Diagnostics.Warn(MemoryMapPlugin.AllInstructionsWarning);
                Stream stream;
                try
                {
                    stream = file is null ? Console.OpenStandardOutput() : new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.Read, 1);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return Diagnostics.Fail($"cannot create {file}: {e.Message}");
                }
                using (stream)
                {
                    using var plugin = new MemoryMapPlugin(model, arguments, stream);
                    plugin.Attach(session);
                    var exit = session.Run();
                    try
                    {
                        plugin.Finish(exit);
                    }
                    catch (IOException e)
                    {
                        return Diagnostics.Fail($"cannot write {file ?? "the output"}: {e.Message}");
                    }
                    if (exit?.EndOfTrace is { } end)
                        Diagnostics.Warn($"replay stopped early: {end}");
                }
                return 0;
            });
        });
        return command;
    }

    /// <summary>Opens the trace for replay and builds its model (one pass over its events).</summary>
    static ReplaySession Open(string path, out TraceModel model)
    {
        var reader = TraceReader.Open(path);
        try
        {
            model = TraceModel.Build(reader);
            return ReplaySession.Open(reader);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }
}
