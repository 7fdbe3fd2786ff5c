using Rewind.Export;
using Spectre.Console;

namespace Rewind.Cli.Commands;

/// <summary>A progress bar on stderr for an export, when stderr is a terminal; nothing otherwise.</summary>
internal static class ExportProgressBar
{
    public static T Run<T>(string description, Func<IProgress<ExportProgress>?, T> work)
    {
        if (Console.IsErrorRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return work(null);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(description));
                result = work(new InlineProgress(p =>
                {
                    task.MaxValue = Math.Max(1, p.Instructions);
                    task.Value = p.InstructionsDone;
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Reports on the thread that reports (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class InlineProgress(Action<ExportProgress> report) : IProgress<ExportProgress>
    {
        public void Report(ExportProgress value) => report(value);
    }
}
