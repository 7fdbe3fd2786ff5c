using Rewind.Engine;
using Rewind.Query.Tests.Introspection;
using Rewind.Replay;

namespace Rewind.Query.Tests.MemoryMap;

/// <summary>
/// The replay API under memorymap's filters: WatchAddresses and WatchInstructions (which instrument
/// only the watched addresses, or only the block holding the next watched count) and Run(stopAt),
/// checked against a run with a per-instruction callback.
/// </summary>
public sealed class ReplayWatchTests : IClassFixture<IntrospectGuests>
{
    readonly IntrospectGuests _guests;

    public ReplayWatchTests(IntrospectGuests guests)
    {
        _guests = guests;
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(GuestRunner.EngineVariable)) && GuestRunner.UnicornLibrary is { } unicorn)
            Environment.SetEnvironmentVariable(GuestRunner.EngineVariable, unicorn);
        EngineLibrary.Load();
    }

    async Task<(string Trace, List<ulong> Pcs)> TraceAsync()
    {
        var guest = _guests["introspect-pie"];
        await guest.RecordAsync();
        var pcs = new List<ulong>();
        using var session = ReplaySession.Open(guest.Trace);
        session.BeforeInstruction = (_, pc, _) => pcs.Add(pc);
        var exit = session.Run();
        Assert.NotNull(exit);
        Assert.Equal(exit.Instructions, pcs.Count);
        return (guest.Trace, pcs);
    }

    [Fact]
    public async Task Watched_counts_come_with_the_pc_of_that_instruction_in_order()
    {
        var (trace, pcs) = await TraceAsync();
        // Neighbours in one block, block starts and ends, the first and the last.
        var counts = new long[] { 0, 1, 2, 3, 4, 5, 100, 101, 102, 5000, 5001, 77_777, pcs.Count / 2, pcs.Count - 2, pcs.Count - 1 };
        var seen = new List<(long, ulong)>();
        using var session = ReplaySession.Open(trace);
        session.WatchInstructions(counts, (instruction, pc, _) => seen.Add((instruction, pc)));
        Assert.NotNull(session.Run());
        Assert.Equal(counts.Select(c => (c, pcs[(int)c])), seen);
    }

    [Fact]
    public async Task Watched_addresses_come_each_time_with_their_exact_count()
    {
        var (trace, pcs) = await TraceAsync();
        var watched = new[] { pcs[10], pcs[pcs.Count / 3], pcs[^1] }.ToHashSet();
        var expected = pcs.Select((pc, i) => (Count: (long)i, Pc: pc)).Where(p => watched.Contains(p.Pc)).ToList();
        var seen = new List<(long, ulong)>();
        using var session = ReplaySession.Open(trace);
        session.WatchAddresses(watched, (instruction, pc, _) => seen.Add((instruction, pc)));
        Assert.NotNull(session.Run());
        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task Stops_land_before_the_instruction_and_watches_continue_across_them()
    {
        var (trace, pcs) = await TraceAsync();
        var counts = new long[] { 7, 8, 9, 5000, 60_000 };
        var seen = new List<long>();
        UInt128? expectedHash;
        using (var plain = ReplaySession.Open(trace))
        {
            plain.Run();
            expectedHash = plain.Kernel.FinalStateHash;
        }
        using var session = ReplaySession.Open(trace, verify: true);
        session.WatchInstructions(counts, (instruction, _, _) => seen.Add(instruction));
        foreach (var stop in new long[] { 3, 8, 8, 9, 4999, 5000, 40_000, pcs.Count - 1 })
        {
            Assert.Null(session.Run(stopAt: stop));
            Assert.Equal(stop, session.Process.Instructions);
            Assert.Equal(pcs[(int)stop], session.Process.Cpu.Read(X86Register.Rip));
        }
        var exit = session.Run();
        Assert.NotNull(exit);
        Assert.Equal(pcs.Count, exit.Instructions);
        Assert.Equal(expectedHash, session.Kernel.FinalStateHash);
        Assert.Equal(counts, seen); // each once, although some are also stops
    }

    [Fact]
    public async Task An_exception_in_a_watch_callback_comes_out_of_Run()
    {
        var (trace, pcs) = await TraceAsync();
        using var session = ReplaySession.Open(trace);
        session.WatchAddresses([pcs[50]], (_, _, _) => throw new InvalidOperationException("from the callback"));
        var error = Assert.Throws<InvalidOperationException>(() => session.Run());
        Assert.Equal("from the callback", error.Message);
    }
}
