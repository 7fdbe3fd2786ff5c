using System.Globalization;
using Rewind.Query;
using Rewind.Query.Dx;

namespace Rewind.Gdb;

/// <summary>
/// gdb's <c>monitor</c> commands: <c>when</c> (the position), <c>seek POSITION</c> (any position form the
/// command line takes), <c>dx EXPRESSION</c> (the dx front end) and <c>info</c> (the trace).
/// </summary>
internal sealed class MonitorCommands(ReplayTarget target)
{
    DxEvaluator? _dx;

    public const string Help = "monitor commands: when | seek POSITION (Sequence:Steps, an instruction count or a percentage) | dx EXPRESSION | info";

    /// <summary>Runs <paramref name="command"/>; its output lines. <paramref name="moved"/>: the position changed.</summary>
    public IReadOnlyList<string> Run(string command, out bool moved)
    {
        moved = false;
        var text = command.Trim();
        var space = text.IndexOf(' ');
        var (verb, rest) = space < 0 ? (text, "") : (text[..space], text[(space + 1)..].Trim());
        try
        {
            switch (verb)
            {
                case "when":
                    return [When()];
                case "seek" when rest.Length > 0:
                    target.SeekTo(target.Session.Resolve(rest).Instruction);
                    moved = true;
                    return [When(), "(run 'flushregs' for gdb to read the registers and frames there)"];
                case "dx" when rest.Length > 0:
                    _dx ??= new DxEvaluator(target.Session);
                    return [.. DxFormatter.Format(rest, _dx.Evaluate(rest))];
                case "info":
                    return Info();
                default:
                    return [Help];
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentException or DxException or InvalidOperationException)
        {
            return [$"error: {e.Message}"];
        }
    }

    string When()
    {
        var position = target.Session.Timeline.At(target.Position);
        return $"Position {position} (instr_count {target.Position.ToString(CultureInfo.InvariantCulture)}), process {target.Pid}, thread {target.TidOf(target.Thread)}";
    }

    IReadOnlyList<string> Info()
    {
        var session = target.Session;
        var (start, end) = session.Lifetime;
        var processes = session.Model.Threads.GroupBy(t => t.ProcessId).Select(g => $"{g.Key} ({g.Count()} threads)");
        return
        [
            $"Trace {session.Path}: {session.Trace.Header.Program} {string.Join(' ', session.Trace.Header.Arguments)}",
            $"Instructions {session.Timeline.Instructions.ToString("N0", CultureInfo.InvariantCulture)}, positions {start} to {end}",
            $"Processes: {string.Join(", ", processes)}; shown: {target.Pid}",
            $"Stored files: {string.Join(", ", target.Files.Paths)}",
        ];
    }
}
