using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Export.Parquet;
using Rewind.Index;
using Rewind.Linux.Execution;
using Rewind.Linux.Memory;
using Rewind.Linux.Syscalls;
using Rewind.Trace;

namespace Rewind.Export.Replayed;

/// <summary>Which rows of a segment go out: instructions First to Last (inclusive), and for memory and instructions an address range.</summary>
internal readonly record struct RowWindow(long First, long Last, ulong Begin, ulong End)
{
    public bool Holds(long instruction) => instruction >= First && instruction <= Last;

    public bool Overlaps(ulong address, int size) => address < End && address + (ulong)Math.Max(size, 1) > Begin;
}

/// <summary>
/// Fills the replayed tables (instructions, memory, syscalls) from one replay, which it follows
/// through consecutive segments. Instructions come a block at a time, as memorymap's do: a block
/// hook decodes each block once and reports its instructions when the next block starts, cut to
/// the instructions that ran. For memory, a native code hook notes the pc and count of each
/// instruction (the engine does not keep RIP current in memory hooks), and read and write hooks on
/// the whole address space add a row per access; an instruction's 'e' row goes out before its first
/// data access, so that rows come in TTD's order (execution, reads, writes) without sorting.
/// Syscalls come from the replay's own syscall callback, with the argument registers.
/// </summary>
internal sealed unsafe class SegmentCollector : IDisposable
{
    struct State
    {
        public long Next;
        public long Current;
        public ulong Pc;
    }

    readonly SegmentReplay _replay;
    readonly GuestProcess _process;
    readonly InstructionCounter _counter;
    readonly TableSink? _instructions;
    readonly TableSink? _memory;
    readonly TableSink? _syscalls;
    readonly BlockCodeCache _code;
    readonly FunctionNames? _functions;
    readonly State* _state;
    GCHandle _self;
    RowWindow _window;

    // The block being run: who runs it, where its instructions are, how many 'e' rows it gave.
    BlockCode? _block;
    long _blockFirst;
    int _pid, _tid, _image;
    int _executed;
    Mapping? _imageMapping;

    // The instruction whose memory rows come in, and the row of its first write (-1: none yet).
    long _rowsOf = -1;
    int _firstWrite = -1;

    readonly int _instructionPc, _instructionSize, _instructionImage, _instructionSymbol;
    readonly int _memoryIp, _memoryAccess, _memoryAddress, _memorySize, _memoryValue, _memoryBytes;
    readonly int _read, _write, _execute;
    readonly int _syscallNumber, _syscallName, _syscallArg0, _syscallResult, _syscallUnsupported;

    // Every table starts with instr_count, sequence, steps; the replayed ones go on with pid and tid.
    const int InstrCount = 0, Pid = 3, Tid = 4;

