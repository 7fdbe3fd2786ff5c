using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Rewind.Engine;
using Rewind.Index;
using Rewind.Query;
using Rewind.Query.Dx;
using Rewind.Query.Symbols;
using Rewind.Replay;
using Rewind.Trace;
using Spectre.Console;

namespace Rewind.Cli.Commands;

/// <summary>rewind memory: TTD.Memory(begin, end, mask) on a trace, as a grid, JSON, JSON lines or CSV.</summary>
internal static class MemoryCommand
{
    const string Table = "table", Json = "json", Jsonl = "jsonl", Csv = "csv";

    static readonly string[] Fields =
        ["EventType", "ThreadId", "UniqueThreadId", "TimeStart", "TimeEnd", "AccessType", "IP", "Address", "Size", "Value", "InstrCount", "OverwrittenValue"];

    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var begin = new Argument<string>("begin") { Description = "First address of the range: hex (0x404028), decimal or a symbol (prog!counter, libc.so.6!environ+8)." };
        var end = new Argument<string>("end") { Description = "End of the range, excluded: hex, decimal or a symbol with an offset (prog!counter+8), above BEGIN." };
        var mask = new Argument<string>("mask")
        {
            Description = "Which accesses: any of r (read), w (write), e (execute: instructions run from the range), c (change: writes that change the bytes).",
            DefaultValueFactory = _ => "rw",
        };
        var format = new Option<string>("--format")
        {
            Description = "Output: 'table' (a grid like dx -g), 'json' (an array), 'jsonl' (an object per line) or 'csv'.",
            DefaultValueFactory = _ => Table,
        };
        format.AcceptOnlyFromAmong(Table, Json, Jsonl, Csv);
        var limit = new Option<long?>("--limit") { Description = "Stop after this many accesses." };
        var command = new Command("memory",
            "List every access to the memory range [BEGIN, END) in execution order, as TTD's @$cursession.TTD.Memory(BEGIN, END, MASK) does: "
            + "position (SEQUENCE:STEPS), access type, instruction address, address, size and value. The first query on a trace builds its index "
            + "(TRACE.rwdx beside it); queries then replay only the parts of the trace that touched the range.")
        {
            trace, begin, end, mask, format, limit,
        };
        command.SetAction(parse =>
        {
            var (beginText, endText) = (parse.GetValue(begin)!, parse.GetValue(end)!);
            if (!TryParseAddressOrSymbol(beginText, "begin") || !TryParseAddressOrSymbol(endText, "end"))
                return 2;
            if (SymbolTable.TryParseNumber(beginText.Trim(), out var from) && SymbolTable.TryParseNumber(endText.Trim(), out var to) && from >= to)
                return Diagnostics.Fail($"the range is empty: begin 0x{from:x} must be below end 0x{to:x} (end is excluded)", 2);
            MemoryMask accessMask;
            try
            {
                accessMask = MemoryMasks.Parse(parse.GetValue(mask)!);
            }
            catch (FormatException e)
            {
                return Diagnostics.Fail(e.Message, 2);
            }
            if (parse.GetValue(limit) is < 0)
                return Diagnostics.Fail("--limit must be 0 or more", 2);
            if (!TraceCommandLine.LoadEngine())
                return 1;
            return Run(parse.GetValue(trace)!, beginText, endText, accessMask, parse.GetValue(format)!, parse.GetValue(limit) ?? long.MaxValue);
        });
        return command;
    }

    static int Run(string path, string beginText, string endText, MemoryMask mask, string format, long limit)
    {
        return WithSession(path, session =>
        {
            var (begin, end) = (session.Symbols.ResolveAddress(beginText), session.Symbols.ResolveAddress(endText));
            var query = session.Memory(begin, end, mask);
            var results = query.Take(limit);
            using var stdout = Console.OpenStandardOutput();
            switch (format)
            {
                case Json:
                case Jsonl:
                    WriteJson(stdout, results, lines: format == Jsonl);
                    break;
                case Csv:
                    WriteCsv(stdout, results);
                    break;
                default:
                    WriteTable(stdout, results);
                    break;
            }
            return 0;
        });
    }

    static IEnumerable<MemoryAccess> Take(this IEnumerable<MemoryAccess> results, long limit)
    {
        if (limit <= 0)
            yield break;
        long count = 0;
        foreach (var access in results)
        {
            yield return access;
            if (++count >= limit)
                yield break;
        }
    }

    static void WriteTable(Stream stdout, IEnumerable<MemoryAccess> results)
    {
        using var text = new StreamWriter(stdout) { AutoFlush = false };
        string[] columns = ["", "EventType", "ThreadId", "UniqueThreadId", "TimeStart", "TimeEnd", "AccessType", "IP", "Address", "Size", "Value"];
        int[] widths = [7, 12, 8, 14, 11, 11, 10, 18, 18, 4, 18];
        var grid = new DxGridWriter(columns, widths);
        foreach (var line in grid.Header())
            text.WriteLine(line);
        var index = 0;
        foreach (var a in results)
        {
            text.WriteLine(grid.Row([DxFormatter.ItemName(index++), a.EventType, Hex(a.ThreadId), Hex(a.UniqueThreadId), a.TimeStart.ToString(), a.TimeEnd.ToString(),
                a.AccessType.ToString(), Hex(a.IP), Hex(a.Address), Hex(a.Size), MemoryAccess.Hex(a.Value)]));
            text.Flush();
        }
        text.WriteLine(grid.Border);
    }

    static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    static string Hex(int value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    static void WriteJson(Stream stdout, IEnumerable<MemoryAccess> results, bool lines)
    {
        var options = new JsonWriterOptions { Indented = !lines, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using var writer = new Utf8JsonWriter(stdout, options);
        if (!lines)
            writer.WriteStartArray();
        foreach (var a in results)
        {
            writer.WriteStartObject();
            writer.WriteString("EventType", a.EventType);
            writer.WriteNumber("ThreadId", a.ThreadId);
            writer.WriteNumber("UniqueThreadId", a.UniqueThreadId);
            writer.WriteString("TimeStart", a.TimeStart.ToString());
            writer.WriteString("TimeEnd", a.TimeEnd.ToString());
            writer.WriteString("AccessType", a.AccessType.ToString());
            writer.WriteString("IP", Hex(a.IP));
            writer.WriteString("Address", Hex(a.Address));
            writer.WriteNumber("Size", a.Size);
            writer.WriteString("Value", MemoryAccess.Hex(a.Value));
            writer.WriteNumber("InstrCount", a.InstrCount);
            if (a.OverwrittenValue is { } overwritten)
                writer.WriteString("OverwrittenValue", MemoryAccess.Hex(overwritten));
            writer.WriteEndObject();
            if (lines)
            {
                writer.Flush();
                stdout.WriteByte((byte)'\n');
                writer.Reset();
            }
            else
            {
                writer.Flush();
            }
            stdout.Flush();
        }
        if (!lines)
        {
            writer.WriteEndArray();
            writer.Flush();
            stdout.WriteByte((byte)'\n');
        }
    }

    static void WriteCsv(Stream stdout, IEnumerable<MemoryAccess> results)
    {
        using var text = new StreamWriter(stdout);
        text.WriteLine(string.Join(',', Fields));
        foreach (var a in results)
        {
            text.WriteLine(string.Join(',', a.EventType, a.ThreadId.ToString(CultureInfo.InvariantCulture), a.UniqueThreadId.ToString(CultureInfo.InvariantCulture),
                a.TimeStart, a.TimeEnd, a.AccessType, Hex(a.IP), Hex(a.Address), a.Size.ToString(CultureInfo.InvariantCulture), MemoryAccess.Hex(a.Value),
                a.InstrCount.ToString(CultureInfo.InvariantCulture), a.OverwrittenValue is { } overwritten ? MemoryAccess.Hex(overwritten) : ""));
            text.Flush();
        }
    }

    /// <summary>
    /// An address the user typed: a number (checked here, before the trace is opened) or a symbol
    /// (module!name, name, with +offset: resolved against the trace's modules once it is open).
    /// </summary>
    internal static bool TryParseAddressOrSymbol(string text, string what) =>
        text.Trim() is [(>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' or '*', ..] || text.Contains('!', StringComparison.Ordinal) || TryParseAddress(text, what, out _);

    /// <summary>An address the user typed: 0x hex or decimal; anything else is a one-line error.</summary>
    internal static bool TryParseAddress(string text, string what, out ulong value)
    {
        var digits = text.Trim().Replace("`", "", StringComparison.Ordinal);
        value = 0;
        var ok = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? digits.Length > 2 && ulong.TryParse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok)
        {
            value = 0;
            Diagnostics.Fail($"'{text}' is not a valid {what} address: use hex (0x404028) or decimal, from 0 to 0xffffffffffffffff", 2);
        }
        return ok;
    }

    /// <summary>
    /// Opens a trace with its index (building it with a progress bar on stderr when needed) and
    /// runs <paramref name="work"/>; trace, engine, replay and query errors become one-line messages.
    /// </summary>
    internal static int WithSession(string path, Func<TraceSession, int> work, bool rebuildIndex = false) => TraceCommandLine.Replaying(() =>
    {
        try
        {
            using var session = Open(path, rebuildIndex);
            TraceCommandLine.WarnIfIncomplete(session.Trace);
            return work(session);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            return Diagnostics.Fail(e.Message, 2);
        }
        catch (IOException e)
        {
            return Diagnostics.Fail(e.Message);
        }
    });

    static TraceSession Open(string path, bool rebuildIndex)
    {
        if (!File.Exists(path))
            throw new TraceFormatException($"{path}: no such file");
        var clock = Stopwatch.StartNew();
        TraceSession? session = null;
        var interactive = !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (interactive && (rebuildIndex || TraceIndex.TryLoad(TraceIndex.PathFor(Path.GetFullPath(path)), TraceIdentity.Of(path)) is null))
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            console.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask($"indexing {Markup.Escape(Path.GetFileName(path))}");
                    session = TraceSession.Open(path, new InlineProgress(p =>
                    {
                        task.MaxValue = Math.Max(1, p.Instructions);
                        task.Value = p.InstructionsDone;
                    }), rebuildIndex: rebuildIndex);
                    task.Value = task.MaxValue;
                });
        }
        else
        {
            session = TraceSession.Open(path, rebuildIndex: rebuildIndex);
        }
        if (session!.Index.Built)
        {
            var seconds = clock.Elapsed.TotalSeconds;
            var where = session.Index.FilePath is { } file ? $"saved to {file}" : "not saved: the trace's folder and the cache folder are not writable";
            Diagnostics.Warn(string.Create(CultureInfo.InvariantCulture,
                $"indexed {session.Index.Instructions:N0} instructions in {seconds:F1} s ({session.Index.Instructions / Math.Max(seconds, 1e-3) / 1e6:0.#} M/s), {where}"));
        }
        return session;
    }

    /// <summary>Reports progress on the thread that reports it (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class InlineProgress(Action<IndexProgress> report) : IProgress<IndexProgress>
    {
        public void Report(IndexProgress value) => report(value);
    }
}
