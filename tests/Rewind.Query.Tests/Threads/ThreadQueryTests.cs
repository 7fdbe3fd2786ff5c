using System.Globalization;
using System.Text.RegularExpressions;
using Rewind.Query.Introspection;
using Rewind.Query.Tests.Introspection;

namespace Rewind.Query.Tests.Threads;

/// <summary>
/// threads_counter (four workers, each adding 1 to one global counter under a mutex 300 times)
/// recorded once with a short time slice, so that the workers interleave and contend for the lock,
/// and a keyframe every 20,000 instructions, so that queries replay many segments in parallel. What
/// the program printed (the total, the counter's address, each worker's tid) is the ground truth.
/// </summary>
public sealed partial class CounterTrace : IDisposable
{
    public const int Workers = 4;
    public const int Increments = 300;

    readonly string _folder = Directory.CreateTempSubdirectory("rewind-thread-tests-").FullName;
    readonly Lazy<Task<CounterTrace>> _recorded;

    public CounterTrace() => _recorded = new(RecordAsync);

    public string Trace => Path.Combine(_folder, "counter.rwd");
    public ulong Counter { get; private set; }

    /// <summary>The workers' tids, in creation order.</summary>
    public IReadOnlyList<int> WorkerTids { get; private set; } = [];

    public Task<CounterTrace> GetAsync() => _recorded.Value;

    async Task<CounterTrace> RecordAsync()
    {
        var result = await GuestRunner.RewindCommandAsync(
            ["record", "-o", Trace, "--preempt", "997", "--keyframe-every", "20000", "--", GuestRunner.Guest("threads_counter-static"), Increments.ToString(CultureInfo.InvariantCulture)],
            new RunSettings { WorkingDirectory = _folder }).ConfigureAwait(false);
        Assert.True(result.ExitCode == 0, $"recording threads_counter failed: {result}");
        Assert.Contains($"total {Workers * Increments}\n", result.StdoutText, StringComparison.Ordinal);
        Counter = QueryCli.Hex(CounterLine().Match(result.StdoutText).Groups[1].Value);
        WorkerTids = TidLine().Matches(result.StdoutText).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(Workers, WorkerTids.Count);
        return this;
    }

    [GeneratedRegex(@"^counter at (0x[0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex CounterLine();

    [GeneratedRegex(@"^thread \d+ tid (\d+)$", RegexOptions.Multiline)]
    private static partial Regex TidLine();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Threads in the queries: TTD.Memory's thread ids, the threads and events views, memorymap's tid.</summary>
public sealed class ThreadQueryTests(CounterTrace counter) : IClassFixture<CounterTrace>
{
    [Fact]
    public async Task EveryWriteToTheCounterComesInOrderFromTheWorkerThatMadeIt()
    {
        GuestRunner.LoadEngine();
        var run = await counter.GetAsync();
        using var session = TraceSession.Open(run.Trace);
        var writes = session.Memory(run.Counter, run.Counter + 8, "w").ToArray();

        Assert.Equal(Enumerable.Range(1, CounterTrace.Workers * CounterTrace.Increments).Select(v => (UInt128)v), writes.Select(w => w.Value));
        Assert.True(writes.Zip(writes.Skip(1)).All(p => p.First.InstrCount < p.Second.InstrCount), "writes must come in execution order");
        // Each worker made its own share of the writes, under its own ids.
        var byThread = writes.GroupBy(w => (w.UniqueThreadId, w.ThreadId)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(
            run.WorkerTids.Select((tid, i) => ((i + 2), tid)).Order(),
            byThread.Keys.Order());
        Assert.All(byThread.Values, count => Assert.Equal(CounterTrace.Increments, count));
        // The workers took turns: the writes change hands many times.
        Assert.True(writes.Zip(writes.Skip(1)).Count(p => p.First.UniqueThreadId != p.Second.UniqueThreadId) >= 8, "the workers should interleave");
        // Every write falls in its thread's active time.
        var threads = session.Model.Threads.ToDictionary(t => (int)t.UniqueId);
        Assert.All(writes, w => Assert.True(threads[w.UniqueThreadId].ActiveTime.Contains(w.TimeStart), $"write at {w.TimeStart} is outside thread {w.UniqueThreadId}'s active time"));
    }

    [Fact]
    public async Task ThreadsAreListedInCreationOrderWithTheirLifetimes()
    {
        GuestRunner.LoadEngine();
        var run = await counter.GetAsync();
        using var session = TraceSession.Open(run.Trace);
        var model = session.Model;

        Assert.Equal([1, 2, 3, 4, 5], model.Threads.Select(t => t.UniqueId));
        Assert.Equal([model.Process.Id, .. run.WorkerTids], model.Threads.Select(t => t.Id));
        var main = model.Threads[0];
        foreach (var worker in model.Threads.Skip(1))
        {
            Assert.True(main.Lifetime.Start < worker.Lifetime.Start && worker.Lifetime.End < main.Lifetime.End, $"{worker} must live within the main thread");
            Assert.True(worker.Lifetime.Start < worker.ActiveTime.Start && worker.ActiveTime.End <= worker.Lifetime.End, $"{worker} runs after its creation, until its end");
        }
        var created = model.Events.Where(e => e.Type == TimelineEventType.ThreadCreated).Select(e => e.Thread!.UniqueId);
        var terminated = model.Events.Where(e => e.Type == TimelineEventType.ThreadTerminated).Select(e => e.Thread!.UniqueId).ToArray();
        Assert.Equal([1, 2, 3, 4, 5], created);
        Assert.Equal([1, 2, 3, 4, 5], terminated.Order());
        Assert.Equal(1, terminated[^1]);

        var listed = await QueryCli.JsonLinesAsync("threads", run.Trace);
        Assert.Equal(model.Threads.Select(t => t.Id), listed.Select(t => t.GetProperty("Id").GetInt32()));
    }

    [Fact]
    public async Task MemoryMapShowsTheTidOfTheRunningThread()
    {
        GuestRunner.LoadEngine();
        var run = await counter.GetAsync();
        Dictionary<long, int> writers;
        ulong pc;
        using (var session = TraceSession.Open(run.Trace))
        {
            var writes = session.Memory(run.Counter, run.Counter + 8, "w").ToArray();
            writers = writes.ToDictionary(w => w.InstrCount, w => w.ThreadId);
            pc = writes[0].IP;
        }
        var lines = MemoryMapLine.ParseAll(await QueryCli.OutputAsync("memorymap", run.Trace, "--pcs", $"0x{pc:x}"));
        Assert.Equal(writers.Count, lines.Length);
        Assert.All(lines, line => Assert.Equal(writers[line.InstructionCount], line.Tid));
        Assert.Equal(run.WorkerTids.Order(), lines.Select(l => l.Tid).Distinct().Order());
    }
}
