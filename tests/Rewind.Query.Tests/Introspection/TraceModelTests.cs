using Rewind.Query.Introspection;
using Rewind.Trace;
using Rewind.Trace.Positions;

namespace Rewind.Query.Tests.Introspection;

/// <summary>
/// The model built from hand-written traces: how file mappings group into modules, when modules
/// load and unload, and which module holds an address at each instruction.
/// </summary>
public sealed class TraceModelTests : IDisposable
{
    const int Read = 1, Write = 2, Exec = 4;
    readonly string _folder = Directory.CreateTempSubdirectory("rewind-model-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static MapEffect Map(ulong address, ulong length, int protection, string? path, ulong offset = 0) =>
        new(address, length, protection, false, path, offset, null, []);

    /// <summary>Writes a trace of <paramref name="events"/> (after a start event with <paramref name="start"/>) that ends at <paramref name="instructions"/>.</summary>
    TraceModel Build(IReadOnlyList<Effect> start, IEnumerable<TraceEvent> events, long instructions)
    {
        var path = Path.Combine(_folder, $"{Guid.NewGuid():N}.rwd");
        var header = new TraceHeader
        {
            Program = "/bin/prog",
            Arguments = ["/bin/prog"],
            Environment = [],
            WorkingDirectory = "/",
            EngineVersion = "test",
            CpuModel = "test",
            StartTime = DateTimeOffset.UnixEpoch,
            ProcessId = 4242,
            KeyframeInterval = 1000,
        };
        using (var file = File.Create(path))
        using (var writer = new TraceWriter(file, header))
        {
            writer.Append(new StartEvent(start));
            foreach (var e in events)
                writer.Append(e);
            writer.Complete(new TraceEnd(instructions, writer.EventCount, DateTimeOffset.UnixEpoch, 0, []));
        }
        using var reader = TraceReader.Open(path);
        return TraceModel.Build(reader);
    }

    static readonly Effect[] ProgramAndName =
    [
        Map(0x400000, 0x1000, Read, "/bin/prog"),
        Map(0x401000, 0x2000, Read | Exec, "/bin/prog", 0x1000),
        Map(0x403000, 0x1000, Read | Write, "/bin/prog", 0x3000),
        Map(0x404000, 0x1000, Read | Write, null), // .bss
        new NameEffect("prog"),
    ];

    static SyscallEvent Syscall(long instruction, params Effect[] effects) => new(instruction, 9, 0, false, effects);

    [Fact]
    public void A_library_loads_at_its_first_executable_mapping_with_the_base_of_its_offset_0_mapping()
    {
        var model = Build(ProgramAndName,
        [
            Syscall(100, Map(0x7000_0000, 0x5000, Read, "/lib/libx.so")),                  // the whole file, read-only
            Syscall(110, Map(0x7000_1000, 0x2000, Read | Exec, "/lib/libx.so", 0x1000)),  // its code
            Syscall(120, Map(0x7000_4000, 0x1000, Read | Write, "/lib/libx.so", 0x4000)),
            Syscall(200, new UnmapEffect(0x7000_0000, 0x5000)),
            new ExitEvent(300, 0),
        ], 301);

        Assert.Equal(2, model.Modules.Count);
        var program = model.Modules[0];
        Assert.Equal(("prog", "/bin/prog", 0x400000UL, 0x4000UL), (program.Name, program.Path, program.Address, program.Size));
        Assert.Equal(new Position(0, 0, 0), program.Loaded);
        Assert.Null(program.Unloaded);

        var library = model.Modules[1];
        Assert.Equal(("libx.so", 0x7000_0000UL, 0x5000UL), (library.Name, library.Address, library.Size));
        Assert.Equal(model.Timeline.At(110), library.Loaded);
        Assert.Equal(111, library.LoadedFromInstruction);
        Assert.Equal(model.Timeline.At(200), library.Unloaded);
        Assert.Equal(201, library.UnloadedFromInstruction);

        Assert.Null(model.ModuleAt(0x7000_1500, 110));        // the syscall that maps it has not finished
        Assert.Equal(library, model.ModuleAt(0x7000_1500, 111));
        Assert.Equal(library, model.ModuleAt(0x7000_0010, 150)); // its read-only header belongs to it too
        Assert.Null(model.ModuleAt(0x7000_1500, 201));
        Assert.Equal(program, model.ModuleAt(0x401234, 0));
        Assert.Null(model.ModuleAt(0x404010, 50));             // .bss is anonymous

        Assert.False(library.IsLoadedAt(model.Timeline.At(109)));
        Assert.True(library.IsLoadedAt(model.Timeline.At(110)));
        Assert.True(library.IsLoadedAt(model.Timeline.At(199)));
        Assert.False(library.IsLoadedAt(model.Timeline.At(200)));
        Assert.Equal([program], model.ModulesAt(model.Timeline.At(250)));
    }

    [Fact]
    public void Events_come_in_execution_order_with_their_positions()
    {
        var model = Build(ProgramAndName,
        [
            Syscall(10, Map(0x7000_0000, 0x1000, Read | Exec, "/lib/liby.so")),
            Syscall(20, new UnmapEffect(0x7000_0000, 0x1000)),
            new ExitEvent(30, 7),
        ], 31);

        Assert.Equal(
            [TimelineEventType.ThreadCreated, TimelineEventType.ModuleLoaded, TimelineEventType.ModuleLoaded, TimelineEventType.ModuleUnloaded,
             TimelineEventType.ThreadTerminated, TimelineEventType.ProcessExit],
            model.Events.Select(e => e.Type));
        Assert.Equal(["0:0", "0:0", "0:A", "1:9", "2:9", "2:9"], model.Events.Select(e => e.Position.ToString()));
        Assert.Equal(7, model.Events[^1].ExitCode);
        Assert.Equal("liby.so", model.Events[3].Module!.Name);

        var thread = Assert.Single(model.Threads);
        Assert.Equal((1L, 4242), (thread.UniqueId, thread.Id));
        Assert.Equal(model.Timeline.Lifetime.Start, thread.Lifetime.Start);
        Assert.Equal(model.Timeline.Lifetime.End, thread.Lifetime.End);
        Assert.Equal(4242, model.Process.Id);
        Assert.Equal("/bin/prog", model.Process.ExecutablePath);
    }

    [Fact]
    public void A_signal_is_an_exception_and_ends_the_process_without_an_exit_code()
    {
        var model = Build(ProgramAndName, [new SignalEvent(50, 11, 0x401010, 0x8)], 50);
        var exception = Assert.Single(model.Events, e => e.Type == TimelineEventType.Exception);
        Assert.Equal(new ExceptionInfo("SIGSEGV", 11, 0x401010, 0x8), exception.Exception);
        Assert.Equal(model.Timeline.At(49), exception.Position); // the faulting instruction did not complete
        Assert.Equal(TimelineEventType.ProcessExit, model.Events[^1].Type);
        Assert.Null(model.Events[^1].ExitCode);
    }

    [Fact]
    public void Every_delivered_signal_is_an_exception_and_only_an_unhandled_one_ends_the_process()
    {
        var model = Build(ProgramAndName,
        [
            new SignalEvent(20, 8, 0x401100, 0x401100, Code: 1, Handled: true),
            new SignalArrivalEvent(30, 14, 0x80, 0, 0, 0, 0),
            new SignalEvent(30, 14, 0x401200, 0, Code: 0x80, Handled: true),
            new ExitEvent(60, 0),
        ], 61);
        var exceptions = model.Events.Where(e => e.Type == TimelineEventType.Exception).Select(e => e.Exception!).ToArray();
        Assert.Equal(
            [new ExceptionInfo("SIGFPE", 8, 0x401100, 0x401100, 1, Handled: true), new ExceptionInfo("SIGALRM", 14, 0x401200, 0, 0x80, Handled: true)],
            exceptions);
        Assert.Equal(model.Timeline.At(20), model.Events.First(e => e.Type == TimelineEventType.Exception).Position);
        Assert.Equal(0, model.Events[^1].ExitCode);
    }

    [Fact]
    public void The_task_name_changes_after_the_syscall_that_sets_it()
    {
        var model = Build(ProgramAndName, [Syscall(40, new NameEffect("renamed")), new ExitEvent(60, 0)], 61);
        Assert.Equal(["prog", "renamed"], model.Process.Names.Select(n => n.Name));
        Assert.Equal("prog", model.Process.NameAt(40));
        Assert.Equal("renamed", model.Process.NameAt(41));
        Assert.Equal(model.Timeline.At(40), model.Process.Names[1].Position);
    }

    [Fact]
    public void Protection_changes_split_mappings_without_unloading_and_remaps_move_them()
    {
        var model = Build(ProgramAndName,
        [
            Syscall(10, Map(0x7000_0000, 0x4000, Read | Exec, "/lib/libz.so")),
            Syscall(20, new ProtectEffect(0x7000_1000, 0x1000, 0)),                       // a hole in the middle
            Syscall(30, new RemapEffect(0x7000_0000, 0x4000, 0x4000, 0x7100_0000)),      // moved
            Syscall(40, new RemapEffect(0x7100_0000, 0x4000, 0x2000, 0x7100_0000)),      // shrunk
            Syscall(50, Map(0x7100_0000, 0x1000, Read | Write, null)),                   // covered by anonymous memory
            Syscall(60, Map(0x7100_1000, 0x1000, Read | Write, null)),                   // the last of it gone
            new ExitEvent(70, 0),
        ], 71);

        var library = model.Modules[1];
        Assert.Equal(library, model.ModuleAt(0x7000_1800, 25));
        Assert.Null(model.ModuleAt(0x7000_1800, 35));
        Assert.Equal(library, model.ModuleAt(0x7100_3800, 35));
        Assert.Null(model.ModuleAt(0x7100_3800, 45));
        Assert.Equal(library, model.ModuleAt(0x7100_1800, 45));
        Assert.Null(model.ModuleAt(0x7100_0800, 55));
        Assert.Equal(library, model.ModuleAt(0x7100_1800, 55));
        Assert.Equal(model.Timeline.At(60), library.Unloaded);
        Assert.Equal(0x7000_0000UL, library.Address); // the base is where it was loaded
    }

    [Fact]
    public void A_file_mapped_again_after_its_unload_is_a_new_module()
    {
        var model = Build(ProgramAndName,
        [
            Syscall(10, Map(0x7000_0000, 0x1000, Read | Exec, "/lib/libw.so")),
            Syscall(20, new UnmapEffect(0x7000_0000, 0x1000)),
            Syscall(30, Map(0x7200_0000, 0x1000, Read | Exec, "/lib/libw.so")),
            new ExitEvent(40, 0),
        ], 41);
        Assert.Equal(3, model.Modules.Count);
        Assert.Equal((0x7000_0000UL, 0x7200_0000UL), (model.Modules[1].Address, model.Modules[2].Address));
        Assert.Equal(model.Modules[2], model.ModuleAt(0x7200_0000, 35));
        Assert.Null(model.Modules[2].Unloaded);
    }

    [Fact]
    public void The_cursor_agrees_with_direct_lookups_in_any_order()
    {
        var model = Build(ProgramAndName,
        [
            Syscall(10, Map(0x7000_0000, 0x3000, Read | Exec, "/lib/liba.so")),
            Syscall(20, Map(0x7000_3000, 0x3000, Read | Exec, "/lib/libb.so")),
            Syscall(30, new UnmapEffect(0x7000_0000, 0x3000)),
            new ExitEvent(40, 0),
        ], 41);
        var cursor = model.ModuleMap.CreateCursor();
        var random = new Random(7);
        for (var i = 0; i < 5000; i++)
        {
            var instruction = i < 2500 ? i / 60 : random.Next(0, 41);
            var address = (ulong)random.Next(0, 3) switch
            {
                0 => 0x400000UL + (ulong)random.Next(0, 0x5000),
                1 => 0x6fff_f000UL + (ulong)random.Next(0, 0x8000),
                _ => (ulong)random.NextInt64(),
            };
            Assert.Equal(model.ModuleMap.Find(address, instruction), cursor.Find(address, instruction));
        }
    }
}
