using Rewind.Linux.Execution;
using Rewind.Linux.Syscalls;
using Rewind.Trace;
using Rewind.Trace.Positions;

namespace Rewind.Query.Introspection;

/// <summary>
/// What the trace says about its process, threads and modules, and the events TTD lists for them,
/// built from the trace's events in one pass (no replay): the C# side of <c>rewind events</c>,
/// <c>threads</c>, <c>modules</c> and memorymap, and of <c>@$curprocess.TTD.Events</c>,
/// <c>.TTD.Threads</c> and <c>.Modules</c> in dx.
/// </summary>
/// <remarks>
/// Modules come from the file-backed mappings: the mappings of one file form a module once one
/// of them is executable (see <see cref="ModuleInfo"/>). The program and its interpreter are
/// mapped by the start event, so they are loaded at the first position. Threads come from the
/// clone syscalls that created them, the exit syscalls that ended them and the switch events
/// between them; the main thread's tid is the pid.
/// </remarks>
public sealed class TraceModel
{
    TraceModel(Timeline timeline, ProcessInfo process, IReadOnlyList<ThreadInfo> threads, IReadOnlyList<ModuleInfo> modules,
        IReadOnlyList<TimelineEvent> events, ModuleMap moduleMap)
    {
        Timeline = timeline;
        Process = process;
        Threads = threads;
        Modules = modules;
        Events = events;
        ModuleMap = moduleMap;
    }

    /// <summary>The trace's positions (Sequence:Steps) and instruction counts.</summary>
    public Timeline Timeline { get; }

    public ProcessInfo Process { get; }

    /// <summary>Threads in creation order (UniqueId 1, 2, ...).</summary>
    public IReadOnlyList<ThreadInfo> Threads { get; }

    /// <summary>Every module the trace loaded, in load order; <see cref="ModuleInfo.Index"/> is the index here.</summary>
    public IReadOnlyList<ModuleInfo> Modules { get; }

    /// <summary>Thread, module, exception and exit events in execution order.</summary>
    public IReadOnlyList<TimelineEvent> Events { get; }

    /// <summary>Which module holds an address at an instruction count.</summary>
    public ModuleMap ModuleMap { get; }

    /// <summary>Modules loaded at <paramref name="position"/> (see <see cref="ModuleInfo.IsLoadedAt"/>).</summary>
    public IEnumerable<ModuleInfo> ModulesAt(Position position) => Modules.Where(m => m.IsLoadedAt(position));

    /// <summary>The module that holds <paramref name="address"/> while instruction <paramref name="instruction"/> runs, or null.</summary>
    public ModuleInfo? ModuleAt(ulong address, long instruction) =>
        ModuleMap.Find(address, instruction) is var index and >= 0 ? Modules[index] : null;

