using System.CommandLine;
using System.Globalization;

namespace Rewind.Cli.Commands;

/// <summary>rewind index: build a trace's index ahead of the first query.</summary>
internal static class IndexCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var rebuild = new Option<bool>("--rebuild") { Description = "Build the index even when a current one exists." };
        var command = new Command("index",
            "Build the index that memory queries use (TRACE.rwdx beside the trace, or in the cache folder when the trace's folder is read-only), "
            + "by replaying the trace's segments in parallel. Queries build it on first use; this verb does it ahead of time. "
            + "Prints the index file, its size and the trace's instruction and segment counts.")
        {
            trace, rebuild,
        };
        command.SetAction(parse =>
        {
            if (!TraceCommandLine.LoadEngine())
                return 1;
            return MemoryCommand.WithSession(parse.GetValue(trace)!, session =>
            {
                var index = session.Index;
                if (!index.Built)
                    Diagnostics.Warn("the index is current: nothing to do (--rebuild builds it again)");
                var size = index.FilePath is { } file ? new FileInfo(file).Length : 0;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{index.FilePath ?? "(not saved)"}: {size:N0} bytes, {index.Instructions:N0} instructions in {index.Segments.Count} segments"));
                return 0;
            }, parse.GetValue(rebuild));
        });
        return command;
    }
}
