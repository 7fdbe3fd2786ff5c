using System.Text.RegularExpressions;
using Rewind.Engine;
using Rewind.Linux.Execution;

namespace Rewind.Replay.Tests;

/// <summary>Recordings of the globals guest, made once for the API tests.</summary>
public sealed class GlobalsTraces : IAsyncLifetime, IDisposable
{
    readonly TempFolder _folder = new();
    readonly Dictionary<string, (string Trace, RunResult Record)> _traces = new(StringComparer.Ordinal);

    public (string Trace, RunResult Record) this[string guest] => _traces[guest];

    public async Task InitializeAsync()
    {
        foreach (var guest in new[] { "globals-static", "globals-pie" })
        {
            var trace = _folder[$"{guest}.rwd"];
            var record = await RewindCli.RecordAsync(trace, GuestRunner.Guest(guest), []);
            Assert.True(record.ExitCode == 0, $"recording {guest}: {record}");
            _traces[guest] = (trace, record);
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _folder.Dispose();
}

/// <summary>
/// The C# replay API: ReplaySession.Open(path) with callbacks, and Run(stopAt). What the callbacks
/// report is checked against the guest's own printout (the addresses of its globals and the values
/// it stored) and against a separate full run.
/// </summary>
public sealed partial class ReplayApiTests : IClassFixture<GlobalsTraces>
{
    readonly GlobalsTraces _traces;

    public ReplayApiTests(GlobalsTraces traces)
    {
        _traces = traces;
        GuestRunner.LoadEngine();
    }

    readonly record struct Store(ulong Address, int Size, ulong Value);

    [Theory]
    [InlineData("globals-static")]
    [InlineData("globals-pie")]
    public void MemoryWriteSeesExactlyTheStoresTheProgramMade(string guest)
    {
        var (trace, record) = _traces[guest];
        var printout = record.StdoutText;
        var wide = RewindCli.ParseHex(Regex.Match(printout, "^wide (0x[0-9a-f]+)$", RegexOptions.Multiline).Groups[1].Value);
        var narrow = RewindCli.ParseHex(Regex.Match(printout, "^narrow (0x[0-9a-f]+)$", RegexOptions.Multiline).Groups[1].Value);
        var expected = new List<Store>();
        foreach (Match store in StoreLine().Matches(printout))
        {
            expected.Add(new Store(wide, 8, RewindCli.ParseHex(store.Groups[1].Value)));
            expected.Add(new Store(narrow, 2, RewindCli.ParseHex(store.Groups[2].Value)));
        }
        Assert.Equal(32, expected.Count);

        var seen = new List<Store>();
        var instructions = new List<long>();
        using var session = ReplaySession.Open(trace);
        session.MemoryWrite = (instruction, pc, address, size, value) =>
        {
            // Any write that touches either global.
            if (address < wide + 8 && address + (ulong)size > wide || address < narrow + 2 && address + (ulong)size > narrow)
            {
                seen.Add(new Store(address, size, value));
                instructions.Add(instruction);
            }
        };
        var exit = session.Run();
        Assert.NotNull(exit);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(expected, seen);
        Assert.Equal(instructions.Order(), instructions);
        Assert.All(instructions, i => Assert.InRange(i, 0, exit.Instructions - 1));
    }

    [Fact]
    public void RunStopsBeforeTheRequestedInstruction()
    {
        var (trace, _) = _traces["globals-static"];
        var (pcs, _) = PcOfEveryInstruction(trace);

        foreach (var k in new long[] { 0, 1, 7, 1000, pcs.Count / 2, pcs.Count - 1 })
        {
            using var session = ReplaySession.Open(trace);
            Assert.Null(session.Run(stopAt: k));
            AssertStoppedBefore(session, k, pcs);
        }
    }

    /// <summary>A run that stopped continues from there: to further stops, then to the same end as a run without stops.</summary>
    [Fact]
    public void RunContinuesAfterAStop()
    {
        var (trace, _) = _traces["globals-static"];
        var (pcs, _) = PcOfEveryInstruction(trace);
        UInt128? expectedHash;
        ExitStatus? expected;
        using (var plain = ReplaySession.Open(trace))
        {
            expected = plain.Run();
            expectedHash = plain.Kernel.FinalStateHash;
        }
        Assert.NotNull(expected);

        using var session = ReplaySession.Open(trace, verify: true);
        foreach (var k in new long[] { 3, 4, 4, 500, 20_001, pcs.Count - 1 })
        {
            Assert.Null(session.Run(stopAt: k));
            AssertStoppedBefore(session, k, pcs);
        }
        var exit = session.Run();
        Assert.NotNull(exit);
        Assert.Equal(expected, exit);
        Assert.Equal(expectedHash, session.Kernel.FinalStateHash);
    }

    /// <summary>A full run that notes the pc of every instruction, in order.</summary>
    static (List<ulong> Pcs, ExitStatus Exit) PcOfEveryInstruction(string trace)
    {
        // Callbacks run inside the engine: they must not throw, so the order is checked afterwards.
        var pcs = new List<ulong>();
        var outOfOrder = 0L;
        using var session = ReplaySession.Open(trace);
        session.BeforeInstruction = (instruction, pc, length) =>
        {
            if (instruction != pcs.Count)
                outOfOrder++;
            pcs.Add(pc);
        };
        var exit = session.Run();
        Assert.Equal(0, outOfOrder);
        Assert.NotNull(exit);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(exit.Instructions, pcs.Count);
        return (pcs, exit);
    }

    /// <summary>The session shows the state just before instruction <paramref name="k"/>: its pc, and k instructions run.</summary>
    static void AssertStoppedBefore(ReplaySession session, long k, List<ulong> pcs)
    {
        var rip = session.Process.Cpu.Read(X86Register.Rip);
        Assert.True(pcs[(int)k] == rip, $"stopped before instruction {k} at pc 0x{rip:x}, but instruction {k} is at 0x{pcs[(int)k]:x}");
        Assert.Equal(k, session.Process.Instructions);
    }

    [GeneratedRegex(@"^store \d+: wide (0x[0-9a-f]+) narrow (0x[0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex StoreLine();
}
