using Rewind.Trace;
using Rewind.Trace.Positions;

namespace Rewind.Query.Introspection;

/// <summary>TTD's Lifetime and ActiveTime: the first and the last position of something, both included.</summary>
public readonly record struct Lifetime(Position Start, Position End)
{
    public bool Contains(Position position) => position >= Start && position <= End;

    public override string ToString() => $"[{Start}, {End}]";
}

/// <summary>
/// The recorded process: pid, parent pid when the trace shows it, executable, and its task name
/// (Linux <c>comm</c>) over time.
/// </summary>
public sealed record ProcessInfo
{
    public required int Id { get; init; }

    /// <summary>The parent's pid, when the program asked for it (getppid) during the recording; null otherwise.</summary>
    public int? ParentId { get; init; }

    /// <summary>The executable the kernel mapped last (after any execve; the interpreter of a #! script), as the trace names it.</summary>
    public required string ExecutablePath { get; init; }

    /// <summary>The task name at the start, then every change (prctl(PR_SET_NAME), execve), in execution order.</summary>
    public required IReadOnlyList<TaskName> Names { get; init; }

    public required Lifetime Lifetime { get; init; }

    /// <summary>The task name the process had when it started.</summary>
    public string InitialName => Names.Count == 0 ? "" : Names[0].Name;

    /// <summary>The task name while instruction <paramref name="instruction"/> runs.</summary>
    public string NameAt(long instruction)
    {
        var name = InitialName;
        foreach (var change in Names)
        {
            if (change.FromInstruction > instruction)
                break;
            name = change.Name;
        }
        return name;
    }
}

/// <summary>
/// A task name and when it took effect: <paramref name="Position"/> is the event that set it (the
/// start, or the prctl syscall), <paramref name="FromInstruction"/> the first instruction that runs under it.
/// </summary>
public readonly record struct TaskName(string Name, Position Position, long FromInstruction);

/// <summary>
/// A thread as TTD shows it: <see cref="UniqueId"/> numbers threads 1, 2, 3... in creation order over
/// every process of the trace and is never reused; <see cref="Id"/> is the guest tid, <see cref="ProcessId"/>
/// its process's pid. <see cref="ActiveTime"/> spans the instructions the thread itself ran.
/// </summary>
public sealed record ThreadInfo(long UniqueId, int Id, Lifetime Lifetime, Lifetime ActiveTime, int ProcessId);

/// <summary>
/// A loaded image (executable, interpreter, shared library): the file-backed mappings of one file
/// of which at least one was executable. <see cref="Address"/> is the load base as dladdr reports
/// it (dli_fbase: the lowest address the file is mapped at, its offset-0 mapping for ELF files);
/// <see cref="Size"/> reaches to the end of its highest file-backed mapping.
/// </summary>
public sealed record ModuleInfo
{
    /// <summary>Index of this module in <see cref="TraceModel.Modules"/> (load order).</summary>
    public required int Index { get; init; }

    /// <summary>The file's base name, as image_name in memorymap.</summary>
    public required string Name { get; init; }

    /// <summary>The file's path as the program opened it (the loader's path for the executable and interpreter).</summary>
    public required string Path { get; init; }

    public required ulong Address { get; init; }
    public required ulong Size { get; init; }

    /// <summary>The event (start or syscall) that mapped its first executable part.</summary>
    public required Position Loaded { get; init; }

    /// <summary>The event that removed its last mapping; null when it stayed loaded to the end.</summary>
    public Position? Unloaded { get; init; }

    /// <summary>The first instruction that runs with the module mapped.</summary>
    public required long LoadedFromInstruction { get; init; }

    /// <summary>The first instruction that runs without it; null when it stayed loaded.</summary>
    public long? UnloadedFromInstruction { get; init; }

    /// <summary>The whole file as the trace stored it when the module was loaded (null in traces that did not store it, or for files too large).</summary>
    public ImageEffect? Image { get; init; }

    public ulong End => Address + Size;

    /// <summary>
    /// Whether the module is loaded at <paramref name="position"/>: its load event is at or before
    /// it, and its unload event (if any) after it.
    /// </summary>
    public bool IsLoadedAt(Position position) => Loaded <= position && (Unloaded is not { } unloaded || position < unloaded);
}

/// <summary>What a <see cref="TimelineEvent"/> reports, as TTD's Events list names it.</summary>
public enum TimelineEventType
{
    ThreadCreated,
    ThreadTerminated,
    ModuleLoaded,
    ModuleUnloaded,
    Exception,
    ProcessExit,
}

/// <summary>
/// A signal delivered to the program, as TTD reports exceptions: the signal's name, its number as
/// the code, the pc where it interrupted the program (the instruction that raised it, for a fault),
/// for memory faults the address, the si_code the program was given (SEGV_MAPERR is 1...), and
/// whether a handler of the program took it (otherwise it ended the program).
/// </summary>
public sealed record ExceptionInfo(string Name, int Code, ulong ProgramCounter, ulong Address, int SignalCode = 0, bool Handled = false);

/// <summary>
/// One entry of TTD's Events list, at its position. By type: <see cref="Thread"/> for thread
/// events, <see cref="Module"/> for module events, <see cref="Exception"/> for an exception, and
/// for ProcessExit the <see cref="ExitCode"/> (null when a signal ended the process) and the <see cref="ProcessId"/>
/// (the first process's, or a child's that exited while the run went on).
/// </summary>
public sealed record TimelineEvent(TimelineEventType Type, Position Position)
{
    public ThreadInfo? Thread { get; init; }
    public ModuleInfo? Module { get; init; }
    public ExceptionInfo? Exception { get; init; }
    public int? ExitCode { get; init; }
    public int? ProcessId { get; init; }
}
