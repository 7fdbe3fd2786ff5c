using Rewind.Linux.Execution;
using Rewind.Query.Introspection;
using Rewind.Replay;
using Rewind.Trace;

namespace Rewind.Query.Plugins;

/// <summary>
/// An analysis that runs along a replay, as a PANDA plugin does: it sets its callbacks on the
/// session before the run (<see cref="ReplaySession.BeforeInstruction"/>, memory callbacks,
/// <see cref="ReplaySession.WatchAddresses"/>, <see cref="ReplaySession.WatchInstructions"/>,
/// <see cref="ReplaySession.SyscallReplayed"/>) and writes its results to its output stream.
/// </summary>
public interface IReplayPlugin
{
    /// <summary>Sets the plugin's callbacks on <paramref name="session"/>; called once, before the run.</summary>
    void Attach(ReplaySession session);

    /// <summary>
    /// The run ended (<paramref name="ending"/> null when it was paused): flush what is buffered.
    /// Throws <see cref="IOException"/> when the plugin's output could not be written.
    /// </summary>
    void Finish(ExitStatus? ending);
}

/// <summary>What a plugin gets besides its arguments: the trace, its model, where to write, where to warn.</summary>
public sealed class PluginContext(TraceReader trace, Stream output, Action<string> warn)
{
    TraceModel? _model;

    public TraceReader Trace { get; } = trace;

    /// <summary>The process, threads and modules of the trace, built on first use (one pass over the events).</summary>
    public TraceModel Model => _model ??= TraceModel.Build(Trace);

    /// <summary>Where the plugin writes its results (PANDA plugins print to stdout).</summary>
    public Stream Output { get; } = output;

    /// <summary>For one-line warnings; the front end decides where they go.</summary>
    public Action<string> Warn { get; } = warn;
}

/// <summary>A plugin's name, the argument names it takes, and how to make one.</summary>
public sealed record PluginDescription(
    string Name,
    string Summary,
    IReadOnlyList<string> Arguments,
    Func<IReadOnlyDictionary<string, string>, PluginContext, IReplayPlugin> Create);

/// <summary>A plugin specification that cannot be used: unknown plugin or argument, bad syntax or value. One line.</summary>
public sealed class PluginArgumentException(string message) : Exception(message);
