using System.Text;

namespace Rewind.Export;

/// <summary>How a column's values are stored in Parquet (the physical type and its logical annotation).</summary>
public enum ColumnKind
{
    /// <summary>INT64.</summary>
    Int64,
    /// <summary>INT64 annotated unsigned (UBIGINT in DuckDB): addresses, pcs, registers.</summary>
    UInt64,
    /// <summary>INT32.</summary>
    Int32,
    /// <summary>BOOLEAN.</summary>
    Boolean,
    /// <summary>BYTE_ARRAY annotated UTF-8, dictionary-encoded.</summary>
    String,
    /// <summary>BYTE_ARRAY.</summary>
    Bytes,
}

/// <summary>One column of an exported table.</summary>
public sealed record ExportColumn(string Name, ColumnKind Kind, bool Nullable, string Description)
{
    /// <summary>Counts that grow along the rows (instr_count, steps): stored delta-encoded rather than with a dictionary.</summary>
    public bool Delta { get; init; }
}

/// <summary>One exported table: a folder of Parquet files, one per keyframe segment.</summary>
public sealed record ExportTable(string Name, string Description, IReadOnlyList<ExportColumn> Columns, bool Replayed)
{
    public int Ordinal(string column)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (Columns[i].Name == column)
                return i;
        }
        throw new ArgumentException($"table {Name} has no column {column}", nameof(column));
    }
}

/// <summary>
/// The tables <c>rewind export</c> writes and <c>rewind sql</c> reads, with their columns, and the
/// schema's version, which changes whenever a table or a column does (it is stored in every file).
/// Every table's rows have a position, the first three columns (instr_count, sequence, steps); a row
/// lies in the keyframe segment that holds its position, which names the folder of its file
/// (<c>TABLE/segment=N/part-0.parquet</c>, Hive style).
/// </summary>
public static class ExportSchema
{
    public const int Version = 2;

    static ExportColumn Column(string name, ColumnKind kind, string description, bool nullable = false) => new(name, kind, nullable, description);

    static readonly ExportColumn[] Position =
    [
        Column("instr_count", ColumnKind.Int64, "0-based count of the instruction in the whole trace (PANDA's instr_count)") with { Delta = true },
        Column("sequence", ColumnKind.Int64, "TTD position: the sequence (a syscall, thread switch, signal or exit ends one)"),
        Column("steps", ColumnKind.Int64, "TTD position: instructions since the sequence began; `printf('%X:%X', sequence, steps)` is the position as TTD prints it") with { Delta = true },
    ];

    static readonly ExportColumn[] Thread =
    [
        Column("pid", ColumnKind.Int32, "the process that ran it (guest pid)"),
        Column("tid", ColumnKind.Int32, "the thread that ran it (guest tid)"),
    ];

    public static readonly ExportTable Instructions = new("instructions", "every instruction the trace ran, in execution order (as memorymap reports them)",
    [
        .. Position, .. Thread,
        Column("pc", ColumnKind.UInt64, "the instruction's address"),
        Column("size", ColumnKind.Int32, "its length in bytes"),
        Column("image", ColumnKind.String, "the path of the file mapped at pc (null: memory no file backs)", nullable: true),
        Column("symbol", ColumnKind.String, "the function holding pc, from its module's ELF symbols (null: none, or a process other than the first)", nullable: true),
    ], Replayed: true);

    public static readonly ExportTable Memory = new("memory", "every memory access, as TTD.Memory over the whole address space with mask \"rwe\": within an instruction its execution first, then reads, then writes",
    [
        .. Position, .. Thread,
        Column("ip", ColumnKind.UInt64, "the address of the accessing instruction"),
        Column("access", ColumnKind.String, "'r' read, 'w' write, 'e' execute (the instruction itself)"),
        Column("address", ColumnKind.UInt64, "the first byte accessed"),
        Column("size", ColumnKind.Int32, "bytes accessed; for 'e', the instruction's length"),
        Column("value", ColumnKind.UInt64, "the bytes read, written or executed, packed little-endian as TTD's Value (the first 8 when there are more)"),
        Column("value_bytes", ColumnKind.Bytes, "all the bytes (at most 16) when there are more than 8, in memory order; null otherwise", nullable: true),
    ], Replayed: true);

    public static readonly ExportTable Syscalls = new("syscalls", "every syscall the program made, with its arguments and result",
    [
        .. Position, .. Thread,
        Column("number", ColumnKind.Int32, "the syscall number (x86-64)"),
        Column("name", ColumnKind.String, "its name in the kernel's syscall table ('unknown' for a number the table lacks)"),
        Column("arg0", ColumnKind.UInt64, "rdi, the first argument register"),
        Column("arg1", ColumnKind.UInt64, "rsi"),
        Column("arg2", ColumnKind.UInt64, "rdx"),
        Column("arg3", ColumnKind.UInt64, "r10"),
        Column("arg4", ColumnKind.UInt64, "r8"),
        Column("arg5", ColumnKind.UInt64, "r9 (every syscall has six registers here, whatever its arity)"),
        Column("result", ColumnKind.Int64, "what it returned (-errno on failure)"),
        Column("unsupported", ColumnKind.Boolean, "Rewind does not implement it: it returned -ENOSYS"),
    ], Replayed: true);

