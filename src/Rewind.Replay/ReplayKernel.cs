using System.IO.Hashing;
using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Linux.Memory;
using Rewind.Linux.Signals;
using Rewind.Linux.Syscalls;
using Rewind.Trace;

namespace Rewind.Replay;

/// <summary>
/// Answers the guest from a trace: every syscall's result and effects, every time stamp, in the
/// order recorded. Anything that does not line up (another syscall, another instruction count,
/// other registers or pages at a keyframe) is a divergence.
/// </summary>
public sealed class ReplayKernel : Kernel
{
    readonly TraceReader _trace;
    readonly IEnumerator<TraceEvent> _events;
    readonly bool _verify;
    readonly long _endOfRecording;
    TraceEvent? _next;
    int _keyframe;

    /// <summary>Replays from the start, or from keyframe <paramref name="fromKeyframe"/> when given.</summary>
    public ReplayKernel(TraceReader trace, bool verify, int? fromKeyframe = null)
    {
        _trace = trace;
        _verify = verify;
        _keyframe = fromKeyframe ?? 0;
        _events = trace.Events(fromKeyframe is { } k ? trace.ReadKeyframe(k).EventIndex : 0).GetEnumerator();
        _endOfRecording = trace.Truncation is null ? long.MaxValue : trace.LastRecordedInstruction();
        Advance();
    }

    /// <summary>Receives what the program wrote to its stdout (1) and stderr (2), as it replays.</summary>
    public Action<int, ReadOnlyMemory<byte>>? Output { get; init; }

    /// <summary>Called after each replayed syscall.</summary>
    public SyscallReplayedCallback? SyscallReplayed { get; set; }

    /// <summary>Called after each replayed thread switch, with the event; the new thread is then the process's current one.</summary>
    public Action<ThreadSwitchEvent>? ThreadSwitched { get; set; }

    /// <summary>Keyframes checked so far (with verification on).</summary>
    public int KeyframesVerified { get; private set; }

    void Advance() => _next = _events.MoveNext() ? _events.Current : null;

    /// <summary>
    /// The next event, which must be a <typeparamref name="T"/> at <paramref name="instruction"/>.
    /// Null when a trace that was cut short ends here: the process is then halted.
    /// </summary>
    T? Take<T>(GuestProcess process, string what, long instruction) where T : TraceEvent
    {
        if (_next is T match && match.Instruction == instruction)
        {
            Advance();
            return match;
        }
        if (_next is null && _trace.Truncation is { } reason)
        {
            process.Halt($"the trace ends at instruction {instruction:N0} ({reason})");
            return null;
        }
        throw Diverged(process, $"the program made {what} at instruction {instruction:N0}, but the trace has {Describe(_next)}");
    }

    static string Describe(TraceEvent? traceEvent) => traceEvent switch
    {
        null => "nothing more",
        SyscallEvent s => $"syscall {SyscallNames.Name(s.Number)} at instruction {s.Instruction:N0}",
        TimeStampEvent t => $"a time stamp read at instruction {t.Instruction:N0}",
        ExitEvent e => $"an exit at instruction {e.Instruction:N0}",
        SignalEvent s => $"{(s.Handled ? "delivery of" : "termination by")} {SignalText.Name(s.Signal)} at instruction {s.Instruction:N0}",
        SignalArrivalEvent a => $"arrival of {SignalText.Name(a.Signal)} at instruction {a.Instruction:N0}",
        ThreadSwitchEvent t => $"a switch to thread #{t.Thread} after instruction {t.Instruction:N0}",
        _ => traceEvent.GetType().Name,
    };

    /// <summary>Sets up the program's initial state from the trace's start event.</summary>
    public void Start(GuestProcess process)
    {
        if (_next is not StartEvent start)
            throw new TraceFormatException("the trace has no start event");
        Advance();
        Apply(process, start.Effects);
        ScheduleNextStop(process);
    }

