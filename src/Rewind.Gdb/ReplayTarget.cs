using System.Buffers.Binary;
using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Query;

namespace Rewind.Gdb;

public enum StopKind { Step, Breakpoint, Watchpoint, HistoryStart, HistoryEnd }

public enum WatchKind { Write, Read, Access }

/// <summary>Why the target stopped, in which thread (a unique id), and for a watchpoint which one.</summary>
public sealed record StopReason(StopKind Kind, long Thread, ulong WatchAddress = 0, WatchKind Watch = WatchKind.Write);

/// <summary>
/// One process of a trace as a debugger sees it: stopped at a position, with its threads, their
/// registers and its memory there, breakpoints and watchpoints, and moves forward and backward.
/// Continuing in either direction asks the index where the next (or last) execution of a
/// breakpoint's address or access to a watched range is, then replays from the keyframe before it to
/// exactly there; stepping moves one instruction of the thread, passing over what other threads and
/// processes ran in between. Positions are instruction counts of the whole trace.
/// </summary>
public sealed class ReplayTarget : IDisposable
{
    readonly TraceSession _session;
    readonly TraceCursor _cursor;
    readonly ThreadSchedule _schedule;
    readonly Dictionary<long, int> _processOf;
    readonly HashSet<ulong> _breakpoints = [];
    readonly List<(ulong Address, ulong Length, WatchKind Kind)> _watchpoints = [];

    ReplayTarget(TraceSession session, int pid)
    {
        _session = session;
        Pid = pid;
        _schedule = ThreadSchedule.Build(session.Trace, session.Timeline.Instructions);
        _processOf = session.Model.Threads.ToDictionary(t => t.UniqueId, t => t.ProcessId);
        Files = new StoredFiles(session.Trace);
        var first = _schedule.NextOf(InProcess, 0) ?? throw new ArgumentException($"process {pid} runs no instruction in the trace");
        _cursor = session.SeekTo(first);
        Auxv = ReadAuxv(first);
        Move(first);
    }

    /// <summary>Opens the target for process <paramref name="pid"/> (default: the first process); an unknown pid is an <see cref="ArgumentException"/>.</summary>
    public static ReplayTarget Open(TraceSession session, int? pid = null)
    {
        var processes = session.Model.Threads.Select(t => t.ProcessId).Distinct().ToArray();
        var chosen = pid ?? session.Model.Process.Id;
        if (!processes.Contains(chosen))
            throw new ArgumentException($"the trace has no process {chosen} (its processes: {string.Join(", ", processes)})");
        return new ReplayTarget(session, chosen);
    }

    public TraceSession Session => _session;

    public int Pid { get; }

    /// <summary>The instruction count of the position: the state just before that instruction runs.</summary>
    public long Position => _cursor.Instruction;

    /// <summary>The thread the debugger is stopped in (a unique id).</summary>
    public long Thread { get; private set; }

    /// <summary>The auxiliary vector the process started with, as /proc/PID/auxv holds it.</summary>
    public byte[] Auxv { get; }

    internal StoredFiles Files { get; }

    public TraceCursor Cursor => _cursor;

    ProcessState? Process => _cursor.Machine.FindProcess(Pid);

    /// <summary>The path of the program the process runs at this position.</summary>
    public string ExecutablePath => Process?.ExecutablePath ?? _session.Model.Process.ExecutablePath;

    bool InProcess(long thread) => _processOf.TryGetValue(thread, out var pid) && pid == Pid;

    /// <summary>The process's threads at this position: unique id and tid, in creation order.</summary>
    public IReadOnlyList<(long UniqueId, int Tid)> Threads() =>
        Process is { } process ? [.. process.Threads.Where(t => !t.Exited).OrderBy(t => t.UniqueId).Select(t => (t.UniqueId, t.Tid))] : [];

    public int TidOf(long thread) => _cursor.Machine.FindThread(thread)?.Tid ?? 0;

    public long? ThreadOfTid(int tid) => Process?.Threads.Find(t => t.Tid == tid && !t.Exited)?.UniqueId;

