using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Rewind.Query.Introspection;
using Rewind.Query.Symbols;
using Rewind.Trace;
using Spectre.Console;

namespace Rewind.Cli.Commands;

/// <summary>rewind events: TTD's Events list of a trace (threads, modules, exceptions, exit), without replaying it.</summary>
internal static class EventsCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var format = ViewFormat.CreateOption();
        var command = new Command("events",
            "List the trace's events in execution order, as TTD's @$curprocess.TTD.Events does: ThreadCreated, ThreadTerminated, "
            + "ModuleLoaded, ModuleUnloaded, Exception (each signal delivered: name, number as code, si_code, program counter, whether a handler took it) and ProcessExit (pid and exit code, for the first process and each child that exits), "
            + "each at its position (SEQUENCE:STEPS in hex). Reads the trace's events only; no replay.")
        {
            trace, format,
        };
        command.SetAction(parse => ViewFormat.Run(parse.GetValue(trace)!, (model, reader) =>
        {
            var symbols = new SymbolTable(model, reader, SymbolTable.DefaultDebugDirectories);
            if (parse.GetValue(format) == ViewFormat.Jsonl)
            {
                ViewFormat.WriteJsonLines(model.Events, (json, e) => ModelJson.Write(json, e, symbols.Describe));
                return 0;
            }
            var table = new Table().AddColumn("Position").AddColumn("Type").AddColumn("Details");
            foreach (var e in model.Events)
                table.AddRow(e.Position.ToString(), e.Type.ToString(), Markup.Escape(Details(e, symbols)));
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }

    static string Details(TimelineEvent e, SymbolTable symbols) => e switch
    {
        { Module: { } module } => $"{module.Name} at {ModelJson.Hex(module.Address)} ({module.Path})",
        { Exception: { } exception } => $"{exception.Name} (code {exception.Code}, si_code {exception.SignalCode}) at pc {ModelJson.Hex(exception.ProgramCounter)}"
            + (symbols.Describe(exception.ProgramCounter, e.Position.Instruction) is { } symbol ? $" ({symbol})" : "")
            + (exception.Address != 0 ? $", address {ModelJson.Hex(exception.Address)}" : "") + (exception.Handled ? ", handled" : ""),
        { Thread: { } thread } => $"thread {thread.Id} (unique id {thread.UniqueId})",
        { Type: TimelineEventType.ProcessExit, ExitCode: { } code } => $"process {e.ProcessId}: exit code {code.ToString(CultureInfo.InvariantCulture)}",
        { Type: TimelineEventType.ProcessExit } => $"process {e.ProcessId}: ended by a signal",
        _ => "",
    };
}

/// <summary>What the views (events, threads, modules) share: the --format option, opening the trace, jsonl output.</summary>
internal static class ViewFormat
{
    public const string Table = "table";
    public const string Jsonl = "jsonl";

    public static Option<string> CreateOption()
    {
        var option = new Option<string>("--format")
        {
            Description = "Output format: 'table' (for people) or 'jsonl' (one JSON object per line; addresses as \"0x...\" strings, positions as \"SEQ:STEPS\").",
            DefaultValueFactory = _ => Table,
        };
        option.AcceptOnlyFromAmong(Table, Jsonl);
        return option;
    }

    /// <summary>Opens the trace, builds its model and runs <paramref name="show"/>; a bad trace is a one-line error.</summary>
    public static int Run(string path, Func<TraceModel, int> show) => Run(path, (model, _) => show(model));

    /// <summary>As <see cref="Run(string, Func{TraceModel, int})"/>, with the trace still open (for its stored files).</summary>
    public static int Run(string path, Func<TraceModel, TraceReader, int> show)
    {
        TraceModel model;
        TraceReader reader;
        try
        {
            reader = TraceReader.Open(path);
        }
        catch (TraceFormatException e)
        {
            return Diagnostics.Fail(e.Message);
        }
        using (reader)
        {
            try
            {
                TraceCommandLine.WarnIfIncomplete(reader);
                model = TraceModel.Build(reader);
            }
            catch (TraceFormatException e)
            {
                return Diagnostics.Fail(e.Message);
            }
            return show(model, reader);
        }
    }

    /// <summary>Writes each item as one JSON object on its own line to stdout.</summary>
    public static void WriteJsonLines<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> write)
    {
        using var stdout = new BufferedStream(Console.OpenStandardOutput(), 1 << 16);
        using var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        foreach (var item in items)
        {
            write(json, item);
            json.Flush();
            stdout.WriteByte((byte)'\n');
            json.Reset();
        }
    }
}