    /// <summary>
    /// Sets up the whole state recorded at keyframe <see cref="_keyframe"/>: every process with its mappings,
    /// memory, threads and their registers, the running one in the engine.
    /// </summary>
    public void Restore(GuestProcess process)
    {
        var keyframe = _trace.ReadKeyframe(_keyframe);
        foreach (var recorded in keyframe.AllProcesses)
        {
            var identity = recorded.Process;
            var state = process.RestoreProcess(identity.Pid, identity.ParentPid, identity.ProcessGroup, identity.Session);
            var memory = state.Memory;
            foreach (var m in recorded.Mappings)
            {
                var mapped = memory.Map(m.Start, m.End - m.Start, (Protection)m.Protection, fixedAddress: true, m.Shared, fileOffset: m.FileOffset, path: m.Path, label: m.Label);
                if (mapped < 0)
                    throw new TraceFormatException($"keyframe {_keyframe} has a mapping at 0x{m.Start:x} of process {identity.Pid} that cannot be restored");
            }
            foreach (var (address, blob) in _trace.PagesAt(_keyframe, identity.Pid))
            {
                if (memory.Find(address) is not null)
                    memory.Poke(address, _trace.ReadBlob(blob).Span);
            }
            memory.RestoreBrk(recorded.BrkStart, recorded.Brk);
            state.Name = recorded.Name;
            state.ExecutablePath = identity.ExecutablePath;
            process.RestoreThreads(state, recorded.Threads.Select(t => (t.Tid, t.UniqueId, t.Registers, t.SignalMask)), recorded.CurrentThread);
            SignalSnapshot.Restore(state, recorded.Signals);
            state.CurrentThread.Context = recorded.Registers;
        }
        process.AttachProcess(process.FindProcess(keyframe.Process.Pid)!);
        process.Counter.Instructions = keyframe.Instruction;
        ScheduleNextStop(process);
    }

    /// <summary>
    /// The next block starts that need attention: the next keyframe, the instruction count at
    /// which the recording was ended from outside (Ctrl-C, kill), which replay must reproduce,
    /// the next signal arrival and the next thread switch.
    /// </summary>
    void ScheduleNextStop(GuestProcess process)
    {
        process.Counter.NextSwitch = _next is ThreadSwitchEvent threadSwitch ? threadSwitch.Instruction + 1 : long.MaxValue;
        var keyframe = _keyframe < _trace.KeyframeCount ? _trace.KeyframeInstructions[_keyframe] : long.MaxValue;
        var termination = _next is SignalEvent { Handled: false } signal ? signal.Instruction : long.MaxValue;
        process.Counter.NextKeyframe = Math.Min(Math.Min(keyframe, termination), _endOfRecording);
        process.Counter.NextInterrupt = _next is SignalArrivalEvent arrival ? arrival.Instruction : long.MaxValue;
    }

    // ---- signals: arrivals come from the trace, deliveries are recomputed and checked ----

    public override void SignalArrived(GuestProcess process, int targetPid, in SignalInfo info, long targetThread)
    {
        // The recording logged it; it becomes pending when replay reaches that arrival event.
    }

    public override void CollectSignals(GuestProcess process)
    {
        while (_next is SignalArrivalEvent arrival && arrival.Instruction <= process.Instructions)
        {
            if (arrival.Instruction < process.Instructions)
                throw Diverged(process, $"{SignalText.Name(arrival.Signal)} arrived at instruction {arrival.Instruction:N0}, which replay passed without a block starting there");
            Advance();
            if (process.FindProcess(arrival.TargetPid) is not { } target)
                throw Diverged(process, $"{SignalText.Name(arrival.Signal)} arrived for process {arrival.TargetPid}, which does not exist here");
            var thread = arrival.TargetThread == 0 ? null
                : target.Threads.Find(t => t.UniqueId == arrival.TargetThread)
                    ?? throw Diverged(process, $"{SignalText.Name(arrival.Signal)} arrived for thread #{arrival.TargetThread}, which does not exist here");
            process.Raise(target, new SignalInfo(arrival.Signal, arrival.Code, SenderPid: arrival.SenderPid, SenderUid: arrival.SenderUid), thread);
        }
        ScheduleNextStop(process);
    }

    public override bool WaitForSignal(GuestProcess process, TimeSpan timeout)
    {
        if (_next is null && _trace.Truncation is { } reason)
            process.Halt($"the trace ends at instruction {process.Instructions:N0} ({reason})");
        return _next is SignalArrivalEvent arrival && arrival.Instruction == process.Instructions;
    }

