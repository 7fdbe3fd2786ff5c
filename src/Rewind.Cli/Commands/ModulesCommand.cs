using System.CommandLine;
using Rewind.Query.Introspection;
using Rewind.Trace.Positions;
using Spectre.Console;

namespace Rewind.Cli.Commands;

/// <summary>rewind modules: the images the program loaded, as TTD's @$curprocess.Modules lists them.</summary>
internal static class ModulesCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var at = new Option<string?>("--at")
        {
            Description = "List only the modules loaded at this position: SEQUENCE:STEPS in hex (5D:113), a percentage (50%) or an instruction count. "
                + "A module counts as loaded from its load event (included) to its unload event (excluded).",
        };
        var format = ViewFormat.CreateOption();
        var command = new Command("modules",
            "List the images the program mapped (executable, interpreter, shared libraries), as TTD's @$curprocess.Modules does: "
            + "Name (file name), Path (as the program opened it), Address (load base, what dladdr reports as dli_fbase), Size, "
            + "and the positions where it was loaded and unloaded. A module is the file-backed mappings of one file of which "
            + "at least one was executable. Reads the trace's events only; no replay.")
        {
            trace, at, format,
        };
        command.SetAction(parse => ViewFormat.Run(parse.GetValue(trace)!, model =>
        {
            IEnumerable<ModuleInfo> modules = model.Modules;
            if (parse.GetValue(at) is { } text)
            {
                Position position;
                try
                {
                    position = model.Timeline.Resolve(PositionText.Parse(text));
                }
                catch (FormatException e)
                {
                    return Diagnostics.Fail(e.Message);
                }
                catch (ArgumentOutOfRangeException e)
                {
                    return Diagnostics.Fail(e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal));
                }
                modules = model.ModulesAt(position);
            }
            if (parse.GetValue(format) == ViewFormat.Jsonl)
            {
                ViewFormat.WriteJsonLines(modules, ModelJson.Write);
                return 0;
            }
            var table = new Table().AddColumn("Name").AddColumn("Path").AddColumn(new TableColumn("Address").RightAligned())
                .AddColumn(new TableColumn("Size").RightAligned()).AddColumn("Loaded").AddColumn("Unloaded");
            foreach (var module in modules)
            {
                table.AddRow(Markup.Escape(module.Name), Markup.Escape(module.Path), ModelJson.Hex(module.Address), ModelJson.Hex(module.Size),
                    module.Loaded.ToString(), module.Unloaded?.ToString() ?? "-");
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}
