using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Rewind.Linux.Execution;
using Rewind.Replay;
using Rewind.Trace;
using Spectre.Console;

namespace Rewind.Cli.Commands;

/// <summary>rewind info: what a trace holds, without replaying it.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file to describe." };
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object (sizes in bytes) instead of a table." };
        var command = new Command("info", "Describe a trace: program, how it ended, instruction count, size, keyframes, unsupported syscalls and stored files.")
        {
            trace, json,
        };
        command.SetAction(parse =>
        {
            try
            {
                // info vouches for the whole file, stored contents included.
                using var reader = TraceReader.Open(parse.GetValue(trace)!, checkStoredContents: true);
                var summary = TraceSummary.Of(reader);
                if (parse.GetValue(json))
                    WriteJson(summary);
                else
                    Show(summary);
                return 0;
            }
            catch (TraceFormatException e)
            {
                return Diagnostics.Fail(e.Message);
            }
        });
        return command;
    }

    static void Show(TraceSummary s)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        void Row(string name, string value) => grid.AddRow(new Markup($"[bold]{name}[/]"), new Text(value));
        var h = s.Header;
        Row("Program", h.Program);
        Row("Arguments", string.Join(' ', h.Arguments.Select(Quote)));
        Row("Working folder", h.WorkingDirectory);
        Row("Recorded", $"{h.StartTime.ToLocalTime():yyyy-MM-dd HH:mm:ss zzz}" + (s.Duration is { } d ? $", {d.TotalSeconds:F2} s" : ""));
        Row("Engine", $"Unicorn {h.EngineVersion}, {h.CpuModel}" + (h.Sandboxed ? ", sandboxed" : ""));
        Row("Ended", Ending(s));
        Row("Instructions", s.Instructions.ToString("N0", CultureInfo.InvariantCulture));
        Row("Threads", string.Create(CultureInfo.InvariantCulture,
            $"{s.Threads}, {s.ThreadSwitches:N0} switches, preempted after {h.PreemptAfter:N0} instructions"));
        Row("Processes", string.Create(CultureInfo.InvariantCulture, $"{s.Processes} (the first: pid {h.ProcessId})"));
        Row("Syscalls", s.Syscalls.ToString("N0", CultureInfo.InvariantCulture));
        Row("Keyframes", $"{s.Keyframes} (every {h.KeyframeInterval:N0} instructions)");
        Row("Trace size", $"{s.FileSize / 1e6:F2} MB: {s.StoredContentBytes / 1e6:F2} MB stored contents, {(s.FileSize - s.StoredContentBytes) / 1e6:F2} MB events and keyframes");
        Row("Bytes per instruction", $"{s.BytesPerInstruction:F4} (without stored contents)");
        Row("Unsupported syscalls", s.UnsupportedSyscalls.Count == 0 ? "none" : string.Join(", ", s.UnsupportedSyscalls));
        if (s.Truncation is { } truncation)
            Row("Warning", $"the trace is incomplete: {truncation}");
        AnsiConsole.Write(grid);

        if (s.MappedFiles.Count + s.FilesRead.Count == 0)
            return;
        var files = new Table().AddColumn("Stored file").AddColumn("How").AddColumn(new TableColumn("Bytes").RightAligned());
        foreach (var (path, bytes) in s.MappedFiles)
            files.AddRow(Markup.Escape(path), "mapped", bytes.ToString("N0", CultureInfo.InvariantCulture));
        foreach (var file in s.FilesRead)
            files.AddRow(Markup.Escape(file.Path), "read", file.Bytes.ToString("N0", CultureInfo.InvariantCulture));
        AnsiConsole.Write(files);
    }

    static void WriteJson(TraceSummary s)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("program", s.Header.Program);
            json.WriteString("ended", Ending(s));
            json.WriteNumber("instructions", s.Instructions);
            json.WriteNumber("syscalls", s.Syscalls);
            json.WriteNumber("threads", s.Threads);
            json.WriteNumber("processes", s.Processes);
            json.WriteNumber("keyframes", s.Keyframes);
            json.WriteNumber("fileBytes", s.FileSize);
            json.WriteNumber("storedContentBytes", s.StoredContentBytes);
            json.WriteNumber("bytesPerInstruction", s.Instructions == 0 ? 0 : (double)s.FileSize / s.Instructions);
            json.WriteNumber("bytesPerInstructionWithoutContents", s.BytesPerInstruction);
            json.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }

    static string Ending(TraceSummary s) => s.Ending switch
    {
        { ExitCode: { } code } => $"exit status {code}",
        { Signal: { } signal } e => $"{signal} ({SignalText.Describe(signal)}) at pc 0x{e.FaultPc:x}" + (e.FaultAddress != 0 || signal is Signal.SIGSEGV or Signal.SIGBUS ? $", address 0x{e.FaultAddress:x}" : ""),
        _ => "not recorded (the trace was cut short)",
    };

    static string Quote(string argument) => argument.Length > 0 && argument.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? argument : $"'{argument.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
