using System.CommandLine;
using System.Globalization;
using Rewind.Query;
using Rewind.Query.Dx;

namespace Rewind.Cli.Commands;

/// <summary>
/// rewind dx: WinDbg's dx over a trace's TTD objects, for one expression or at an interactive
/// prompt with history (arrow keys on a terminal; kept in $XDG_STATE_HOME/rewind/dx_history).
/// </summary>
internal static class DxCommand
{

    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var expression = new Argument<string[]>("expression")
        {
            Description = "A dx expression, e.g. '@$cursession.TTD.Memory(0x404028, 0x404030, \"rw\")[0].TimeStart.SeekTo()'. "
                + "Without one, an interactive prompt reads expressions (lines may start with 'dx -g' or 'dx -r2'; 'q' quits).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var grid = new Option<bool>("-g") { Description = "Show a collection as a grid: one row per item, its children as columns." };
        var recursion = new Option<int>("-r")
        {
            Description = "Expand children this many levels deep (-r0: the value only; default 1).",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("dx",
            "Evaluate a dx expression on a trace, as WinDbg's dx does with TTD: @$cursession.TTD.Memory(begin, end, \"mask\"), @$cursession.TTD.Calls(\"module!function\", ...) with [n], .Count(), .First(), "
            + ".Last(), .Take(n), .Skip(n), .Where(m => ...), .Select(m => ...), positions' .SeekTo(), @$curprocess.TTD.Lifetime, .Events, .Threads and @$curprocess.Modules.")
        {
            trace, expression, grid, recursion,
        };
        command.SetAction(parse =>
        {
            var depth = parse.GetValue(recursion);
            if (depth < 0)
                return Diagnostics.Fail("-r needs a depth of 0 or more", 2);
            var words = parse.GetValue(expression) ?? [];
            if (!TraceCommandLine.LoadEngine())
                return 1;
            return MemoryCommand.WithSession(parse.GetValue(trace)!, session =>
            {
                var evaluator = new DxEvaluator(session);
                try
                {
                    if (words.Length > 0)
                        return Evaluate(evaluator, string.Join(' ', words), parse.GetValue(grid), depth, Console.Out) ? 0 : 1;
                    Interactive(evaluator, parse.GetValue(grid), depth);
                    return 0;
                }
                finally
                {
                    evaluator.Cursor?.Dispose();
                }
            });
        });
        return command;
    }

    /// <summary>Evaluates and shows one expression; an error is printed with a caret under the bad spot.</summary>
    static bool Evaluate(DxEvaluator evaluator, string expression, bool grid, int depth, TextWriter output)
    {
        try
        {
            var value = evaluator.Evaluate(expression);
            foreach (var line in DxFormatter.Format(expression, value, depth, grid))
            {
                output.WriteLine(line);
                output.Flush();
            }
            return true;
        }
        catch (DxException e)
        {
            output.Flush();
            Console.Error.WriteLine($"rewind: {e.Message}");
            Console.Error.WriteLine(e.Pointer(expression));
            return false;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            output.Flush();
            Console.Error.WriteLine($"rewind: {e.Message}");
            return false;
        }
    }

    static void Interactive(DxEvaluator evaluator, bool grid, int depth)
    {
        var editor = new LineEditor("dx_history");
        Console.Error.WriteLine("rewind dx: enter expressions such as @$curprocess.TTD.Lifetime; 'dx -g' or 'dx -r2' before one changes the display; q quits.");
        while (true)
        {
            var line = editor.ReadLine("dx> ");
            if (line is null)
                break;
            var text = line.Trim();
            if (text.Length == 0)
                continue;
            editor.Remember(text);
            if (text is "q" or "quit" or "exit" or ".exit")
                break;
            // WinDbg's !tt POSITION: travel there, as .SeekTo() does, for the rest of the session.
            if (text.StartsWith("!tt ", StringComparison.Ordinal))
            {
                try
                {
                    foreach (var travelled in evaluator.TravelTo(text[4..].Trim()).Lines)
                        Console.Out.WriteLine(travelled);
                }
                catch (DxException e)
                {
                    Console.Error.WriteLine($"rewind: {e.Message}");
                }
                continue;
            }
            var (expression, lineGrid, lineDepth, error) = Flags(text, grid, depth);
            if (error is not null)
            {
                Console.Error.WriteLine($"rewind: {error}");
                continue;
            }
            Evaluate(evaluator, expression, lineGrid, lineDepth, Console.Out);
        }
    }

    /// <summary>Splits "dx -g -r2 EXPR" (the "dx" and the flags optional) into the expression and display flags.</summary>
    internal static (string Expression, bool Grid, int Depth, string? Error) Flags(string line, bool grid, int depth)
    {
        var rest = line;
        if (rest == "dx" || rest.StartsWith("dx ", StringComparison.Ordinal))
            rest = rest[2..].TrimStart();
        while (rest.StartsWith('-'))
        {
            var space = rest.IndexOf(' ', StringComparison.Ordinal);
            var flag = space < 0 ? rest : rest[..space];
            var after = space < 0 ? "" : rest[(space + 1)..].TrimStart();
            if (flag == "-g")
            {
                grid = true;
            }
            else if (flag.StartsWith("-r", StringComparison.Ordinal))
            {
                var number = flag[2..];
                if (number.Length == 0)
                {
                    var next = after.IndexOf(' ', StringComparison.Ordinal);
                    number = next < 0 ? after : after[..next];
                    after = next < 0 ? "" : after[(next + 1)..].TrimStart();
                }
                if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out depth))
                    return ("", grid, depth, $"'{flag}' needs a depth: -r1, -r2...");
            }
            else
            {
                return ("", grid, depth, $"unknown flag '{flag}': use -g or -rN");
            }
            rest = after;
        }
        return (rest, grid, depth, null);
    }
}
