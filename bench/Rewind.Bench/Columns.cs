namespace Rewind.Bench;

/// <summary>
/// One column of the results table: a way of running every workload's command line, timed and compared
/// with the native run on the same input. The table is exactly the list in <see cref="All"/>, so a new
/// Rewind measurement (replay with memory hooks, index build, a memory query, memorymap to a file) is
/// one more entry there. Entries that need a verb this rewind lacks are left out of the table.
/// </summary>
internal sealed class Column
{
    /// <summary>Name in results.json.</summary>
    public required string Key { get; init; }

    /// <summary>Header in the table.</summary>
    public required string Title { get; init; }

    /// <summary>What the column measures, one line, for the legend under the table.</summary>
    public required string Meaning { get; init; }

    /// <summary>Native runs: every other cell is divided by the baseline of its input size.</summary>
    public bool Baseline { get; init; }

    /// <summary>rewind verbs the column needs; when one is missing the column is not shown.</summary>
    public IReadOnlyList<string> RewindVerbs { get; init; } = [];

    /// <summary>A peer tool found on PATH; when it is missing the cells say n/a and a note says why.</summary>
    public string? Tool { get; init; }

    /// <summary>The input size the column runs on; Small columns also get the small native baseline.</summary>
    public InputSize Input { get; init; } = InputSize.Main;

    /// <summary>Left out of --quick runs.</summary>
    public bool FullOnly { get; init; }

    /// <summary>Measured once whatever --repeat says (for very slow tools).</summary>
    public bool Once { get; init; }

    /// <summary>The stdout must equal the native stdout, or the bench stops: Rewind must not change what a program does.</summary>
    public bool MustMatchNative { get; init; }

    /// <summary>The command prints the program's own output (false for queries of a trace): only then is it compared with native.</summary>
    public bool PrintsProgramOutput { get; init; } = true;

    /// <summary>Untimed runs before the timed ones, when the column needs something made first (a trace, its index).</summary>
    public Func<CellContext, IEnumerable<Invocation>>? Setup { get; init; }

    /// <summary>Why the column has nothing to measure for this workload (shown as n/a with a note); null when it has.</summary>
    public Func<CellContext, string?>? Unavailable { get; init; }

    /// <summary>
    /// Measures something other than time (the trace's size): replaces the timed runs. Gets the setup done
    /// first, like a timed column.
    /// </summary>
    public Func<CellContext, Cell>? Measure { get; init; }

    /// <summary>
    /// A file the column leaves for later columns (the trace that replay reuses); deleted when the cell did
    /// not complete, so that a cut-short file is made again rather than reused.
    /// </summary>
    public Func<CellContext, string>? Leaves { get; init; }

    /// <summary>The timed command line (none for a column that <see cref="Measure"/>s something else).</summary>
    public Func<CellContext, Invocation> Command { get; init; } = _ => throw new InvalidOperationException("the column measures no command");