    public override void SignalHandled(GuestProcess process, in SignalInfo info, ulong pc)
    {
        var name = SignalText.Name(info.Signal);
        if (Take<SignalEvent>(process, $"a delivery of {name}", process.Instructions) is not { } recorded)
            return;
        if (!recorded.Handled || recorded.Signal != info.Signal || recorded.Pc != pc)
            throw Diverged(process, $"the program got {name} at pc 0x{pc:x}, but the trace has {Describe(recorded)} at pc 0x{recorded.Pc:x}");
        ScheduleNextStop(process);
    }

    public override long Syscall(GuestProcess process, long number, in SyscallArgs args)
    {
        var instruction = process.Instructions - 1;
        // Signals that arrived during the syscall (its own kill, a timer while it waited) precede it in the trace.
        CollectSignals(process);
        long? again = Linux.Syscalls.Signals.RunsAgainInReplay(number) ? SyscallTable.Find(number)!(process, args) : null;
        if (Take<SyscallEvent>(process, $"syscall {SyscallNames.Name(number)}", instruction) is not { } recorded)
            return 0;
        if (recorded.Number != number)
            throw Diverged(process, $"the program made syscall {SyscallNames.Name(number)} at instruction {instruction:N0}, but the trace has {SyscallNames.Name(recorded.Number)}");
        if (again is { } result && result != recorded.Result)
            throw Diverged(process, $"syscall {SyscallNames.Name(number)} at instruction {instruction:N0} returned {result} again, but {recorded.Result} in the recording");
        Apply(process, recorded.Effects);
        Echo(process, number, args, recorded);
        SyscallReplayed?.Invoke(recorded, args);
        ScheduleNextStop(process);

        if (_next is ExitEvent exit && exit.Instruction == instruction)
        {
            Advance();
            process.Exit(exit.Status);
        }
        else if (_next is SignalEvent { Handled: false } signal && signal.Instruction == process.Instructions)
        {
            // Ended right after this syscall, once it has returned (its result is in RAX); Ended checks the event.
            process.RequestTermination((Signal)signal.Signal);
        }
        return recorded.Result;
    }

    public override ulong TimeStampCounter(GuestProcess process, long instruction)
    {
        var value = Take<TimeStampEvent>(process, "a time stamp read", instruction)?.Value ?? 0;
        ScheduleNextStop(process);
        return value;
    }

    /// <summary>The trace says which thread runs after a process ended (the next switch).</summary>
    public override void ProcessEnded(GuestProcess process, ProcessState ended)
    {
    }

    /// <summary>Makes the switch the trace recorded here, to the thread it names.</summary>
    public override bool SwitchDue(GuestProcess process, ulong pc)
    {
        if (Take<ThreadSwitchEvent>(process, "a thread switch", process.Instructions - 1) is not { } recorded)
            return false;
        var next = process.FindThread(recorded.Thread)
            ?? throw Diverged(process, $"the trace switches to thread #{recorded.Thread}, which does not exist here");
        process.SwitchTo(next, pc, recorded.Result);
        ScheduleNextStop(process);
        ThreadSwitched?.Invoke(recorded);
        return true;
    }

    public override void KeyframeDue(GuestProcess process, ulong pc)
    {
        if (process.Instructions >= _endOfRecording && _next is null)
        {
            // Past here the trace has nothing to check the replay against.
            process.Halt($"the trace ends at instruction {process.Instructions:N0} ({_trace.Truncation})");
            return;
        }
        if (_next is SignalEvent { Handled: false } signal && signal.Instruction <= process.Instructions)
        {
            Advance();
            process.Terminate((Signal)signal.Signal, signal.Address, signal.Code);
            return;
        }
        if (_keyframe >= _trace.KeyframeCount || _trace.KeyframeInstructions[_keyframe] > process.Instructions)
        {
            ScheduleNextStop(process);
            return;
        }
        var keyframe = _trace.ReadKeyframe(_keyframe);
        if (_verify)
        {
            if (keyframe.Instruction != process.Instructions)
                throw Diverged(process, $"keyframe {_keyframe} was recorded at instruction {keyframe.Instruction:N0}, replay is at {process.Instructions:N0}");
            var registers = RegisterFile.Capture(process.Cpu, pc);
            var differences = RegisterFile.Differences(keyframe.Registers, registers).ToList();
            if (process.Pid != keyframe.Process.Pid)
                differences.Add($"process {process.Pid} runs, not {keyframe.Process.Pid}");
            foreach (var recorded in keyframe.AllProcesses)
            {
                if (process.FindProcess(recorded.Process.Pid) is not { IsGone: false } state)
                {
                    differences.Add($"process {recorded.Process.Pid} does not exist");
                    continue;
                }
                if (state != process.CurrentProcess && state.CurrentThread.Context is { } saved)
                    differences.AddRange(RegisterFile.Differences(recorded.Registers, saved).Select(d => $"process {state.Pid}: {d}"));
                differences.AddRange(ThreadDifferences(state, recorded));
                foreach (var page in recorded.ChangedPages)
                {
                    var bytes = new byte[AddressSpace.PageSize];
                    if (!state.Memory.Peek(page.Address, bytes) || XxHash128.HashToUInt128(bytes) != page.Blob)
                        differences.Add($"page 0x{page.Address:x} of process {state.Pid} has other contents");
                }
            }
            if (differences.Count > 0)
                throw Diverged(process, $"keyframe {_keyframe} at instruction {keyframe.Instruction:N0} differs: {string.Join("; ", differences.Take(8))}");
            KeyframesVerified++;
        }
        _keyframe++;
        ScheduleNextStop(process);
    }

