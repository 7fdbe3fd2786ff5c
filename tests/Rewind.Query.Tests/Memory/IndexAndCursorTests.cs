using Rewind.Engine;
using Rewind.Index;

namespace Rewind.Query.Tests.Memory;

/// <summary>
/// The index beside the trace (built once, reused, rebuilt when stale or damaged) and the cursor
/// that SeekTo gives (registers and memory at a position, stepping forward and back).
/// </summary>
public sealed class IndexAndCursorTests : IClassFixture<GlobalsTraces>, IDisposable
{
    readonly GlobalsTraces _traces;
    readonly string _folder = Directory.CreateTempSubdirectory("rewind-index-tests-").FullName;

    public IndexAndCursorTests(GlobalsTraces traces)
    {
        _traces = traces;
        GuestRunner.LoadEngine();
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A private copy of the static trace, so that its index can be damaged freely.</summary>
    async Task<(string Trace, GlobalsRun Run)> CopyAsync(string name)
    {
        var (trace, run) = await _traces.GetAsync(GlobalsTraces.ManySegments);
        var copy = Path.Combine(_folder, name + ".rwd");
        File.Copy(trace, copy);
        return (copy, run);
    }

    static MemoryAccess[] Query(TraceSession session, GlobalsRun run) => session.Memory(run.Area, run.Area + 32, "rw").ToArray();

    [Fact]
    public async Task TheIndexIsBuiltOnceAndKeptBesideTheTrace()
    {
        var (trace, run) = await CopyAsync("kept");
        MemoryAccess[] first;
        using (var session = TraceSession.Open(trace))
        {
            Assert.True(session.Index.Built);
            Assert.Equal(TraceIndex.PathFor(Path.GetFullPath(trace)), session.Index.FilePath);
            first = Query(session, run);
        }
        Assert.True(File.Exists(Path.Combine(_folder, "kept.rwdx")));
        using (var again = TraceSession.Open(trace))
        {
            Assert.False(again.Index.Built);
            Assert.Equal(first, Query(again, run));
            Assert.Equal(again.Timeline.Instructions, again.Index.Instructions);
        }
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("garbage")]
    [InlineData("empty")]
    public async Task ADamagedIndexIsRebuilt(string damage)
    {
        var (trace, run) = await CopyAsync(damage);
        MemoryAccess[] expected;
        using (var session = TraceSession.Open(trace))
            expected = Query(session, run);
        var index = Path.Combine(_folder, damage + ".rwdx");
        var bytes = File.ReadAllBytes(index);
        switch (damage)
        {
            case "truncated":
                File.WriteAllBytes(index, bytes[..(bytes.Length / 2)]);
                break;
            case "flipped":
                bytes[bytes.Length / 2] ^= 0x40;
                File.WriteAllBytes(index, bytes);
                break;
            case "garbage":
                File.WriteAllBytes(index, [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7919))]);
                break;
            default:
                File.WriteAllBytes(index, []);
                break;
        }
        using var rebuilt = TraceSession.Open(trace);
        Assert.True(rebuilt.Index.Built);
        Assert.Equal(expected, Query(rebuilt, run));
    }

    [Fact]
    public async Task AStaleIndexIsRebuilt()
    {
        var (trace, run) = await CopyAsync("stale");
        using (var session = TraceSession.Open(trace))
            Assert.True(session.Index.Built);
        File.SetLastWriteTimeUtc(trace, DateTime.UtcNow.AddMinutes(1));
        using var again = TraceSession.Open(trace);
        Assert.True(again.Index.Built);
        Assert.NotEmpty(Query(again, run));
    }

    [Fact]
    public async Task SeekingToAWriteShowsTheStateBeforeAndAfterIt()
    {
        var (trace, run) = await _traces.GetAsync(GlobalsTraces.ManySegments);
        using var session = TraceSession.Open(trace);
        var writes = session.Memory(run.Area, run.Area + 8, "w").ToArray();
        Assert.Equal(run.Overlapping(0, 8, "W").Count(), writes.Length);
        using var cursor = session.SeekTo(writes[0].TimeStart);
        for (var i = 0; i < writes.Length; i++)
        {
            var write = writes[i];
            cursor.SeekTo(write.TimeStart);
            Assert.Equal(write.TimeStart, cursor.Position);
            Assert.Equal(write.IP, cursor.Register(X86Register.Rip));
            Assert.Equal(write.IP, cursor.CurrentInstruction().Address);
            var before = BitConverter.ToUInt64(cursor.ReadMemory(run.Area, 8));
            Assert.Equal(i == 0 ? 0UL : (ulong)writes[i - 1].Value, before);

            Assert.True(cursor.StepForward());
            Assert.Equal(write.InstrCount + 1, cursor.Instruction);
            Assert.Equal((ulong)write.Value, BitConverter.ToUInt64(cursor.ReadMemory(run.Area, 8)));

            Assert.True(cursor.StepBack());
            Assert.Equal(write.IP, cursor.Register(X86Register.Rip));
            Assert.Equal(before, BitConverter.ToUInt64(cursor.ReadMemory(run.Area, 8)));
        }
    }

    [Fact]
    public async Task SeekingWorksAtBothEndsAndNotBeyond()
    {
        var (trace, _) = await _traces.GetAsync(GlobalsTraces.ManySegments);
        using var session = TraceSession.Open(trace);
        var (start, end) = session.Lifetime;
        using var cursor = session.SeekTo(start);
        Assert.Equal(0, cursor.Instruction);
        Assert.False(cursor.StepBack());
        cursor.SeekTo(end);
        Assert.Equal(session.Timeline.Instructions - 1, cursor.Instruction);
        Assert.False(cursor.StepForward());
        Assert.Throws<ArgumentOutOfRangeException>(() => cursor.SeekTo(session.Timeline.Instructions));
        // The last instruction is exit_group's syscall.
        Assert.Equal("syscall", cursor.CurrentInstruction().Text);
    }
}
