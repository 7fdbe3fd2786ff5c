using Rewind.Engine;
using Rewind.Replay;
using Rewind.Trace;

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

    /// <summary>Says when a trace was cut short, so that answers are known to cover only its first part.</summary>
    public static void WarnIfIncomplete(TraceReader trace)
    {
        if (trace.Truncation is { } reason)
            Diagnostics.Warn($"the trace is incomplete ({reason}): answers cover the run up to where it ends");
    }

    /// <summary>
    /// Runs a verb's work on a trace: a trace that cannot be read, an engine that cannot run and a
    /// replay that diverges each become a one-line error (exit status 1, or 3 for a divergence).
    /// </summary>
    public static int Replaying(Func<int> work)
    {
        try
        {
            return work();
        }
        catch (TraceFormatException e)
        {
            return Diagnostics.Fail(e.Message);
        }
        catch (DivergenceException e)
        {
            return Diagnostics.Fail(e.Message, 3);
        }
        catch (EngineException e)
        {
            return Diagnostics.Fail(e.Message);
        }
    }
}