    public SegmentCollector(SegmentReplay replay, TableSink? instructions, TableSink? memory, TableSink? syscalls, FunctionNames? functions = null)
    {
        _functions = functions;
        _replay = replay;
        _process = replay.Process;
        _counter = _process.Counter;
        _instructions = instructions;
        _memory = memory;
        _syscalls = syscalls;
        _code = new BlockCodeCache(_process);
        _state = (State*)NativeMemory.AllocZeroed((nuint)sizeof(State));
        _self = GCHandle.Alloc(this);
        _process.CodeChanged += (_, _) => _imageMapping = null;
        var user = (void*)GCHandle.ToIntPtr(_self);
        var cpu = replay.Cpu;
        if (instructions is not null || memory is not null)
        {
            // After the block counter's hook (hooks run in the order they were added), so its count of the block is known.
            cpu.AddHook(HookType.Block, (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnBlock, user);
        }
        if (instructions is { } i)
        {
            var table = i.Table;
            (_instructionPc, _instructionSize, _instructionImage, _instructionSymbol) = (table.Ordinal("pc"), table.Ordinal("size"), table.Ordinal("image"), table.Ordinal("symbol"));
        }
        if (memory is { } m)
        {
            var table = m.Table;
            (_memoryIp, _memoryAccess, _memoryAddress) = (table.Ordinal("ip"), table.Ordinal("access"), table.Ordinal("address"));
            (_memorySize, _memoryValue, _memoryBytes) = (table.Ordinal("size"), table.Ordinal("value"), table.Ordinal("value_bytes"));
            (_read, _write, _execute) = (m.Rows.Intern("r"), m.Rows.Intern("w"), m.Rows.Intern("e"));
            cpu.AddHook(HookType.Code, (delegate* unmanaged[Cdecl]<nint, ulong, uint, State*, void>)&OnInstruction, _state);
            // A read hook makes the engine take its slow path for every access, where read-after hooks are called.
            cpu.AddHook(HookType.MemRead, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, void*, void>)&OnNothing, null, 0, 0);
            cpu.AddHook(HookType.MemReadAfter, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, void*, void>)&OnRead, user);
            cpu.AddHook(HookType.MemWrite, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, void*, void>)&OnWrite, user);
        }
        if (syscalls is { } s)
        {
            var table = s.Table;
            (_syscallNumber, _syscallName, _syscallArg0) = (table.Ordinal("number"), table.Ordinal("name"), table.Ordinal("arg0"));
            (_syscallResult, _syscallUnsupported) = (table.Ordinal("result"), table.Ordinal("unsupported"));
            replay.Session.SyscallReplayed = OnSyscall;
        }
        // The replay has not run yet: every block is translated with these hooks.
    }

    /// <summary>Starts the rows of a segment, which the replay is about to run.</summary>
    public void Begin(int segment, RowWindow window)
    {
        _window = window;
        _instructions?.Begin(segment);
        _memory?.Begin(segment);
        _syscalls?.Begin(segment);
    }

    /// <summary>Ends the segment where the replay stopped: its last block's rows, then its files.</summary>
    public void End(bool filesEvenIfEmpty)
    {
        FinishBlock(_replay.Instructions);
        _instructions?.End(filesEvenIfEmpty);
        _memory?.End(filesEvenIfEmpty);
        _syscalls?.End(filesEvenIfEmpty);
    }

    /// <summary>Failures inside a hook cannot unwind through the engine: they end the run and are thrown after it.</summary>
    public Exception? Failure { get; private set; }

    static SegmentCollector From(void* user) => Unsafe.As<SegmentCollector>(GCHandle.FromIntPtr((nint)user).Target!);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnInstruction(nint engine, ulong address, uint size, State* state)
    {
        state->Pc = address;
        state->Current = state->Next++;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnNothing(nint engine, int type, ulong address, int size, long value, void* user)
    {
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnBlock(nint engine, ulong address, uint size, void* user)
    {
        var self = From(user);
        try
        {
            self.Entered(address, size);
        }
        catch (Exception e)
        {
            self.Fail(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnRead(nint engine, int type, ulong address, int size, long value, void* user) => From(user).Access(false, address, size, (ulong)value);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnWrite(nint engine, int type, ulong address, int size, long value, void* user) => From(user).Access(true, address, size, (ulong)value);

    void Fail(Exception e)
    {
        Failure ??= e;
        _process.Fail(e);
    }

    void Entered(ulong address, uint size)
    {
        var first = _counter.BlockFirst;
        // Not counted: the counter sends the block to be translated again, and it is counted when it runs.
        if (_counter.Instructions == first)
            return;
        FinishBlock(first);
        _block = _code.Get(address, size);
        _blockFirst = first;
        _executed = 0;
        _state->Next = first;
        (_pid, _tid) = (_process.Pid, _process.Tid);
        if (_instructions is not null)
            _image = ImageOf(address);
    }

    int ImageOf(ulong pc)
    {
        if (_imageMapping is { } last && pc >= last.Start && pc < last.End)
            return _image;
        _imageMapping = _process.Memory.Find(pc);
        return _instructions!.Rows.Intern(_imageMapping?.Path);
    }

    /// <summary>Reports the block that is running, up to (not including) instruction <paramref name="next"/>.</summary>
    void FinishBlock(long next)
    {
        if (_block is not { } block)
            return;
        var ran = (int)Math.Clamp(next - _blockFirst, 0, block.Count);
        if (_memory is not null)
            Executed(ran);
        if (_instructions is { } sink)
        {
            var rows = sink.Rows;
            for (var i = 0; i < ran; i++)
            {
                var instruction = _blockFirst + i;
                if (!_window.Holds(instruction) || !_window.Overlaps(block.Pc(i), 1))
                    continue;
                if (rows.Full)
                    sink.Flush();
                var row = rows.Count++;
                rows.Longs(InstrCount)[row] = instruction;
                rows.Ints(Pid)[row] = _pid;
                rows.Ints(Tid)[row] = _tid;
                rows.Longs(_instructionPc)[row] = (long)block.Pc(i);
                rows.Ints(_instructionSize)[row] = block.Size(i);
                rows.StringIds(_instructionImage)[row] = _image;
                rows.StringIds(_instructionSymbol)[row] = SymbolOf(block, i);
            }
        }
        _block = null;
    }

    /// <summary>The function holding the block's instruction <paramref name="index"/>, looked up for the whole block the first time.</summary>
    int SymbolOf(BlockCode block, int index)
    {
        if (_functions is null)
            return -1;
        if (block.SymbolIds is not { } ids)
        {
            ids = new int[block.Count];
            for (var i = 0; i < ids.Length; i++)
                ids[i] = _instructions!.Rows.Intern(_functions.At(_pid, block.Pc(i), _blockFirst + i));
            block.SymbolIds = ids;
        }
        return ids[index];
    }

    /// <summary>The 'e' rows of the block's instructions before <paramref name="upTo"/> (an index in the block) not given yet.</summary>
    void Executed(int upTo)
    {
        var block = _block!;
        for (; _executed < upTo; _executed++)
        {
            var instruction = _blockFirst + _executed;
            var pc = block.Pc(_executed);
            var size = block.Size(_executed);
            if (!_window.Holds(instruction) || !_window.Overlaps(pc, size))
                continue;
            var bytes = block.Bytes(_executed);
            AddMemoryRow(instruction, pc, _execute, pc, size, Packed(bytes), bytes);
        }
    }

    /// <summary>The first 8 bytes (or fewer) packed little-endian.</summary>
    static ulong Packed(ReadOnlySpan<byte> bytes)
    {
        ulong value = 0;
        for (var i = Math.Min(8, bytes.Length) - 1; i >= 0; i--)
            value = value << 8 | bytes[i];
        return value;
    }

    void Access(bool write, ulong address, int size, ulong value)
    {
        try
        {
            var instruction = _state->Current;
            if (!_window.Holds(instruction) || _block is null)
                return;
            var index = (int)(instruction - _blockFirst);
            if (index >= 0 && index < _block.Count)
                Executed(index + 1);
            if (!_window.Overlaps(address, size))
                return;
            if (size < 8)
                value &= (1UL << (size * 8)) - 1;
            Span<byte> bytes = stackalloc byte[16];
            // After a read, memory holds what was read: the bytes past the first 8 come from there.
            var wide = size > 8 && !write && _process.Memory.Peek(address, bytes[..Math.Min(size, 16)]);
            AddMemoryRow(instruction, _state->Pc, write ? _write : _read, address, size, value, wide ? bytes[..Math.Min(size, 16)] : []);
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    void AddMemoryRow(long instruction, ulong ip, int access, ulong address, int size, ulong value, ReadOnlySpan<byte> bytes)
    {
        var sink = _memory!;
        var rows = sink.Rows;
        if (instruction != _rowsOf)
        {
            // A row group ends between two instructions, so that one instruction's rows can still be put in order.
            if (rows.Full)
                sink.Flush();
            (_rowsOf, _firstWrite) = (instruction, -1);
        }
        else if (rows.Full)
        {
            sink.Flush();
            _firstWrite = -1;
        }
        var row = rows.Count++;
        rows.Longs(InstrCount)[row] = instruction;
        rows.Ints(Pid)[row] = _pid;
        rows.Ints(Tid)[row] = _tid;
        rows.Longs(_memoryIp)[row] = (long)ip;
        rows.StringIds(_memoryAccess)[row] = access;
        rows.Longs(_memoryAddress)[row] = (long)address;
        rows.Ints(_memorySize)[row] = size;
        rows.Longs(_memoryValue)[row] = (long)value;
        rows.SetBytes(_memoryBytes, row, bytes.Length > 8 ? bytes : default, isNull: bytes.Length <= 8);
        if (access == _write)
        {
            if (_firstWrite < 0)
                _firstWrite = row;
        }
        else if (access == _read && _firstWrite >= 0)
        {
            // A read after a write of the same instruction: reads go first.
            rows.MoveRowUp(row, _firstWrite);
            _firstWrite++;
        }
    }

    void OnSyscall(SyscallEvent recorded, in SyscallArgs args)
    {
        if (!_window.Holds(recorded.Instruction))
            return;
        var sink = _syscalls!;
        var rows = sink.Rows;
        if (rows.Full)
            sink.Flush();
        var row = rows.Count++;
        rows.Longs(InstrCount)[row] = recorded.Instruction;
        rows.Ints(Pid)[row] = _process.Pid;
        rows.Ints(Tid)[row] = _process.Tid;
        rows.Ints(_syscallNumber)[row] = recorded.Number;
        rows.StringIds(_syscallName)[row] = rows.Intern(SyscallNames.Name(recorded.Number));
        for (var i = 0; i < 6; i++)
            rows.Longs(_syscallArg0 + i)[row] = (long)args[i];
        rows.Longs(_syscallResult)[row] = recorded.Result;
        rows.Bools(_syscallUnsupported)[row] = recorded.Unsupported;
    }

    public void Dispose()
    {
        NativeMemory.Free(_state);
        if (_self.IsAllocated)
            _self.Free();
    }
}
