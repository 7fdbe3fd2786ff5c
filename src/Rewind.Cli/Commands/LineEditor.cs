using System.Text;

namespace Rewind.Cli.Commands;

/// <summary>
/// A small line editor for the prompt: on a terminal, left/right, home/end (Ctrl-A/E),
/// backspace/delete, up/down through history, Ctrl-U clears, Ctrl-D on an empty line ends.
/// When input is not a terminal, plain lines. History is kept in $XDG_STATE_HOME/rewind/NAME.
/// </summary>
internal sealed class LineEditor(string historyName)
{
    const int HistoryLimit = 1000;

    readonly List<string> _history = LoadHistory(historyName);

    /// <summary>Adds a line to the history, in memory and in its file.</summary>
    public void Remember(string line)
    {
        if (_history.Count == 0 || _history[^1] != line)
            _history.Add(line);
        AppendHistory(historyName, line);
    }

    public string? ReadLine(string prompt)
    {
        if (Console.IsInputRedirected || Console.IsOutputRedirected)
        {
            if (!Console.IsInputRedirected)
                Console.Write(prompt);
            return Console.ReadLine();
        }
        Console.Write(prompt);
        var buffer = new StringBuilder();
        var cursor = 0;
        var recall = _history.Count;
        var draft = "";
        void Redraw()
        {
            Console.Write("\r" + prompt + buffer + "\u001b[K");
            var back = buffer.Length - cursor;
            if (back > 0)
                Console.Write($"\u001b[{back}D");
        }
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            var control = key.Modifiers.HasFlag(ConsoleModifiers.Control);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.WriteLine();
                    return buffer.ToString();
                case ConsoleKey.Backspace when cursor > 0:
                    buffer.Remove(--cursor, 1);
                    break;
                case ConsoleKey.Delete when cursor < buffer.Length:
                    buffer.Remove(cursor, 1);
                    break;
                case ConsoleKey.LeftArrow when cursor > 0:
                    cursor--;
                    break;
                case ConsoleKey.RightArrow when cursor < buffer.Length:
                    cursor++;
                    break;
                case ConsoleKey.Home:
                case ConsoleKey.A when control:
                    cursor = 0;
                    break;
                case ConsoleKey.End:
                case ConsoleKey.E when control:
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.U when control:
                    buffer.Clear();
                    cursor = 0;
                    break;
                case ConsoleKey.D when control:
                    if (buffer.Length == 0)
                    {
                        Console.WriteLine();
                        return null;
                    }
                    break;
                case ConsoleKey.UpArrow when recall > 0:
                    if (recall == _history.Count)
                        draft = buffer.ToString();
                    recall--;
                    buffer.Clear().Append(_history[recall]);
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.DownArrow when recall < _history.Count:
                    recall++;
                    buffer.Clear().Append(recall == _history.Count ? draft : _history[recall]);
                    cursor = buffer.Length;
                    break;
                default:
                    if (!control && key.KeyChar >= ' ' && key.KeyChar != '\u007f')
                        buffer.Insert(cursor++, key.KeyChar);
                    break;
            }
            Redraw();
        }
    }

    static string HistoryPath(string name)
    {
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (string.IsNullOrEmpty(state))
            state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return Path.Combine(state, "rewind", name);
    }

    static List<string> LoadHistory(string name)
    {
        try
        {
            var lines = File.ReadAllLines(HistoryPath(name));
            return lines.Skip(Math.Max(0, lines.Length - HistoryLimit)).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    static void AppendHistory(string name, string line)
    {
        try
        {
            var path = HistoryPath(name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.AppendAllLines(path, [line]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // History is a convenience: without a writable state folder it stays in memory.
        }
    }
}
