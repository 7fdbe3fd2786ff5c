namespace Rewind.Bench;

/// <summary>rewind-bench: times Rewind and its peer tools on the same programs and inputs.</summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (BenchException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            Console.Error.WriteLine("bench: try --help");
            return 2;
        }
        if (options.ShowHelp)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }
        try
        {
            return new Bench(options).Run();
        }
        catch (BenchException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            return 1;
        }
    }
}

/// <summary>A failure the bench reports as one line and exits on.</summary>
internal sealed class BenchException(string message) : Exception(message);
