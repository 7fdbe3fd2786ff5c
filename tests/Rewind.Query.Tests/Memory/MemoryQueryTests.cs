using Iced.Intel;
using Rewind.Index;

namespace Rewind.Query.Tests.Memory;

/// <summary>
/// TTD.Memory on globals_rw against what the program logged about its own accesses: the same
/// accesses (kind, address, size, value) in the same order, for ranges that cover the global,
/// straddle, end right before an access, or hold one field; 'c' and 'e' masks; on the static,
/// dynamic and PIE builds, and on a trace cut into many segments.
/// </summary>
public sealed class MemoryQueryTests(GlobalsTraces traces) : IClassFixture<GlobalsTraces>
{
    public static TheoryData<string> Builds => ["static", "dynamic", "pie", GlobalsTraces.ManySegments];

    async Task<(TraceSession Session, GlobalsRun Run)> OpenAsync(string build)
    {
        GuestRunner.LoadEngine();
        var (trace, run) = await traces.GetAsync(build);
        return (TraceSession.Open(trace), run);
    }

    /// <summary>The query's accesses as (kind, offset from the global, size, value).</summary>
    static LoggedAccess[] Observed(IEnumerable<MemoryAccess> accesses, ulong area) =>
        accesses.Select(a => new LoggedAccess(a.AccessType == MemoryAccessType.Read ? 'R' : 'W', a.Address - area, a.Size, (ulong)a.Value)).ToArray();

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task ReadsAndWritesOfTheGlobalComeInOrderWithTheirValues(string build)
    {
        var (session, run) = await OpenAsync(build);
        using var _ = session;
        var results = session.Memory(run.Area, run.Area + 32, "rw").ToArray();
        Assert.Equal(run.Overlapping(0, 32, "RW"), Observed(results, run.Area));
        Assert.All(results, a =>
        {
            Assert.Equal("MemoryAccess", a.EventType);
            Assert.Equal(session.Trace.Header.ProcessId, a.ThreadId);
            Assert.Equal(1, a.UniqueThreadId);
            Assert.Equal(a.TimeStart, a.TimeEnd);
            Assert.Equal(session.Timeline.At(a.InstrCount), a.TimeStart);
            Assert.Null(a.OverwrittenValue);
        });
        // Execution order: instruction counts never go down, and each access is at its own instruction here.
        Assert.True(results.Zip(results.Skip(1)).All(p => p.First.InstrCount < p.Second.InstrCount), "instruction counts must increase");
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task MasksSelectTheKinds(string build)
    {
        var (session, run) = await OpenAsync(build);
        using var _ = session;
        Assert.Equal(run.Overlapping(0, 32, "R"), Observed(session.Memory(run.Area, run.Area + 32, "r"), run.Area));
        Assert.Equal(run.Overlapping(0, 32, "W"), Observed(session.Memory(run.Area, run.Area + 32, "w"), run.Area));
    }

    [Theory]
    [InlineData(12, 14)] // w, straddled by the 8-byte store at offset 8
    [InlineData(13, 14)] // the second byte of w only
    [InlineData(8, 16)]  // d..pad: the store to next at 16 is not in it (end is excluded)
    [InlineData(16, 24)] // next only
    [InlineData(15, 17)] // pad and the first byte of next: both sides of a boundary
    [InlineData(0, 1)]
    public async Task AnAccessIsReportedWhenItsBytesOverlapTheRange(ulong begin, ulong end)
    {
        var (session, run) = await OpenAsync("static");
        using var _ = session;
        var observed = Observed(session.Memory(run.Area + begin, run.Area + end, "rw"), run.Area);
        Assert.Equal(run.Overlapping(begin, end, "RW"), observed);
        Assert.NotEmpty(observed);
    }

    [Fact]
    public async Task AnAccessThatStraddlesBeginIsReportedWithItsOwnAddressAndSize()
    {
        var (session, run) = await OpenAsync("static");
        using var _ = session;
        var writes = session.Memory(run.Area + 12, run.Area + 14, "w").ToArray();
        var straddling = Assert.Single(writes, w => w.Address == run.Area + 8);
        Assert.Equal(8, straddling.Size);
        Assert.Equal((UInt128)0x0102030405060708, straddling.Value);
    }

    [Fact]
    public async Task EndIsExcluded()
    {
        var (session, run) = await OpenAsync("static");
        using var _ = session;
        // The store to 'next' (offset 16) starts exactly at end.
        Assert.DoesNotContain(session.Memory(run.Area, run.Area + 16, "w"), w => w.Address == run.Area + 16);
        Assert.Contains(session.Memory(run.Area, run.Area + 17, "w"), w => w.Address == run.Area + 16);
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task ChangeReportsOnlyWritesThatChangedTheBytes(string build)
    {
        var (session, run) = await OpenAsync(build);
        using var _ = session;
        // 'same' (offset 24) is written 5, 5, 6: the second write changes nothing.
        var changes = session.Memory(run.Area + 24, run.Area + 32, "c").ToArray();
        Assert.Equal([(5UL, 0UL), (6UL, 5UL)], changes.Select(c => ((ulong)c.Value, (ulong)c.OverwrittenValue!.Value)).ToArray());
        Assert.All(changes, c => Assert.Equal(MemoryAccessType.Write, c.AccessType));
        Assert.Equal(3, session.Memory(run.Area + 24, run.Area + 32, "w").Count());
        // With w and c together every write is reported, each with what it overwrote.
        Assert.Equal([0UL, 5UL, 5UL], session.Memory(run.Area + 24, run.Area + 32, "wc").Select(c => (ulong)c.OverwrittenValue!.Value).ToArray());
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task ExecutingAFunctionReportsItsFirstInstruction(string build)
    {
        var (session, run) = await OpenAsync(build);
        using var _ = session;
        // The instruction's length, decoded from the bytes the program printed (Iced, not Rewind).
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(run.MarkerBytes), run.Marker);
        decoder.Decode(out var first);
        UInt128 value = 0;
        for (var i = first.Length - 1; i >= 0; i--)
            value = value << 8 | run.MarkerBytes[i];

        var executions = session.Memory(run.Marker, run.Marker + 1, "e").ToArray();
        Assert.Equal(run.Calls, executions.Length);
        Assert.All(executions, e =>
        {
            Assert.Equal(MemoryAccessType.Execute, e.AccessType);
            Assert.Equal(run.Marker, e.IP);
            Assert.Equal(run.Marker, e.Address);
            Assert.Equal(first.Length, e.Size);
            Assert.Equal(value, e.Value);
        });
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task WithinOneInstructionExecuteComesFirst(string build)
    {
        var (session, run) = await OpenAsync(build);
        using var _ = session;
        // self_read is one instruction that reads its own first four bytes, called once.
        var accesses = session.Memory(run.SelfRead, run.SelfRead + 1, "rwe").ToArray();
        Assert.Equal([MemoryAccessType.Execute, MemoryAccessType.Read], accesses.Select(a => a.AccessType).ToArray());
        Assert.Equal(accesses[0].InstrCount, accesses[1].InstrCount);
        Assert.All(accesses, a => Assert.Equal(run.SelfRead, a.IP));
        Assert.Equal(6, accesses[0].Size);
        Assert.Equal((UInt128)0xfffffffa058bUL, accesses[0].Value);
        Assert.Equal(4, accesses[1].Size);
        Assert.Equal((UInt128)run.SelfReadValue, accesses[1].Value);
        // In reverse mask order the result is the same.
        Assert.Equal(accesses, session.Memory(run.SelfRead, run.SelfRead + 1, "ewr").ToArray());
    }

    [Fact]
    public async Task ManySegmentsGiveTheSameResultsAsOne()
    {
        var (one, run) = await OpenAsync("static");
        var (many, _) = await OpenAsync(GlobalsTraces.ManySegments);
        using var a = one;
        using var b = many;
        Assert.True(b.Index.Segments.Count > 10, $"expected many segments, got {b.Index.Segments.Count}");
        // Two recordings of one program: the same accesses at the same positions, by another pid.
        static MemoryAccess[] Query(TraceSession session, ulong begin, ulong end, string mask) =>
            session.Memory(begin, end, mask).Select(x => x with { ThreadId = 0 }).ToArray();
        Assert.Equal(Query(a, run.Area, run.Area + 32, "rwc"), Query(b, run.Area, run.Area + 32, "rwc"));
        Assert.Equal(Query(a, run.Marker, run.Marker + 1, "e"), Query(b, run.Marker, run.Marker + 1, "e"));
        // The index leaves out the segments that never touched the global's page.
        Assert.True(b.Memory(run.Area, run.Area + 32, "rw").Plan().Count < b.Index.Segments.Count);
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task PcHooksOnTheIndexedCodeFindWhatPcHooksEverywhereFind(string build)
    {
        var (session, run) = await OpenAsync(build);
        using var _ = session;
        foreach (var (begin, end) in new[] { (run.Area, run.Area + 32), (run.Area - 64, run.Area + 0x800) })
        {
            var sparse = session.Memory(begin, end, "rwc").ToArray();
            var query = session.Memory(begin, end, "rwc");
            query.PcHooksEverywhere = true;
            var everywhere = query.ToArray();
            Assert.NotEmpty(sparse);
            Assert.Equal(everywhere, sparse);
        }
    }

    [Fact]
    public async Task AnIndexThatMissesTheCodeOfAnAccessFallsBackToPcHooksEverywhere()
    {
        GuestRunner.LoadEngine();
        var (source, run) = await traces.GetAsync(GlobalsTraces.ManySegments);
        var trace = Path.Combine(traces.Folder, "misleading.rwd");
        File.Copy(source, trace, overwrite: true);
        MemoryAccess[] expected;
        using (var session = TraceSession.Open(trace))
            expected = session.Memory(run.Area, run.Area + 32, "rw").ToArray();
        // Make the index name the wrong code for the global's page: one block that never touches it.
        var identity = TraceIdentity.Of(trace);
        var index = TraceIndex.TryLoad(TraceIndex.PathFor(trace), identity)!;
        var page = run.Area >> 12;
        var misleading = index.Segments.Select(s => s with
        {
            Accessors = AccessorSet.FromSorted(s.Accessors.Entries()
                .SelectMany(e => e.Page == page
                    ? [(e.Page, run.Marker, 4u)]
                    : e.Blocks?.Select(b => (e.Page, b.Start, b.Size)) ?? Enumerable.Range(0, AccessorSet.Limit + 1).Select(i => (e.Page, (ulong)i, 1u)))
                .ToArray()),
        }).ToArray();
        Assert.True(new TraceIndex(identity, index.Instructions, index.SequencingInstructions, misleading).TrySave(TraceIndex.PathFor(trace)));
        using var misled = TraceSession.Open(trace);
        Assert.False(misled.Index.Built);
        Assert.Equal(expected, misled.Memory(run.Area, run.Area + 32, "rw").ToArray());
    }

    [Fact]
    public async Task StoppingEarlyStopsTheReplays()
    {
        var (session, run) = await OpenAsync(GlobalsTraces.ManySegments);
        using var _ = session;
        var first = session.Memory(run.Area, run.Area + 32, "rw").First();
        Assert.Equal(run.Accesses[0], Observed([first], run.Area)[0]);
        Assert.Equal(run.Overlapping(0, 32, "RW").Take(3), Observed(session.Memory(run.Area, run.Area + 32, "rw").Take(3), run.Area));
    }

    [Fact]
    public async Task BadArgumentsAreOneLineErrors()
    {
        var (session, run) = await OpenAsync("static");
        using var _ = session;
        var empty = Assert.Throws<ArgumentException>(() => session.Memory(run.Area, run.Area, "rw"));
        Assert.DoesNotContain('\n', empty.Message);
        var letter = Assert.Throws<FormatException>(() => session.Memory(run.Area, run.Area + 8, "rx"));
        Assert.Contains("'x'", letter.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', letter.Message);
    }
}
