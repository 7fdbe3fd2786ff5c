using System.CommandLine;
using System.Globalization;
using Rewind.Query;
using Rewind.Query.Dx;
using Rewind.Query.Heap;

namespace Rewind.Cli.Commands;

/// <summary>rewind heap: TTD.Data.Heap(), or the blocks live at a position or at the end with the stack that allocated each.</summary>
internal static class HeapCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var liveAt = new Option<string?>("--live-at") { Description = "List the blocks allocated and not yet freed at this position (SEQ:STEPS, an instruction count or a percentage), with their call stacks." };
        var leaks = new Option<bool>("--leaks") { Description = "List the blocks never freed (live at the end of the trace), with their call stacks." };
        var command = new Command("heap",
            "List every malloc, calloc, realloc, free, posix_memalign, aligned_alloc, operator new and delete of the run, as TTD's @$cursession.TTD.Data.Heap() does "
            + "(Action, Address, Size, PreviousAddress, TimeStart, TimeEnd, ThreadId), found from the calls of those functions; or, with --live-at or --leaks, "
            + "the blocks live there, each with the call stack that allocated it (unwound with the modules' .eh_frame, or frame pointers).")
        {
            trace, liveAt, leaks,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(leaks) && parse.GetValue(liveAt) is not null)
                return Diagnostics.Fail("give --live-at POSITION or --leaks, not both", 2);
            if (!TraceCommandLine.LoadEngine())
                return 1;
            return MemoryCommand.WithSession(parse.GetValue(trace)!, session =>
            {
                using var text = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false };
                var heap = session.Heap();
                if (parse.GetValue(liveAt) is { } at)
                    WriteLive(text, session, heap.LiveAt(session.Resolve(at)));
                else if (parse.GetValue(leaks))
                    WriteLive(text, session, heap.LiveAt());
                else
                    WriteEvents(text, heap);
                return 0;
            });
        });
        return command;
    }

    static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    static void WriteEvents(StreamWriter text, IEnumerable<HeapEvent> events)
    {
        string[] columns = ["", "Action", "Address", "Size", "PreviousAddress", "TimeStart", "TimeEnd", "ThreadId", "Function"];
        var grid = new DxGridWriter(columns, [7, 7, 14, 8, 15, 11, 11, 8, 24]);
        foreach (var line in grid.Header())
            text.WriteLine(line);
        var index = 0;
        foreach (var e in events)
        {
            text.WriteLine(grid.Row([DxFormatter.ItemName(index++), e.Action.ToString(), Hex(e.Address), Hex(e.Size),
                e.Action == HeapAction.ReAlloc ? Hex(e.PreviousAddress) : "", e.TimeStart.ToString(), e.TimeEnd.ToString(), Hex((ulong)e.ThreadId), e.Function]));
            text.Flush();
        }
        text.WriteLine(grid.Border);
    }

    /// <summary>Each live block, then its call stack one frame a line (module!symbol+0x.. where known).</summary>
    static void WriteLive(StreamWriter text, TraceSession session, IReadOnlyList<HeapEvent> live)
    {
        ulong total = 0;
        foreach (var e in live)
        {
            total += e.Size;
            text.WriteLine($"{Hex(e.Address)} {e.Size.ToString(CultureInfo.InvariantCulture)} bytes, {e.Function} at {e.TimeStart} (thread {e.ThreadId.ToString(CultureInfo.InvariantCulture)})");
            foreach (var frame in e.CallStack)
                text.WriteLine($"    {Hex(frame)} {session.Symbols.Describe(frame, e.TimeStart.Instruction) ?? ""}".TrimEnd());
        }
        text.WriteLine($"{live.Count.ToString(CultureInfo.InvariantCulture)} blocks, {total.ToString(CultureInfo.InvariantCulture)} bytes");
        text.Flush();
    }
}
