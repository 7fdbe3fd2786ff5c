using System.CommandLine;
using System.Globalization;
using Rewind.Query.Introspection;
using Spectre.Console;

namespace Rewind.Cli.Commands;

/// <summary>rewind threads: the trace's threads, as TTD's @$curprocess.TTD.Threads lists them.</summary>
internal static class ThreadsCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var format = ViewFormat.CreateOption();
        var command = new Command("threads",
            "List the trace's threads, of every process, as TTD's @$curprocess.TTD.Threads does: UniqueId (1, 2, ... in creation order, never reused), "
            + "Id (the guest's tid), Process (its pid), Lifetime (first and last positions) and ActiveTime (the positions where it ran). "
            + "Reads the trace's events only; no replay.")
        {
            trace, format,
        };
        command.SetAction(parse => ViewFormat.Run(parse.GetValue(trace)!, model =>
        {
            if (parse.GetValue(format) == ViewFormat.Jsonl)
            {
                ViewFormat.WriteJsonLines(model.Threads, ModelJson.Write);
                return 0;
            }
            var table = new Table().AddColumn("UniqueId").AddColumn("Id").AddColumn("Process").AddColumn("Lifetime").AddColumn("ActiveTime");
            foreach (var thread in model.Threads)
            {
                table.AddRow(thread.UniqueId.ToString(CultureInfo.InvariantCulture), thread.Id.ToString(CultureInfo.InvariantCulture),
                    thread.ProcessId.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(thread.Lifetime.ToString()), Markup.Escape(thread.ActiveTime.ToString()));
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}
