namespace Rewind.Cli.Commands;

/// <summary>What every verb prints on stderr: one-line errors and warnings prefixed with "rewind:".</summary>
internal static class Diagnostics
{
    public static void Warn(string message) => Console.Error.WriteLine($"rewind: {message}");

    /// <summary>Prints a one-line error and returns the exit status to use.</summary>
    public static int Fail(string message, int status = 1)
    {
        Console.Error.WriteLine($"rewind: {message}");
        return status;
    }
}
