using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Trace;

namespace Rewind.Replay;

/// <summary>
/// A trace replayed from its start, deterministically and from the trace alone: no host files,
/// no host time. The C# entry point for everything that asks questions of a recorded run.
/// </summary>
public sealed class ReplaySession : IDisposable
{
    ReplaySession(TraceReader trace, ReplayKernel kernel, GuestProcess process)
    {
        Trace = trace;
        Kernel = kernel;
        Process = process;
    }

    public TraceReader Trace { get; }
    public ReplayKernel Kernel { get; }
    public GuestProcess Process { get; }

    /// <summary>Opens <paramref name="path"/> for replay; <paramref name="verify"/> checks every keyframe.</summary>
    public static ReplaySession Open(string path, bool verify = false, Action<int, ReadOnlyMemory<byte>>? output = null)
    {
        var trace = TraceReader.Open(path);
        try
        {
            return Open(trace, verify, output);
        }
        catch
        {
            trace.Dispose();
            throw;
        }
    }

    public static ReplaySession Open(TraceReader trace, bool verify = false, Action<int, ReadOnlyMemory<byte>>? output = null)
    {
        var header = trace.Header;
        var kernel = new ReplayKernel(trace, verify) { Output = output };
        var options = new RunOptions
        {
            Program = header.Program,
            Arguments = header.Arguments,
            Environment = header.Environment,
            WorkingDirectory = header.WorkingDirectory,
            FileSystem = new HostView(),
        };
        var process = GuestProcess.CreateEmpty(options, kernel, header.ProcessId);
        try
        {
            process.SetIdentity(Path.GetFileName(header.Program), header.Program, header.Arguments);
            kernel.Start(process);
            return new ReplaySession(trace, kernel, process);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Replays to the end of the trace (or the first divergence, thrown as <see cref="DivergenceException"/>).</summary>
    public ExitStatus Run() => Process.Run();

    public void Dispose()
    {
        Process.Dispose();
        Trace.Dispose();
    }
}
