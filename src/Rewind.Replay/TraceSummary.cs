using Rewind.Linux.Execution;
using Rewind.Linux.Syscalls;
using Rewind.Trace;

namespace Rewind.Replay;

/// <summary>What a trace holds, gathered by one pass over its events (no replay needed).</summary>
public sealed record TraceSummary
{
    public required TraceHeader Header { get; init; }
    public ExitStatus? Ending { get; init; }
    public required long Instructions { get; init; }
    public required long Syscalls { get; init; }

    /// <summary>Threads the program ran, the main one included, in every process.</summary>
    public required long Threads { get; init; }

    /// <summary>Processes of the run, the first one included.</summary>
    public required long Processes { get; init; }

    public required long ThreadSwitches { get; init; }
    public required long Events { get; init; }
    public required int Keyframes { get; init; }
    public required long FileSize { get; init; }
    public required long StoredContentBytes { get; init; }
    public required IReadOnlyList<string> UnsupportedSyscalls { get; init; }
    public required IReadOnlyList<(string Path, long Bytes)> MappedFiles { get; init; }
    public required IReadOnlyList<FileRead> FilesRead { get; init; }
    public TimeSpan? Duration { get; init; }
    public string? Truncation { get; init; }

    /// <summary>Trace bytes per instruction, leaving out stored file contents and pages.</summary>
    public double BytesPerInstruction => Instructions == 0 ? 0 : (FileSize - StoredContentBytes) / (double)Instructions;

    public static TraceSummary Of(TraceReader trace)
    {
        long syscalls = 0, events = 0, last = 0, threads = 1, processes = 1, switches = 0;
        ExitStatus? ending = null;
        var unsupported = new SortedSet<string>(StringComparer.Ordinal);
        var mapped = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var traceEvent in trace.Events())
        {
            events++;
            last = Math.Max(last, traceEvent.Instruction);
            IReadOnlyList<Effect> effects = [];
            switch (traceEvent)
            {
                case StartEvent start:
                    effects = start.Effects;
                    break;
                case SyscallEvent syscall:
                    syscalls++;
                    effects = syscall.Effects;
                    if (syscall.Unsupported)
                        unsupported.Add($"{SyscallNames.Name(syscall.Number)} ({syscall.Number})");
                    threads += syscall.Effects.Count(e => e is ThreadCreatedEffect or ProcessCreatedEffect);
                    processes += syscall.Effects.Count(e => e is ProcessCreatedEffect);
                    break;
                case ThreadSwitchEvent:
                    switches++;
                    break;
                case ExitEvent exit:
                    ending = new ExitStatus { ExitCode = exit.Status, Instructions = exit.Instruction + 1 };
                    break;
                case SignalEvent { Handled: false } signal:
                    ending = new ExitStatus { Signal = (Signal)signal.Signal, SignalCode = signal.Code, FaultPc = signal.Pc, FaultAddress = signal.Address, Instructions = signal.Instruction };
                    break;
            }
            foreach (var map in effects.OfType<MapEffect>())
            {
                if (map.Path is { } path && map.Pages.Count > 0)
                    mapped[path] = mapped.GetValueOrDefault(path) + map.Pages.Count * (long)TraceFormat.PageSize;
            }
        }
        var end = trace.End;
        return new TraceSummary
        {
            Header = trace.Header,
            Ending = ending,
            Instructions = end?.Instructions ?? Math.Max(last, trace.LastRecordedInstruction()),
            Syscalls = syscalls,
            Threads = threads,
            Processes = processes,
            ThreadSwitches = switches,
            Events = events,
            Keyframes = trace.KeyframeCount,
            FileSize = trace.FileSize,
            StoredContentBytes = trace.BlobChunkBytes,
            UnsupportedSyscalls = unsupported.ToArray(),
            MappedFiles = mapped.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => (m.Key, m.Value)).ToArray(),
            FilesRead = end?.FilesRead ?? [],
            Duration = end is null ? null : end.EndTime - trace.Header.StartTime,
            Truncation = trace.Truncation,
        };
    }
}
