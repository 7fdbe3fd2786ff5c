using System.Globalization;

namespace Rewind.Bench;

internal enum CellState
{
    Measured,
    NotAvailable,
    TimedOut,
    Failed,
    WrongOutput,
}

/// <summary>
/// One measurement: the run times (median reported), the ratio to native, or why there is none. A cell
/// that measures something other than time has no runs, its own <paramref name="Text"/> and its
/// <paramref name="Figures"/> for results.json.
/// </summary>
internal sealed record Cell(CellState State, IReadOnlyList<double> Runs, double? Ratio = null, string? Note = null,
    string? Text = null, IReadOnlyDictionary<string, double>? Figures = null)
{
    public static Cell NotAvailable(string note) => new(CellState.NotAvailable, [], Note: note);

    public double? Seconds => Runs.Count == 0 ? null : Median(Runs);

    /// <summary>What the table shows: "0.61 s (8.4x)", "0.07 s" for native, ">300 s", "n/a".</summary>
    public string Display(int timeoutSeconds) => State switch
    {
        CellState.Measured when Text is not null => Text,
        CellState.Measured when Ratio is { } ratio => $"{FormatSeconds(Seconds!.Value)} ({FormatRatio(ratio)})",
        CellState.Measured => FormatSeconds(Seconds!.Value),
        CellState.TimedOut => string.Create(CultureInfo.InvariantCulture, $">{timeoutSeconds} s"),
        CellState.NotAvailable => "n/a",
        CellState.Failed => "failed",
        CellState.WrongOutput => "wrong output",
        _ => throw new InvalidOperationException(State.ToString()),
    };

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>Three significant digits or so: 0.004 s, 0.07 s, 0.61 s, 12.3 s, 184 s.</summary>
    public static string FormatSeconds(double seconds) => seconds switch
    {
        < 0.01 => string.Create(CultureInfo.InvariantCulture, $"{seconds:F3} s"),
        < 10 => string.Create(CultureInfo.InvariantCulture, $"{seconds:F2} s"),
        < 100 => string.Create(CultureInfo.InvariantCulture, $"{seconds:F1} s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{seconds:F0} s"),
    };

    public static string FormatRatio(double ratio) => ratio switch
    {
        < 10 => string.Create(CultureInfo.InvariantCulture, $"{ratio:F1}x"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{ratio:F0}x"),
    };
}
