using System.Globalization;

namespace Rewind.Query.Dx;

/// <summary>
/// Shows dx values as WinDbg's dx does: the expression, then " : " and the value's summary when
/// it has one; with recursion -r N, children N levels deep as "Name : value" (collections as
/// [0x0], [0x1], ...), the first level flush left and deeper levels indented by four spaces; with
/// -g, a grid. Numbers are hex. Collections show their first <see cref="MaxItems"/> items, then "[...]".
/// </summary>
public static class DxFormatter
{
    public const int MaxItems = 100;

    /// <summary>The lines that show <paramref name="value"/>, the result of <paramref name="expression"/>.</summary>
    public static IEnumerable<string> Format(string expression, object? value, int recursion = 1, bool grid = false)
    {
        if (value is DxText text)
        {
            yield return expression;
            foreach (var line in text.Lines)
                yield return line;
            yield break;
        }
        yield return expression + SummaryPart(value);
        if (grid && (value is DxCollection || value is DxObject { HasChildren: true }))
        {
            foreach (var line in Grid(value))
                yield return line;
            yield break;
        }
        foreach (var line in ChildLines(value, 1, recursion))
            yield return line;
    }

    static IEnumerable<string> ChildLines(object? value, int depth, int recursion)
    {
        if (depth > recursion)
            yield break;
        var indent = new string(' ', Math.Max(0, depth - 1) * 4);
        foreach (var (name, child) in Children(value))
        {
            yield return indent + name + SummaryPart(child);
            foreach (var line in ChildLines(child, depth + 1, recursion))
                yield return line;
        }
    }

    /// <summary>A value's children: an object's properties, a collection's items ([0x0]...), else none.</summary>
    static IEnumerable<(string Name, object? Value)> Children(object? value)
    {
        switch (value)
        {
            case DxObject obj:
                foreach (var child in obj.Children)
                    yield return child;
                break;
            case DxCollection collection:
                var index = 0;
                foreach (var item in collection)
                {
                    if (index == MaxItems)
                    {
                        yield return ("[...]", null);
                        yield break;
                    }
                    yield return (ItemName(index++), item);
                }
                break;
        }
    }

    public static string ItemName(int index) => "[0x" + index.ToString("x", CultureInfo.InvariantCulture) + "]";

    static string SummaryPart(object? value) => Summary(value) is { } summary ? " : " + summary : "";

    /// <summary>What dx shows after a name: numbers in hex, strings as they are, objects by their summary.</summary>
    public static string? Summary(object? value) => value switch
    {
        Int128 n => DxEvaluator.Hex(n),
        string s => s,
        bool b => b ? "true" : "false",
        DxObject obj => obj.Summary,
        DxText => "(command output)",
        DxFunction f => "lambda " + f.Lambda.Parameter,
        _ => null,
    };

    /// <summary>dx -g: the items of a collection as rows, their children as columns; an object's children as rows.</summary>
    static IEnumerable<string> Grid(object? value)
    {
        var rows = new List<(string Name, Dictionary<string, string> Cells)>();
        var columns = new List<string>();
        foreach (var (name, item) in Children(value))
        {
            var cells = new Dictionary<string, string>(StringComparer.Ordinal);
            if (value is DxCollection && item is DxObject obj && obj.HasChildren)
            {
                foreach (var (column, cell) in obj.Children)
                {
                    if (!columns.Contains(column))
                        columns.Add(column);
                    cells[column] = Summary(cell) ?? "";
                }
            }
            else
            {
                if (!columns.Contains("Value"))
                    columns.Add("Value");
                cells["Value"] = Summary(item) ?? "";
            }
            rows.Add((name, cells));
        }
        var widths = new int[columns.Count + 1];
        widths[0] = Math.Max(1, rows.Count == 0 ? 0 : rows.Max(r => r.Name.Length));
        for (var c = 0; c < columns.Count; c++)
            widths[c + 1] = Math.Max(columns[c].Length, rows.Count == 0 ? 0 : rows.Max(r => r.Cells.GetValueOrDefault(columns[c], "").Length));
        var writer = new DxGridWriter(["", .. columns], widths);
        foreach (var line in writer.Header())
            yield return line;
        foreach (var (name, cells) in rows)
            yield return writer.Row([name, .. columns.Select(c => cells.GetValueOrDefault(c, ""))]);
        yield return writer.Border;
    }
}

/// <summary>
/// A grid in the style of dx -g, written row by row (so that a long result streams): a border of
/// '=', the header cells between '=', then one row per item with cells separated by '-'.
/// </summary>
public sealed class DxGridWriter
{
    readonly IReadOnlyList<string> _columns;
    readonly int[] _widths;

    public DxGridWriter(IReadOnlyList<string> columns, IReadOnlyList<int> widths)
    {
        _columns = columns;
        _widths = [.. widths];
        for (var i = 0; i < _widths.Length; i++)
            _widths[i] = Math.Max(_widths[i], columns[i].Length);
    }

    public string Border => new('=', _widths.Sum() + 3 * _widths.Length + 1);

    public IEnumerable<string> Header()
    {
        yield return Border;
        yield return "= " + string.Join(" = ", _columns.Select((c, i) => c.PadRight(_widths[i]))) + " =";
        yield return Border;
    }

    public string Row(IReadOnlyList<string> cells) =>
        "= " + string.Join(" - ", cells.Select((c, i) => c.PadRight(_widths[i]))) + " -";
}