    /// <summary>Which threads of a process exist, which one runs, and the saved registers of the others, against a keyframe.</summary>
    static IEnumerable<string> ThreadDifferences(ProcessState process, Keyframe keyframe)
    {
        if (process.CurrentThread.UniqueId != keyframe.CurrentThread)
            yield return $"thread #{process.CurrentThread.UniqueId} runs, not #{keyframe.CurrentThread}";
        if (process.Threads.Count != keyframe.Threads.Count)
            yield return $"{process.Threads.Count} threads exist, not {keyframe.Threads.Count}";
        foreach (var recorded in keyframe.Threads)
        {
            if (process.Threads.Find(t => t.UniqueId == recorded.UniqueId) is not { } thread)
            {
                yield return $"thread #{recorded.UniqueId} does not exist";
                continue;
            }
            if (thread.Tid != recorded.Tid)
                yield return $"thread #{recorded.UniqueId} has tid {thread.Tid}, not {recorded.Tid}";
            if (thread.Context is { } context && thread != process.CurrentThread)
            {
                foreach (var difference in RegisterFile.Differences(recorded.Registers, context))
                    yield return $"thread #{recorded.UniqueId}: {difference}";
            }
        }
    }

    /// <summary>Hash of the final state replay reached (see <see cref="StateHash"/>).</summary>
    public UInt128? FinalStateHash { get; private set; }

    public override void Ended(GuestProcess process, ExitStatus status)
    {
        if (status.EndOfTrace is null)
        {
            FinalStateHash = StateHash.Of(process);
            if (_trace.End is { } end && end.StateHash != FinalStateHash)
                throw Diverged(process, $"the final state differs from the recording's (hash {FinalStateHash:x32}, recorded {end.StateHash:x32})");
        }
        if (status.Signal is not null && _next is null)
            return; // a termination the trace asked for, already taken
        if (status.Signal is { } signal && _next is SignalEvent { Handled: false } recorded && recorded.Instruction == status.Instructions)
        {
            Advance();
            if ((Signal)recorded.Signal != signal || recorded.Pc != status.FaultPc)
                throw Diverged(process, $"the program got {signal} at pc 0x{status.FaultPc:x}, but the trace has {(Signal)recorded.Signal} at pc 0x{recorded.Pc:x}");
        }
        else if (status.Signal is { } unexpected && status.EndOfTrace is null)
        {
            throw Diverged(process, $"the program got {unexpected} at instruction {status.Instructions:N0}, but the trace has {Describe(_next)}");
        }
    }