    public static readonly ExportTable Events = new("events", "thread, module, exception and exit events, as `rewind events` and TTD's Events",
    [
        .. Position,
        Column("type", ColumnKind.String, "ThreadCreated, ThreadTerminated, ModuleLoaded, ModuleUnloaded, Exception or ProcessExit"),
        Column("pid", ColumnKind.Int32, "the process (threads, exits)", nullable: true),
        Column("unique_tid", ColumnKind.Int64, "the thread's UniqueThreadId (thread events)", nullable: true),
        Column("tid", ColumnKind.Int32, "the thread's tid (thread events)", nullable: true),
        Column("module", ColumnKind.String, "the module's path (module events)", nullable: true),
        Column("module_address", ColumnKind.UInt64, "its load base (module events)", nullable: true),
        Column("exception", ColumnKind.String, "the signal's name, as SIGSEGV (exceptions)", nullable: true),
        Column("exception_code", ColumnKind.Int32, "the signal's number (exceptions)", nullable: true),
        Column("exception_pc", ColumnKind.UInt64, "where it interrupted the program (exceptions)", nullable: true),
        Column("exception_address", ColumnKind.UInt64, "the faulting address (memory faults)", nullable: true),
        Column("handled", ColumnKind.Boolean, "a handler of the program took it (exceptions)", nullable: true),
        Column("exit_code", ColumnKind.Int32, "the exit status (ProcessExit; null when a signal ended it)", nullable: true),
    ], Replayed: false);

    public static readonly ExportTable Threads = new("threads", "every thread of every process, at the position it was created, as `rewind threads`",
    [
        .. Position,
        Column("unique_tid", ColumnKind.Int64, "UniqueThreadId: 1, 2, 3... in creation order over the trace, never reused"),
        Column("tid", ColumnKind.Int32, "the guest tid (may be reused)"),
        Column("pid", ColumnKind.Int32, "its process"),
        Column("end_instr_count", ColumnKind.Int64, "the last instruction of its lifetime"),
        Column("end_position", ColumnKind.String, "the same as a TTD position"),
        Column("active_start", ColumnKind.Int64, "the first instruction it ran itself (null: it never ran)", nullable: true),
        Column("active_end", ColumnKind.Int64, "the last instruction it ran itself", nullable: true),
    ], Replayed: false);

    public static readonly ExportTable Processes = new("processes", "every process of the trace, at the position its first thread appears",
    [
        .. Position,
        Column("pid", ColumnKind.Int32, "the guest pid"),
        Column("parent_pid", ColumnKind.Int32, "its parent's pid, when the trace shows it", nullable: true),
        Column("executable", ColumnKind.String, "the program's path (the first process's; null for the others in this version)", nullable: true),
        Column("name", ColumnKind.String, "the task name it started with (the first process's; null for the others in this version)", nullable: true),
        Column("end_instr_count", ColumnKind.Int64, "the last instruction of its last thread"),
    ], Replayed: false);

    public static readonly ExportTable Modules = new("modules", "every image loaded (executable, interpreter, libraries), at the position it was loaded, as `rewind modules`",
    [
        .. Position,
        Column("module_index", ColumnKind.Int32, "its index in load order"),
        Column("name", ColumnKind.String, "the file's base name"),
        Column("path", ColumnKind.String, "the file's path"),
        Column("address", ColumnKind.UInt64, "its load base (dladdr's dli_fbase)"),
        Column("size", ColumnKind.UInt64, "bytes from the base to the end of its last mapping"),
        Column("pid", ColumnKind.Int32, "the process that loaded it"),
        Column("unloaded_instr_count", ColumnKind.Int64, "the position of the event that unmapped it (null: loaded to the end)", nullable: true),
    ], Replayed: false);

    /// <summary>Every table, in the order they are documented.</summary>
    public static readonly IReadOnlyList<ExportTable> Tables = [Instructions, Memory, Syscalls, Events, Threads, Processes, Modules];

    public static ExportTable? Find(string name) => Tables.FirstOrDefault(t => t.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The tables of a comma-separated list; an unknown name is a <see cref="FormatException"/>.</summary>
    public static IReadOnlyList<ExportTable> Parse(string list)
    {
        var tables = new List<ExportTable>();
        foreach (var name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var table = Find(name) ?? throw new FormatException($"'{name}' is not a table: use {string.Join(", ", Tables.Select(t => t.Name))}");
            if (!tables.Contains(table))
                tables.Add(table);
        }
        if (tables.Count == 0)
            throw new FormatException($"no tables given: use {string.Join(", ", Tables.Select(t => t.Name))}");
        return tables;
    }

    /// <summary>The schema as Markdown tables, as docs/export.md shows it.</summary>
    public static string Markdown()
    {
        var text = new StringBuilder();
        foreach (var table in Tables)
        {
            text.Append("### ").Append(table.Name).Append("\n\n").Append(char.ToUpperInvariant(table.Description[0])).Append(table.Description[1..]).Append(".\n\n");
            text.Append("| column | type | null | meaning |\n|---|---|---|---|\n");
            foreach (var column in table.Columns)
            {
                text.Append("| `").Append(column.Name).Append("` | ").Append(SqlType(column.Kind)).Append(" | ").Append(column.Nullable ? "yes" : "no")
                    .Append(" | ").Append(column.Description.Replace("|", "\\|", StringComparison.Ordinal)).Append(" |\n");
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>The type DuckDB gives the column.</summary>
    public static string SqlType(ColumnKind kind) => kind switch
    {
        ColumnKind.Int64 => "BIGINT",
        ColumnKind.UInt64 => "UBIGINT",
        ColumnKind.Int32 => "INTEGER",
        ColumnKind.Boolean => "BOOLEAN",
        ColumnKind.String => "VARCHAR",
        _ => "BLOB",
    };
}