    /// <summary>
    /// A thread's registers at this position, laid out as <see cref="TargetDescription"/> reads them: from
    /// the engine for the thread that runs here, from its saved context for the others.
    /// </summary>
    public byte[] ThreadState(long thread)
    {
        var machine = _cursor.Machine;
        var state = new byte[RegisterFile.Size];
        var guest = machine.FindThread(thread);
        var file = guest is not null && guest == machine.CurrentThread ? RegisterFile.Capture(machine.Cpu) : guest?.Context;
        file?.CopyTo(state, 0);
        // User-mode Linux threads always run with interrupts enabled; the engine leaves the flag clear.
        state[RegisterFile.Registers.AsSpan().IndexOf(X86Register.Eflags) * 8 + 1] |= 0x02;
        return state;
    }

    /// <summary>Reads the process's memory at this position; false when any byte is unmapped.</summary>
    public bool TryReadMemory(ulong address, Span<byte> destination) => Process?.Memory.Peek(address, destination) ?? false;

    public void AddBreakpoint(ulong address) => _breakpoints.Add(address);

    public void RemoveBreakpoint(ulong address) => _breakpoints.Remove(address);

    public void AddWatchpoint(ulong address, ulong length, WatchKind kind) => _watchpoints.Add((address, Math.Max(1, length), kind));

    public void RemoveWatchpoint(ulong address, ulong length, WatchKind kind) => _watchpoints.Remove((address, Math.Max(1, length), kind));

    /// <summary>Moves to the process's first instruction at or after <paramref name="instruction"/> (or its last before, past its end).</summary>
    public void SeekTo(long instruction) =>
        Move(_schedule.NextOf(InProcess, instruction) ?? _schedule.LastOf(InProcess, instruction) ?? Position);

    void Move(long instruction)
    {
        _cursor.SeekTo(instruction);
        Thread = _schedule.ThreadAt(instruction);
    }

    /// <summary>
    /// Runs <paramref name="thread"/> one instruction forward, or back with <paramref name="reverse"/>.
    /// A watched access by that instruction makes it a watchpoint stop, as the debug registers report it.
    /// </summary>
    public StopReason Step(long thread, bool reverse)
    {
        if (reverse)
        {
            if (_schedule.LastOf(t => t == thread, Position) is not { } previous)
                return new StopReason(StopKind.HistoryStart, Thread);
            Move(previous);
            return WatchedAccess() is { } undone ? undone with { Thread = Thread } : new StopReason(StopKind.Step, Thread);
        }
        if (_schedule.NextOf(t => t == thread, Position) is not { } next || After(thread, next) is not { } after)
            return new StopReason(StopKind.HistoryEnd, Thread);
        if (next != Position)
            Move(next);
        var access = WatchedAccess();
        Move(after);
        return access is null ? new StopReason(StopKind.Step, Thread) : access with { Thread = Thread };
    }

    /// <summary>The watchpoint that the instruction about to run triggers, if any.</summary>
    StopReason? WatchedAccess()
    {
        foreach (var (address, length, kind) in _watchpoints)
        {
            if (InstructionAccesses.Touches(_cursor, address, length, kind))
                return new StopReason(StopKind.Watchpoint, Thread, address, kind);
        }
        return null;
    }

    /// <summary>Where <paramref name="thread"/> is just after it ran <paramref name="instruction"/>: its next instruction, or the process's when it ended.</summary>
    long? After(long thread, long instruction) =>
        _schedule.NextOf(t => t == thread, instruction + 1) ?? _schedule.NextOf(InProcess, instruction + 1);

    /// <summary>
    /// Runs forward (or back) to the first breakpoint or watchpoint hit of the process, or to the end
    /// (start) of its history. A breakpoint stops before the instruction at its address runs; a
    /// watchpoint forward just after the accessing instruction, backward just before it.
    /// </summary>
    public StopReason Continue(bool reverse) => reverse ? ContinueBackward() : ContinueForward();

