using Rewind.Engine;

namespace Rewind.Cli.Commands;

/// <summary>What verbs that read a trace share.</summary>
internal static class TraceCommandLine
{
    /// <summary>Loads the engine, printing a one-line error (false) or warning.</summary>
    public static bool LoadEngine()
    {
        try
        {
            if (EngineLibrary.Load() is { } warning)
                Diagnostics.Warn(warning);
            return true;
        }
        catch (EngineException e)
        {
            Diagnostics.Fail(e.Message);
            return false;
        }
    }
}
