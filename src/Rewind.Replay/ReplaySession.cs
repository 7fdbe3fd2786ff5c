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
    readonly ReplayHooks _hooks;
    readonly ReplayWatches _watches;
    bool _ran; // code has been translated: hooks added from now on need translations dropped
    bool _ownsTrace = true;

    ReplaySession(TraceReader trace, ReplayKernel kernel, GuestProcess process)
    {
        Trace = trace;
        Kernel = kernel;
        Process = process;
        _hooks = new ReplayHooks(process);
        _watches = new ReplayWatches(process);
    }

    /// <summary>Called before every instruction (slows replay down to per-instruction speed).</summary>
    public InstructionCallback? BeforeInstruction { get => _hooks.BeforeInstruction; set => _hooks.BeforeInstruction = value; }

    /// <summary>Called for every data read, with the value read.</summary>
    public MemoryCallback? MemoryRead { get => _hooks.MemoryRead; set => _hooks.MemoryRead = value; }

    /// <summary>Called for every data write, with the value written.</summary>
    public MemoryCallback? MemoryWrite { get => _hooks.MemoryWrite; set => _hooks.MemoryWrite = value; }

    /// <summary>
    /// Calls <paramref name="callback"/> before every execution of an instruction at one of
    /// <paramref name="addresses"/>, with its exact instruction count. Only those addresses are
    /// instrumented, so the rest runs at block-counting speed. Set before the first <see cref="Run"/>.
    /// </summary>
    public void WatchAddresses(IEnumerable<ulong> addresses, InstructionCallback callback) => _watches.WatchAddresses(addresses, callback);

    /// <summary>
    /// Calls <paramref name="callback"/> just before each of the instructions numbered
    /// <paramref name="instructions"/> runs (the guest state is then exactly before it). Only the
    /// block holding the next one is instrumented, when it is reached.
    /// </summary>
    public void WatchInstructions(IEnumerable<long> instructions, InstructionCallback callback) => _watches.WatchInstructions(instructions, callback);

    /// <summary>Called after each syscall is replayed, with what the trace recorded for it and the arguments the program passed.</summary>
    public SyscallReplayedCallback? SyscallReplayed { get => Kernel.SyscallReplayed; set => Kernel.SyscallReplayed = value; }

    /// <summary>Called after each thread switch is replayed, before the new thread's first instruction runs.</summary>
    public Action<ThreadSwitchEvent>? ThreadSwitched { get => Kernel.ThreadSwitched; set => Kernel.ThreadSwitched = value; }

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

    /// <summary>
    /// Opens <paramref name="trace"/> for replay from its start, or from keyframe
    /// <paramref name="fromKeyframe"/> (whose whole state is restored), as the index does for each segment.
    /// With <paramref name="leaveTraceOpen"/>, disposing the session leaves <paramref name="trace"/> open for
    /// the caller to reuse (one reader per thread replays many segments).
    /// </summary>
    public static ReplaySession Open(TraceReader trace, bool verify = false, Action<int, ReadOnlyMemory<byte>>? output = null, int? fromKeyframe = null, bool leaveTraceOpen = false)
    {
        var header = trace.Header;
        if (fromKeyframe is { } k && (k < 0 || k >= trace.KeyframeCount))
            throw new ArgumentOutOfRangeException(nameof(fromKeyframe), $"the trace has {trace.KeyframeCount} keyframes");
        var kernel = new ReplayKernel(trace, verify, fromKeyframe) { Output = output };
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
            if (fromKeyframe is null)
                kernel.Start(process);
            else
                kernel.Restore(process);
            return new ReplaySession(trace, kernel, process) { _ownsTrace = !leaveTraceOpen };
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Replays to the end of the trace, or until instruction <paramref name="stopAt"/> is about to
    /// run (null exit status: the session then shows the state at that position). A divergence
    /// is thrown as <see cref="DivergenceException"/>.
    /// </summary>
    public ExitStatus? Run(long stopAt = long.MaxValue)
    {
        // With per-instruction callbacks their code hook stops too; otherwise only the block
        // holding the stop is instrumented, when it is reached.
        var perInstruction = BeforeInstruction is not null || MemoryRead is not null || MemoryWrite is not null;
        _hooks.Install(perInstruction ? stopAt : long.MaxValue, _ran);
        _watches.Install(perInstruction ? long.MaxValue : stopAt, _ran);
        _ran = true;
        return Process.Run();
    }

    public void Dispose()
    {
        _hooks.Dispose();
        _watches.Dispose();
        Process.Dispose();
        if (_ownsTrace)
            Trace.Dispose();
    }
}