    StopReason ContinueForward()
    {
        var from = Position;
        var last = _schedule.Instructions - 1;
        StopReason? reason = null;
        long stopAt = 0;
        foreach (var address in _breakpoints)
        {
            if (_session.Memory(address, address + 1, MemoryMask.Execute).FirstBetween(from, last, a => a.IP == address && InProcess(a.UniqueThreadId)) is not { } hit)
                continue;
            // Later hits cannot come first: the next searches end before this one.
            last = hit.InstrCount - 1;
            stopAt = hit.InstrCount;
            reason = new StopReason(StopKind.Breakpoint, hit.UniqueThreadId);
        }
        foreach (var (address, length, kind) in _watchpoints)
        {
            if (_session.Memory(address, address + length, Mask(kind)).FirstBetween(from, last, a => InProcess(a.UniqueThreadId)) is not { } hit
                || After(hit.UniqueThreadId, hit.InstrCount) is not { } after)
                continue;
            last = hit.InstrCount - 1;
            stopAt = after;
            reason = new StopReason(StopKind.Watchpoint, hit.UniqueThreadId, Math.Max(address, hit.Address), kind);
        }
        if (reason is null)
        {
            Move(_schedule.LastOf(InProcess, _schedule.Instructions) ?? Position);
            return new StopReason(StopKind.HistoryEnd, Thread);
        }
        Move(stopAt);
        return reason with { Thread = Thread };
    }

    StopReason ContinueBackward()
    {
        long first = 0;
        var before = Position - 1;
        StopReason? reason = null;
        long stopAt = 0;
        foreach (var address in _breakpoints)
        {
            if (_session.Memory(address, address + 1, MemoryMask.Execute).LastBetween(first, before, a => a.IP == address && InProcess(a.UniqueThreadId)) is not { } hit)
                continue;
            first = hit.InstrCount + 1;
            stopAt = hit.InstrCount;
            reason = new StopReason(StopKind.Breakpoint, hit.UniqueThreadId);
        }
        foreach (var (address, length, kind) in _watchpoints)
        {
            // Backward, the access is undone: the stop is before the accessing instruction runs.
            if (_session.Memory(address, address + length, Mask(kind)).LastBetween(first, before, a => InProcess(a.UniqueThreadId)) is not { } hit)
                continue;
            first = hit.InstrCount + 1;
            stopAt = hit.InstrCount;
            reason = new StopReason(StopKind.Watchpoint, hit.UniqueThreadId, Math.Max(address, hit.Address), kind);
        }
        if (reason is null)
        {
            Move(_schedule.NextOf(InProcess, 0) ?? Position);
            return new StopReason(StopKind.HistoryStart, Thread);
        }
        Move(stopAt);
        return reason with { Thread = Thread };
    }

    static MemoryMask Mask(WatchKind kind) => kind switch
    {
        WatchKind.Write => MemoryMask.Write,
        WatchKind.Read => MemoryMask.Read,
        _ => MemoryMask.Read | MemoryMask.Write,
    };

    /// <summary>
    /// The auxiliary vector from the process's initial stack (argc, argv, envp, then the vector), read
    /// where it first runs; a forked child inherits its parent's.
    /// </summary>
    byte[] ReadAuxv(long first)
    {
        var at = _cursor.Register(X86Register.Rsp);
        if (first != 0)
        {
            // A forked child's stack is its parent's: the vector is where the first process put it.
            _cursor.SeekTo(0);
            at = _cursor.Register(X86Register.Rsp);
        }
        var word = new byte[8];
        ulong Read(ulong address) => _cursor.TryReadMemory(address, word) ? BinaryPrimitives.ReadUInt64LittleEndian(word) : 0;
        var argc = Read(at);
        at += 8 * (argc + 2);
        while (Read(at) != 0)
            at += 8;
        at += 8;
        var vector = new List<byte>();
        for (var i = 0; i < 64; i++, at += 16)
        {
            var bytes = new byte[16];
            if (!_cursor.TryReadMemory(at, bytes))
                break;
            vector.AddRange(bytes);
            if (BinaryPrimitives.ReadUInt64LittleEndian(bytes) == 0)
                break;
        }
        _cursor.SeekTo(first);
        return [.. vector];
    }

    public void Dispose() => _cursor.Dispose();
}
