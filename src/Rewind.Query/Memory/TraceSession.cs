using Rewind.Engine;
using Rewind.Index;
using Rewind.Query.Calls;
using Rewind.Query.Heap;
using Rewind.Query.Introspection;
using Rewind.Query.Symbols;
using Rewind.Trace;
using Rewind.Trace.Positions;

namespace Rewind.Query;

/// <summary>
/// An opened trace with its index: TTD's session and process objects for C#. Memory queries,
/// seeks to positions, the lifetime, and the events, threads and modules of the run.
/// </summary>
/// <example>
/// <code>
/// using var trace = TraceSession.Open("run.rwd");
/// foreach (var access in trace.Memory(0x404028, 0x404030, "rw"))
///     Console.WriteLine($"{access.TimeStart} {access.AccessType} {access.Value:x}");
/// using var cursor = trace.SeekTo(trace.Lifetime.Start);
/// </code>
/// </example>
public sealed class TraceSession : IDisposable
{
    TraceModel? _model;
    SymbolTable? _symbols;

    TraceSession(string path, TraceReader trace, TraceIndex index)
    {
        Path = path;
        Trace = trace;
        Index = index;
    }

    /// <summary>
    /// Opens the trace at <paramref name="path"/> and its index, building the index first when it
    /// is missing or stale (reported to <paramref name="progress"/>). A file that is not a readable
    /// trace is a <see cref="TraceFormatException"/>; a missing engine an <see cref="EngineException"/>.
    /// With <paramref name="rebuildIndex"/> the index is built even when a current one exists.
    /// </summary>
    public static TraceSession Open(string path, IProgress<IndexProgress>? progress = null, bool rebuildIndex = false, CancellationToken cancellation = default)
    {
        EngineLibrary.Load();
        var trace = TraceReader.Open(path);
        try
        {
            return new TraceSession(path, trace, TraceIndex.Open(path, trace, progress, rebuildIndex, cancellation));
        }
        catch
        {
            trace.Dispose();
            throw;
        }
    }

    public string Path { get; }

    /// <summary>The trace file, for reading events and keyframes (not thread-safe: one user at a time).</summary>
    public TraceReader Trace { get; }

    public TraceIndex Index { get; }

    public Timeline Timeline => Index.Timeline;

    /// <summary>The first and the last position of the trace.</summary>
    public (Position Start, Position End) Lifetime => Timeline.Lifetime;

    /// <summary>Process, threads, modules and events of the run (read from the trace's events once, when first asked for).</summary>
    public TraceModel Model => _model ??= TraceModel.Build(Trace);

    /// <summary>
    /// The symbols of every module, from the trace's stored copy of each file and debug files on
    /// this machine (looked for in <see cref="DebugDirectories"/>), read when first asked for.
    /// </summary>
    public SymbolTable Symbols => _symbols ??= new SymbolTable(Model, Trace, DebugDirectories);

    /// <summary>Where separate debug files are looked for; set before the first use of <see cref="Symbols"/>.</summary>
    public IReadOnlyList<string> DebugDirectories { get; set; } = SymbolTable.DefaultDebugDirectories;

    /// <summary>
    /// TTD.Memory: the accesses to [<paramref name="begin"/>, <paramref name="end"/>) of the kinds
    /// in <paramref name="mask"/> (letters r, w, e, c), in execution order. Bad arguments are an
    /// <see cref="ArgumentException"/> or a <see cref="FormatException"/> with a one-line message.
    /// </summary>
    public MemoryQuery Memory(ulong begin, ulong end, string mask = "rw") => Memory(begin, end, MemoryMasks.Parse(mask));

    public MemoryQuery Memory(ulong begin, ulong end, MemoryMask mask)
    {
        if (begin >= end)
            throw new ArgumentException($"the range is empty: begin 0x{begin:x} must be below end 0x{end:x} (end is excluded)");
        if (mask == MemoryMask.None)
            throw new ArgumentException("the access mask is empty: use letters r (read), w (write), e (execute) and c (change)");
        return new MemoryQuery(this, begin, end, mask);
    }

    /// <summary>
    /// TTD.Calls: every call of the functions <paramref name="functions"/> name (module!symbol, with
    /// * and ? wildcards), in the order they were made. A pattern that names no function is a
    /// <see cref="FormatException"/>.
    /// </summary>
    public CallsQuery Calls(params string[] functions)
    {
        var found = new List<Symbol>();
        foreach (var pattern in functions)
        {
            var matches = Symbols.Find(pattern).Where(s => s.Kind == SymbolKind.Function).ToList();
            if (matches.Count == 0)
                throw new FormatException($"'{pattern}' names no function of the trace's modules: write module!function (libc.so.6!malloc, prog!main), with * as a wildcard");
            found.AddRange(matches);
        }
        return new CallsQuery(this, found);
    }

    /// <summary>TTD.Data.Heap(): every allocation and free (malloc, calloc, realloc, free, posix_memalign, aligned_alloc, new, delete), with each call's stack.</summary>
    public HeapQuery Heap() => new(this);

    /// <summary>A cursor at <paramref name="position"/>: the state just before that instruction runs.</summary>
    public TraceCursor SeekTo(Position position) => SeekTo(position.Instruction);

    /// <summary>A cursor before instruction <paramref name="instruction"/> (0-based count) runs.</summary>
    public TraceCursor SeekTo(long instruction)
    {
        var cursor = new TraceCursor(this);
        try
        {
            cursor.SeekTo(instruction);
            return cursor;
        }
        catch
        {
            cursor.Dispose();
            throw;
        }
    }

    /// <summary>A cursor at a position as the user typed it: "5D:113", "50%" or an instruction count.</summary>
    public TraceCursor SeekTo(string position) => SeekTo(Resolve(position));

    /// <summary>Resolves what the user typed into a position of this trace; bad text is a <see cref="FormatException"/>, an impossible position an <see cref="ArgumentOutOfRangeException"/>.</summary>
    public Position Resolve(string position) => Timeline.Resolve(PositionText.Parse(position));

    public void Dispose() => Trace.Dispose();
}