    public static IReadOnlyList<Column> All { get; } =
    [
        new()
        {
            Key = "native",
            Title = "native",
            Meaning = "the program run directly; the reference for every ratio",
            Baseline = true,
            Command = c => c.Program,
        },
        new()
        {
            Key = "rewind_run",
            Title = "rewind run",
            Meaning = "rewind run -- PROGRAM: emulated under Unicorn, nothing recorded",
            RewindVerbs = ["run"],
            MustMatchNative = true,
            Command = c => c.Under(c.Rewind, "run", "--"),
        },
        new()
        {
            Key = "rewind_record",
            Title = "rewind record",
            Meaning = "rewind record -o TRACE -- PROGRAM: emulated and recorded to a trace file",
            RewindVerbs = ["record"],
            MustMatchNative = true,
            Leaves = c => c.Trace,
            Command = Record,
        },
        new()
        {
            Key = "rewind_replay",
            Title = "rewind replay",
            Meaning = "rewind replay TRACE: the recorded run re-executed from the trace alone, output reproduced",
            RewindVerbs = ["record", "replay"],
            MustMatchNative = true,
            Setup = TraceMade,
            Command = c => new([c.Rewind, "replay", c.Trace], c.Program.WorkingDirectory),
        },
        new()
        {
            Key = "rewind_replay_hooks",
            Title = "replay + memory hooks",
            Meaning = "rewind replay --count-accesses TRACE: replay with a hook on every data read and write and the pc of each",
            RewindVerbs = ["record", "replay"],
            MustMatchNative = true,
            Setup = TraceMade,
            Command = c => new([c.Rewind, "replay", "--count-accesses", c.Trace], c.Program.WorkingDirectory),
        },
        new()
        {
            Key = "rewind_index",
            Title = "index build",
            Meaning = "rewind index --rebuild TRACE: the index for memory queries, segments replayed in parallel on every core",
            RewindVerbs = ["record", "index"],
            MustMatchNative = true,
            PrintsProgramOutput = false,
            Setup = TraceMade,
            Command = c => new([c.Rewind, "index", "--rebuild", c.Trace], c.Program.WorkingDirectory),
        },
        new()
        {
            Key = "rewind_memory",
            Title = "memory query",
            Meaning = "rewind memory TRACE A A+8 rw, indexed: every read and write of 8 bytes, the first variable in the program's .bss that it writes",
            RewindVerbs = ["record", "index", "memory", "modules"],
            MustMatchNative = true,
            PrintsProgramOutput = false,
            Setup = c => [.. TraceMade(c), new([c.Rewind, "index", c.Trace], c.Program.WorkingDirectory)],
            Unavailable = c => c.Facts.QueryRange is null ? $"memory query: {c.Facts.QueryRangeProblem}" : null,
            Command = c => new([c.Rewind, "memory", c.Trace, Hex(c.Facts.QueryRange!.Value), Hex(c.Facts.QueryRange!.Value + 8), "rw", "--format", "jsonl"],
                c.Program.WorkingDirectory),
        },
        new()
        {
            Key = "trace_size",
            Title = "trace bytes/instr",
            Meaning = "size of the trace / instructions, and in brackets without the stored contents of the files the program read or mapped",
            RewindVerbs = ["record", "info"],
            Setup = TraceMade,
            Measure = c => c.Facts.TraceSize(),
        },
        new()
        {
            Key = "qemu",
            Title = "qemu-x86_64",
            Meaning = "qemu-x86_64 PROGRAM (QEMU user mode, dynamic translation, no instrumentation)",
            Tool = "qemu-x86_64",
            Command = c => c.Under(c.ToolPath),
        },
        new()
        {
            Key = "valgrind_none",
            Title = "valgrind none",
            Meaning = "valgrind --tool=none: Valgrind's translation alone",
            Tool = "valgrind",
            Command = c => c.Under(c.ToolPath, "-q", "--tool=none"),
        },
        new()
        {
            Key = "lackey",
            Title = "lackey",
            Meaning = "valgrind --tool=lackey: counts instructions, blocks and calls",
            Tool = "valgrind",
            Command = c => c.Under(c.ToolPath, "-q", "--tool=lackey", $"--log-file={c.Scratch("lackey.log")}"),
        },
        new()
        {
            Key = "native_small",
            Title = "native (small input)",
            Meaning = "the program run directly on the small input; the reference for small-input columns",
            Baseline = true,
            Input = InputSize.Small,
            FullOnly = true,
            Command = c => c.Program,
        },
        new()
        {
            Key = "rewind_memorymap",
            Title = "memorymap to file (small input)",
            Meaning = "rewind memorymap TRACE -o FILE: PANDA's line for every instruction, written to a file; small input",
            RewindVerbs = ["record", "memorymap"],
            Input = InputSize.Small,
            FullOnly = true,
            MustMatchNative = true,
            PrintsProgramOutput = false,
            Setup = TraceMade,
            Command = c => new([c.Rewind, "memorymap", c.Trace, "-o", c.Scratch("memorymap.txt")], c.Program.WorkingDirectory),
        },
        new()
        {
            Key = "lackey_trace_mem",
            Title = "lackey --trace-mem (small input)",
            Meaning = "valgrind --tool=lackey --trace-mem=yes, every access logged to a file; small input, one run",
            Tool = "valgrind",
            Input = InputSize.Small,
            FullOnly = true,
            Once = true,
            Command = c => c.Under(c.ToolPath, "-q", "--tool=lackey", "--trace-mem=yes", $"--log-file={c.Scratch("trace-mem.log")}"),
        },
    ];

    static Invocation Record(CellContext c) => c.Under(c.Rewind, "record", "-o", c.Trace, "--");

    /// <summary>Records the trace when an earlier column has not.</summary>
    static IEnumerable<Invocation> TraceMade(CellContext c) => File.Exists(c.Trace) ? [] : [Record(c)];

    static string Hex(ulong value) => $"0x{value:x}";
}

/// <summary>What a column's command line is built from, for one workload at one input size.</summary>
internal sealed class CellContext(Invocation program, string rewind, string? toolPath, TraceFacts facts, string scratchFolder)
{
    readonly List<string> scratch = [];

    /// <summary>The workload's native command line.</summary>
    public Invocation Program => program;

    /// <summary>The rewind command being measured.</summary>
    public string Rewind => rewind;

    /// <summary>The column's peer tool, resolved on PATH.</summary>
    public string ToolPath => toolPath ?? throw new InvalidOperationException("the column names no tool");

    /// <summary>The trace of this workload at this size, shared by the columns that record and replay.</summary>
    public string Trace => facts.Trace;

    /// <summary>What the bench reads from that trace: its size, the range a memory query asks about.</summary>
    public TraceFacts Facts => facts;

    /// <summary>A file for a tool's own output, deleted once the cell is measured.</summary>
    public string Scratch(string name)
    {
        var path = Path.Combine(scratchFolder, name);
        scratch.Add(path);
        return path;
    }

    /// <summary>The program's command line run under a tool.</summary>
    public Invocation Under(params IEnumerable<string> tool) => new([.. tool, .. program.Arguments], program.WorkingDirectory);

    public void DeleteScratch()
    {
        foreach (var path in scratch)
            File.Delete(path);
        scratch.Clear();
    }
}
