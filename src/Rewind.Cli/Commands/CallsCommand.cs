using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Rewind.Query.Calls;
using Rewind.Query.Dx;

namespace Rewind.Cli.Commands;

/// <summary>rewind calls: TTD.Calls, every call of the named functions, as a grid, jsonl or csv.</summary>
internal static class CallsCommand
{
    const string Grid = "grid", Jsonl = "jsonl", Csv = "csv";

    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var functions = new Argument<string[]>("function")
        {
            Description = "Functions as module!name (calls!add3, libc.so.6!malloc, libc!free); * and ? are wildcards, the module may be left out.",
            Arity = ArgumentArity.OneOrMore,
        };
        var format = new Option<string>("--format") { Description = "Output: 'grid' (like dx -g), 'jsonl' (an object per line) or 'csv'.", DefaultValueFactory = _ => Grid };
        format.AcceptOnlyFromAmong(Grid, Jsonl, Csv);
        var limit = new Option<long?>("--limit") { Description = "Stop after this many calls." };
        var command = new Command("calls",
            "List every call of the functions, in the order they were made, as TTD's @$cursession.TTD.Calls(...) does: thread, TimeStart (the call), "
            + "TimeEnd (the return, or where the frame was left), function, return address, return value (rax) and parameters (rdi, rsi, rdx, rcx, r8, r9, "
            + "then the stack; as many as DWARF declares, else 4). Found from the index: executions of each function and of its return addresses.")
        {
            trace, functions, format, limit,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(limit) is < 0)
                return Diagnostics.Fail("--limit must be 0 or more", 2);
            if (!TraceCommandLine.LoadEngine())
                return 1;
            return MemoryCommand.WithSession(parse.GetValue(trace)!, session =>
            {
                var calls = session.Calls(parse.GetValue(functions)!).Take((int)Math.Min(int.MaxValue, parse.GetValue(limit) ?? int.MaxValue));
                using var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false };
                switch (parse.GetValue(format))
                {
                    case Jsonl:
                        WriteJsonLines(stdout, calls);
                        break;
                    case Csv:
                        stdout.WriteLine("TimeStart,TimeEnd,ThreadId,UniqueThreadId,Function,FunctionAddress,ReturnAddress,ReturnValue,Parameters,End");
                        foreach (var c in calls)
                        {
                            stdout.WriteLine(string.Join(',', c.TimeStart, c.TimeEnd, c.ThreadId, c.UniqueThreadId, c.Function, Hex(c.FunctionAddress), Hex(c.ReturnAddress),
                                c.ReturnValue is { } value ? Hex(value) : "", string.Join(' ', c.Parameters.Select(Hex)), c.End));
                            stdout.Flush();
                        }
                        break;
                    default:
                        WriteGrid(stdout, calls);
                        break;
                }
                return 0;
            });
        });
        return command;
    }

    static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>The parameters as dx shows them: name = value when DWARF names them.</summary>
    static string Parameters(FunctionCall call) => string.Join(", ", call.Parameters.Select((p, i) =>
        call.Signature is { } signature && i < signature.Parameters.Count ? $"{signature.Parameters[i].Name}={Hex(p)}" : Hex(p)));

    static void WriteGrid(StreamWriter text, IEnumerable<FunctionCall> calls)
    {
        string[] columns = ["", "ThreadId", "UniqueThreadId", "TimeStart", "TimeEnd", "Function", "ReturnAddress", "ReturnValue", "Parameters"];
        int[] widths = [7, 8, 14, 11, 11, 24, 18, 18, 40];
        var grid = new DxGridWriter(columns, widths);
        foreach (var line in grid.Header())
            text.WriteLine(line);
        var index = 0;
        foreach (var c in calls)
        {
            var value = c.ReturnValue is { } returned ? Hex(returned) : c.End == CallEnd.Unwound ? "(unwound)" : "(no return)";
            text.WriteLine(grid.Row([DxFormatter.ItemName(index++), Hex((ulong)c.ThreadId), Hex((ulong)c.UniqueThreadId), c.TimeStart.ToString(), c.TimeEnd.ToString(),
                c.Function, Hex(c.ReturnAddress), value, Parameters(c)]));
            text.Flush();
        }
        text.WriteLine(grid.Border);
    }

    static void WriteJsonLines(StreamWriter text, IEnumerable<FunctionCall> calls)
    {
        var options = new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var c in calls)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, options))
            {
                json.WriteStartObject();
                json.WriteString("EventType", c.EventType);
                json.WriteNumber("ThreadId", c.ThreadId);
                json.WriteNumber("UniqueThreadId", c.UniqueThreadId);
                json.WriteString("TimeStart", c.TimeStart.ToString());
                json.WriteString("TimeEnd", c.TimeEnd.ToString());
                json.WriteString("Function", c.Function);
                json.WriteString("FunctionAddress", Hex(c.FunctionAddress));
                json.WriteString("ReturnAddress", Hex(c.ReturnAddress));
                if (c.ReturnValue is { } value)
                    json.WriteString("ReturnValue", Hex(value));
                else
                    json.WriteNull("ReturnValue");
                json.WriteStartArray("Parameters");
                foreach (var p in c.Parameters)
                    json.WriteStringValue(Hex(p));
                json.WriteEndArray();
                if (c.Signature is { } signature)
                {
                    json.WriteStartArray("ParameterNames");
                    foreach (var p in signature.Parameters)
                        json.WriteStringValue(p.Name);
                    json.WriteEndArray();
                }
                json.WriteString("End", c.End.ToString());
                json.WriteEndObject();
            }
            text.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            text.Flush();
        }
    }
}