    /// <summary>Reads the events of <paramref name="trace"/> once and builds the model.</summary>
    public static TraceModel Build(TraceReader trace)
    {
        var tracker = new MappingTracker();
        var sequencing = new List<long>();
        var names = new List<(string Name, long At, long From)>();
        var threads = new ThreadTracker(trace.Header.ProcessId);
        string? executable = null;
        int? parent = null;
        ExitEvent? exit = null;
        SignalEvent? signal = null;
        var delivered = new List<SignalEvent>();
        var images = new Dictionary<string, ImageEffect>(StringComparer.Ordinal);
        var imagesAt = new Dictionary<int, ImageEffect>();
        long last = 0;

        foreach (var traceEvent in trace.Events())
        {
            last = Math.Max(last, traceEvent.Instruction);
            IReadOnlyList<Effect> effects;
            long from;
            switch (traceEvent)
            {
                case StartEvent start:
                    effects = start.Effects;
                    from = 0;
                    // The loader maps the program first, then its interpreter.
                    executable ??= start.Effects.OfType<MapEffect>().FirstOrDefault(m => m.Path is not null)?.Path;
                    break;
                case SyscallEvent syscall:
                    sequencing.Add(syscall.Instruction);
                    var inFirstProcess = threads.CurrentPid == trace.Header.ProcessId;
                    threads.Apply(syscall);
                    // Names, modules and the parent are the first process's; its children show in memorymap.
                    if (!inFirstProcess)
                        continue;
                    effects = syscall.Effects;
                    from = syscall.Instruction + 1;
                    if (syscall.Number == (int)SyscallNumber.getppid && parent is null && syscall.Result > 0)
                        parent = (int)syscall.Result;
                    break;
                case ThreadSwitchEvent threadSwitch:
                    sequencing.Add(threadSwitch.Instruction);
                    threads.Switch(threadSwitch);
                    continue;
                case ExitEvent exitEvent:
                    sequencing.Add(exitEvent.Instruction);
                    exit = exitEvent;
                    continue;
                case SignalEvent signalEvent:
                    sequencing.Add(signalEvent.Instruction);
                    delivered.Add(signalEvent);
                    if (!signalEvent.Handled)
                        signal = signalEvent;
                    continue;
                default:
                    continue;
            }
            foreach (var effect in effects)
            {
                if (effect is NameEffect name)
                {
                    if (names.Count == 0 || names[^1].Name != name.Name)
                        names.Add((name.Name, traceEvent.Instruction, from));
                }
                else if (effect is ImageEffect image)
                {
                    images[image.Path] = image;
                }
                else if (effect is ExecEffect exec)
                {
                    executable = exec.Path;
                    tracker.UnloadAll(traceEvent.Instruction, from);
                }
                else
                {
                    tracker.Apply(effect);
                }
            }
            var known = tracker.Modules.Count;
            tracker.EndEvent(traceEvent.Instruction, from);
            // A module's image is the one stored for its file when it was loaded.
            for (var m = known; m < tracker.Modules.Count; m++)
            {
                if (images.TryGetValue(tracker.Modules[m].Path, out var stored))
                    imagesAt[m] = stored;
            }
        }

        var instructions = trace.End?.Instructions ?? Math.Max(last, trace.LastRecordedInstruction());
        var timeline = new Timeline(sequencing, instructions);
        Position At(long instruction) => timeline.At(Math.Clamp(instruction, 0, Math.Max(0, timeline.Instructions - 1)));
        var lifetime = timeline.Lifetime;

        var header = trace.Header;
        if (names.Count == 0)
            names.Add((TaskNameOf(header.Program), 0, 0));
        var process = new ProcessInfo
        {
            Id = header.ProcessId,
            ParentId = parent,
            ExecutablePath = executable ?? header.Program,
            Names = names.Select(n => new TaskName(n.Name, At(n.At), n.From)).ToArray(),
            Lifetime = new Lifetime(lifetime.Start, lifetime.End),
        };
        var ended = exit is not null || signal is not null || trace.End is not null;
        var threadInfos = threads.Finish(instructions, At);

        var modules = new ModuleInfo[tracker.Modules.Count];
        for (var i = 0; i < modules.Length; i++)
        {
            var draft = tracker.Modules[i];
            modules[i] = new ModuleInfo
            {
                Index = i,
                Name = Path.GetFileName(draft.Path),
                Path = draft.Path,
                Address = draft.Base,
                Size = draft.End - draft.Base,
                Loaded = At(draft.LoadedAt),
                Unloaded = draft.UnloadedAt is { } unloaded ? At(unloaded) : null,
                LoadedFromInstruction = draft.LoadedFrom,
                UnloadedFromInstruction = draft.UnloadedFrom,
                Image = imagesAt.GetValueOrDefault(i),
            };
        }

        var events = new List<TimelineEvent>();
        foreach (var (thread, terminated) in threadInfos)
        {
            events.Add(new TimelineEvent(TimelineEventType.ThreadCreated, thread.Lifetime.Start) { Thread = thread });
            if (terminated || ended)
                events.Add(new TimelineEvent(TimelineEventType.ThreadTerminated, thread.Lifetime.End) { Thread = thread });
        }
        foreach (var module in modules)
        {
            events.Add(new TimelineEvent(TimelineEventType.ModuleLoaded, module.Loaded) { Module = module });
            if (module.Unloaded is { } unloaded)
                events.Add(new TimelineEvent(TimelineEventType.ModuleUnloaded, unloaded) { Module = module });
        }
        foreach (var delivery in delivered)
        {
            events.Add(new TimelineEvent(TimelineEventType.Exception, At(delivery.Instruction))
            {
                Exception = new ExceptionInfo(SignalText.Name(delivery.Signal), delivery.Signal, delivery.Pc, delivery.Address, delivery.Code, delivery.Handled),
            });
        }
        foreach (var (pid, at, code) in threads.ChildExits)
            events.Add(new TimelineEvent(TimelineEventType.ProcessExit, At(at)) { ExitCode = code, ProcessId = pid });
        if (exit is not null)
            events.Add(new TimelineEvent(TimelineEventType.ProcessExit, At(exit.Instruction)) { ExitCode = exit.Status, ProcessId = header.ProcessId });
        else if (signal is not null)
            events.Add(new TimelineEvent(TimelineEventType.ProcessExit, At(signal.Instruction)) { ProcessId = header.ProcessId }); // no exit code: the Exception says why

        // Execution order; at one position: creation, unloads (an exec's old image), loads, the exception, then the endings.
        var ordered = events.Select((e, i) => (Event: e, Order: i))
            .OrderBy(e => e.Event.Position.Instruction).ThenBy(e => Rank(e.Event.Type)).ThenBy(e => e.Order)
            .Select(e => e.Event).ToArray();
        return new TraceModel(timeline, process, threadInfos.Select(t => t.Thread).ToArray(), modules, ordered, tracker.BuildMap());
    }