    /// <summary>Re-applies what the kernel side did, in the recorded order.</summary>
    public void Apply(GuestProcess process, IReadOnlyList<Effect> effects)
    {
        var memory = process.Memory;
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case MemoryWrite write:
                    memory.Poke(write.Address, write.Data);
                    break;
                case MemoryBlobWrite blob:
                    memory.Poke(blob.Address, _trace.ReadBlob(blob.Blob).Span);
                    break;
                case MapEffect map:
                    var mapped = memory.Map(map.Address, map.Length, (Protection)map.Protection, fixedAddress: true, map.Shared,
                        fileOffset: map.FileOffset, path: map.Path, label: map.Label);
                    if (mapped < 0)
                        throw Diverged(process, $"cannot map 0x{map.Address:x}+0x{map.Length:x} again (errno {-mapped})");
                    for (var i = 0; i < map.Pages.Count; i++)
                        memory.Poke(map.Address + (ulong)i * AddressSpace.PageSize, _trace.ReadBlob(map.Pages[i]).Span);
                    break;
                case UnmapEffect unmap:
                    memory.Unmap(unmap.Address, unmap.Length);
                    break;
                case ProtectEffect protect:
                    memory.Protect(protect.Address, protect.Length, (Protection)protect.Protection);
                    break;
                case RemapEffect remap:
                    memory.Remap(remap.OldAddress, remap.OldLength, remap.NewLength, mayMove: true, remap.NewAddress, isFixed: remap.NewAddress != remap.OldAddress);
                    break;
                case BrkEffect brk:
                    memory.SetBrk(brk.Value);
                    break;
                case InitBrkEffect init:
                    memory.InitializeBrk(init.Value);
                    break;
                case DiscardEffect discard:
                    memory.Discard(discard.Address, discard.Length);
                    break;
                case RegisterEffect register:
                    process.Cpu.Write((X86Register)register.Register, register.Value);
                    break;
                case NameEffect name:
                    process.Name = name.Name;
                    break;
                case ExecEffect exec:
                    process.StartNewImage(exec.Path, exec.Arguments);
                    break;
                case ThreadCreatedEffect created:
                    // As clone does: the new thread starts with its creator's signal mask.
                    process.AddThread(created.Tid, created.UniqueId, created.Registers, process.Signals.BlockedMask);
                    break;
                case ThreadExitedEffect exited:
                    if (process.CurrentThread.UniqueId != exited.UniqueId)
                        throw Diverged(process, $"thread #{process.CurrentThread.UniqueId} runs, but the trace ends thread #{exited.UniqueId}");
                    process.EndCurrentThread();
                    break;
                case ProcessCreatedEffect created:
                    if (process.Fork(created.Pid, created.UniqueId, created.Registers, created.SetTidAt, created.ClearTidAt) is null)
                        throw new InsufficientMemoryException($"no host memory to copy process {process.Pid} for its child {created.Pid}");
                    break;
                case ProcessExitedEffect exited:
                    process.EndProcess(exited.WaitStatus);
                    break;
                case ProcessLeftEffect:
                    process.LeaveEngine(hostPid: -1);
                    break;
                case OutputEffect:
                    break; // for Echo
                case ImageEffect:
                    break; // for symbols
            }
        }
    }

    /// <summary>Reproduces the program's output: the bytes a write or writev sent to Rewind's own stdout or stderr.</summary>
    void Echo(GuestProcess process, long number, in SyscallArgs args, SyscallEvent recorded)
    {
        if (Output is null || recorded.Result <= 0 || recorded.Effects.OfType<OutputEffect>().FirstOrDefault() is not { } output)
            return;
        var result = recorded.Result;
        if (number == (long)SyscallNumber.write)
        {
            var bytes = new byte[result];
            if (process.Memory.Peek(args.A1, bytes))
                Output(output.Stream, bytes);
        }
        else if (number == (long)SyscallNumber.writev)
        {
            var bytes = new List<byte>();
            for (var i = 0UL; i < args.A2 && bytes.Count < result; i++)
            {
                if (!process.Memory.TryRead(args.A1 + i * 16, out ulong vectorBase) || !process.Memory.TryRead(args.A1 + i * 16 + 8, out ulong length))
                    break;
                var piece = new byte[Math.Min((long)length, result - bytes.Count)];
                process.Memory.Peek(vectorBase, piece);
                bytes.AddRange(piece);
            }
            Output(output.Stream, bytes.ToArray());
        }
    }

    static DivergenceException Diverged(GuestProcess process, string what)
    {
        var pc = process.Cpu.Read(X86Register.Rip);
        return new DivergenceException(what, process.Instructions, pc, Disassembly.At(process.Memory, pc));
    }
}

/// <summary>Replay did not follow the recording: where, and what differed.</summary>
public sealed class DivergenceException(string what, long instruction, ulong pc, string disassembly)
    : Exception($"replay diverged at instruction {instruction:N0}, pc 0x{pc:x} ({disassembly.Trim()}): {what}")
{
    public long Instruction { get; } = instruction;
    public ulong Pc { get; } = pc;
    public string Disassembly { get; } = disassembly;
}
