using ScottPlot;
using ScottPlot.TickGenerators;

namespace Rewind.Bench;

/// <summary>
/// results.png: for each workload a group of bars, one per timed column, each the time divided by
/// the native time (log scale, so that 2x and 2000x both read).
/// </summary>
internal static class Chart
{
    public static void Write(Results results, string path)
    {
        var columns = results.Columns.Select(c => c.Column).Where(c => !c.Baseline && c.Measure is null).ToArray();
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category20();
        var bars = new List<Bar>();
        var groupWidth = columns.Length + 2;
        for (var w = 0; w < results.Rows.Count; w++)
        {
            for (var c = 0; c < columns.Length; c++)
            {
                if (!results.Rows[w].Cells.TryGetValue(columns[c].Key, out var cell) || cell.Ratio is not { } ratio)
                    continue;
                // Bars start at 1x (log 0): a tool faster than native gets a short bar below the axis.
                bars.Add(new Bar { Position = w * groupWidth + c, Value = Math.Log10(Math.Max(ratio, 0.1)), FillColor = palette.GetColor(c), LineWidth = 0 });
            }
        }
        plot.Add.Bars(bars);

        var centres = Enumerable.Range(0, results.Rows.Count).Select(w => w * groupWidth + (columns.Length - 1) / 2.0).ToArray();
        plot.Axes.Bottom.TickGenerator = new NumericManual(centres, results.Rows.Select(r => r.Workload.Name).ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Left.TickGenerator = new NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = y => $"{Math.Pow(10, y):#,0.##}x",
            MinorTickGenerator = new LogMinorTickGenerator(),
        };
        plot.Axes.Left.Label.Text = "time / native time (log scale)";
        plot.Title($"Rewind and peers, slowdown against native ({results.Machine.Cores} cores, {(results.Options.Quick ? "quick run: small inputs" : "full inputs")})");
        plot.Axes.Margins(bottom: 0);
        plot.Grid.XAxisStyle.MajorLineStyle.Width = 0;

        for (var c = 0; c < columns.Length; c++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = columns[c].Title, FillColor = palette.GetColor(c) });
        plot.Legend.Alignment = Alignment.UpperLeft;
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, 1400, 600);
    }
}