    static int Rank(TimelineEventType type) => type switch
    {
        TimelineEventType.ThreadCreated => 0,
        TimelineEventType.ModuleUnloaded => 1,
        TimelineEventType.ModuleLoaded => 2,
        TimelineEventType.Exception => 3,
        TimelineEventType.ThreadTerminated => 4,
        _ => 5,
    };

    static string TaskNameOf(string program)
    {
        var name = Path.GetFileName(program);
        return name.Length > 15 ? name[..15] : name;
    }

    /// <summary>
    /// Follows the threads of every process through the events: created by clone or fork (at its syscall),
    /// ended by exit or their process's exit, and running between the switches; the main thread runs first.
    /// </summary>
    sealed class ThreadTracker
    {
        sealed class Draft(long uniqueId, int tid, int pid, long created)
        {
            public long UniqueId { get; } = uniqueId;
            public int Tid { get; } = tid;
            public int Pid { get; } = pid;
            public long Created { get; } = created;
            public long? Terminated { get; set; }
            public long? FirstRun { get; set; }
            public long LastRun { get; set; } = -1;
        }

        readonly List<Draft> _threads = [];
        Draft _current;
        long _runStart;

        public ThreadTracker(int mainTid)
        {
            _current = new Draft(1, mainTid, mainTid, 0) { FirstRun = 0 };
            _threads.Add(_current);
        }

        /// <summary>The process of the thread that runs.</summary>
        public int CurrentPid => _current.Pid;

        /// <summary>Children that exited while the run went on: pid, the exit syscall's instruction, exit code.</summary>
        public List<(int Pid, long Instruction, int ExitCode)> ChildExits { get; } = [];

        public void Apply(SyscallEvent syscall)
        {
            foreach (var effect in syscall.Effects)
            {
                switch (effect)
                {
                    case ThreadCreatedEffect created:
                        _threads.Add(new Draft(created.UniqueId, created.Tid, _current.Pid, syscall.Instruction));
                        break;
                    case ProcessCreatedEffect forked:
                        _threads.Add(new Draft(forked.UniqueId, forked.Pid, forked.Pid, syscall.Instruction));
                        break;
                    case ThreadExitedEffect exited when Find(exited.UniqueId) is { } thread:
                        thread.Terminated = syscall.Instruction;
                        break;
                    case ProcessExitedEffect exited:
                        foreach (var thread in _threads.Where(t => t.Pid == _current.Pid && t.Terminated is null))
                            thread.Terminated = syscall.Instruction;
                        ChildExits.Add((_current.Pid, syscall.Instruction, exited.WaitStatus >> 8 & 0xff));
                        break;
                }
            }
        }

        public void Switch(ThreadSwitchEvent threadSwitch)
        {
            EndRun(threadSwitch.Instruction);
            _current = Find(threadSwitch.Thread) ?? _current;
            _current.FirstRun ??= threadSwitch.Instruction + 1;
            _runStart = threadSwitch.Instruction + 1;
        }

        void EndRun(long last)
        {
            if (last >= _runStart)
                _current.LastRun = last;
        }

        Draft? Find(long uniqueId) => _threads.Find(t => t.UniqueId == uniqueId);

        /// <summary>The threads in creation order, and whether each ended before the process did.</summary>
        public (ThreadInfo Thread, bool Terminated)[] Finish(long instructions, Func<long, Position> at)
        {
            EndRun(instructions - 1);
            return _threads.OrderBy(t => t.UniqueId).Select(t =>
            {
                var end = t.Terminated ?? Math.Max(t.Created, instructions - 1);
                var active = t.FirstRun is { } first
                    ? new Lifetime(at(first), at(Math.Max(first, t.LastRun)))
                    : new Lifetime(at(t.Created), at(t.Created));
                return (new ThreadInfo(t.UniqueId, t.Tid, new Lifetime(at(t.Created), at(end)), active, t.Pid), t.Terminated is not null);
            }).ToArray();
        }
    }
}
