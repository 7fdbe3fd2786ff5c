using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Execution;

namespace Rewind.Index;

/// <summary>
/// Watches one segment's replay and notes which 64-byte lines it read, wrote and executed, and in
/// which of the segment's 64 chunks. Memory hooks cover the whole address space; the hook's fast
/// path touches only native memory (a small direct-mapped filter of the lines noted since the
/// chunk changed, then a hash table), and a block hook notes the executed lines and the chunk of
/// the block being run. One indexer follows one replay through consecutive segments: the hooks stay,
/// <see cref="Begin"/> starts the tables of the next segment.
/// </summary>
internal sealed unsafe class SegmentIndexer : IDisposable
{
    const int FilterSize = 512;

    struct State
    {
        /// <summary>Chunks spanned by the block being run.</summary>
        public ulong Chunks;
        /// <summary>Instructions [ChunkBegin, ChunkEnd) lie in <see cref="Chunks"/>.</summary>
        public long ChunkBegin, ChunkEnd;
        public PageTable Read, Write, Execute;
        public AccessorTable Accessors;
        public ulong BlockStart;
        public uint BlockSize;
        public nint Owner;
        // (page, block) pairs noted since the chunks last changed, direct-mapped.
        public fixed ulong AccessorPages[FilterSize];
        public fixed ulong AccessorBlocks[FilterSize];
        // Lines (+ 1) noted since the chunks last changed, direct-mapped: most accesses stop here.
        public fixed ulong ReadFilter[FilterSize];
        public fixed ulong WriteFilter[FilterSize];
        public fixed ulong ExecuteFilter[FilterSize];
    }

    readonly InstructionCounter _counter;
    readonly State* _state;
    SegmentInfo _segment;
    GCHandle _self;

    /// <summary>Hooks <paramref name="replay"/>, which has not run yet, and starts noting for <paramref name="segment"/>.</summary>
    public SegmentIndexer(SegmentReplay replay, SegmentInfo segment)
    {
        _counter = replay.Process.Counter;
        _state = (State*)NativeMemory.AllocZeroed((nuint)sizeof(State));
        _segment = segment;
        InitializeTables();
        _self = GCHandle.Alloc(this);
        _state->Owner = GCHandle.ToIntPtr(_self);
        var cpu = replay.Cpu;
        cpu.AddHook(HookType.Block, (delegate* unmanaged[Cdecl]<nint, ulong, uint, State*, void>)&OnBlock, _state);
        cpu.AddHook(HookType.MemRead | HookType.MemWrite, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, State*, void>)&OnMemory, _state);
        // Nothing has been translated yet, so the hooks apply everywhere without dropping code.
    }

    /// <summary>
    /// Starts noting for <paramref name="segment"/>, the one after the segment noted so far, which the
    /// replay has just reached: call after taking the previous segment's <see cref="Pages"/>.
    /// </summary>
    public void Begin(SegmentInfo segment)
    {
        _segment = segment;
        FreeTables();
        InitializeTables();
        // An empty chunk range: the next block enters the new segment's chunks and clears the line filters.
        (_state->ChunkBegin, _state->ChunkEnd) = (0, 0);
        new Span<ulong>(_state->AccessorPages, FilterSize).Clear();
        new Span<ulong>(_state->AccessorBlocks, FilterSize).Clear();
    }

    void InitializeTables()
    {
        _state->Read.Initialize();
        _state->Write.Initialize();
        _state->Execute.Initialize();
        _state->Accessors.Initialize();
    }

    void FreeTables()
    {
        _state->Read.Free();
        _state->Write.Free();
        _state->Execute.Free();
        _state->Accessors.Free();
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnBlock(nint engine, ulong address, uint size, State* state)
    {
        // Runs after the block counter's hook: the counter has counted this block already.
        var self = Unsafe.As<SegmentIndexer>(GCHandle.FromIntPtr(state->Owner).Target!);
        var first = self._counter.BlockFirst;
        var last = Math.Max(first, self._counter.Instructions - 1);
        if (first < state->ChunkBegin || last >= state->ChunkEnd)
            self.EnterChunks(first, last);
        var chunks = state->Chunks;
        state->BlockStart = address;
        state->BlockSize = size;
        var firstLine = address >> PageSet.LineShift;
        var lastLine = (address + Math.Max(size, 1) - 1) >> PageSet.LineShift;
        for (var line = firstLine; line <= lastLine; line++)
            Note(ref state->Execute, state->ExecuteFilter, line, chunks);
    }

    /// <summary>A block spans other chunks than the previous one: note which, and forget the pages noted for the previous ones.</summary>
    void EnterChunks(long first, long last)
    {
        var (a, b) = (_segment.ChunkOf(first), _segment.ChunkOf(last));
        _state->Chunks = _segment.ChunksBetween(first, last);
        // Blocks within [ChunkBegin, ChunkEnd) span the same chunks; a block that spans two chunks gets an empty range.
        (_state->ChunkBegin, _state->ChunkEnd) = a == b ? (_segment.ChunkStart(a), _segment.ChunkStart(a + 1)) : (0, 0);
        new Span<ulong>(_state->ReadFilter, FilterSize).Clear();
        new Span<ulong>(_state->WriteFilter, FilterSize).Clear();
        new Span<ulong>(_state->ExecuteFilter, FilterSize).Clear();
    }

    static void Note(ref PageTable table, ulong* filter, ulong line, ulong chunks)
    {
        var slot = (int)(line & (FilterSize - 1));
        if (filter[slot] == line + 1)
            return;
        filter[slot] = line + 1;
        table.Add(line, chunks);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnMemory(nint engine, int type, ulong address, int size, long value, State* state)
    {
        var chunks = state->Chunks;
        var firstLine = address >> PageSet.LineShift;
        var lastLine = (address + (ulong)Math.Max(size, 1) - 1) >> PageSet.LineShift;
        var write = type == (int)MemoryAccessKind.Write;
        for (var line = firstLine; line <= lastLine; line++)
        {
            if (write)
                Note(ref state->Write, state->WriteFilter, line, chunks);
            else
                Note(ref state->Read, state->ReadFilter, line, chunks);
        }
        var firstPage = firstLine >> (PageSet.PageShift - PageSet.LineShift);
        var lastPage = lastLine >> (PageSet.PageShift - PageSet.LineShift);
        for (var page = firstPage; page <= lastPage; page++)
        {
            var slot = (int)(AccessorTable.Hash(page, state->BlockStart) & (FilterSize - 1));
            if (state->AccessorPages[slot] == page + 1 && state->AccessorBlocks[slot] == state->BlockStart)
                continue;
            state->AccessorPages[slot] = page + 1;
            state->AccessorBlocks[slot] = state->BlockStart;
            state->Accessors.Add(page, state->BlockStart, state->BlockSize);
        }
    }

    /// <summary>What the segment touched so far, and which blocks read or wrote each page.</summary>
    public (PageSet Read, PageSet Write, PageSet Execute, AccessorSet Accessors) Pages =>
        (_state->Read.ToPageSet(), _state->Write.ToPageSet(), _state->Execute.ToPageSet(), _state->Accessors.ToAccessorSet());

    public void Dispose()
    {
        FreeTables();
        NativeMemory.Free(_state);
        if (_self.IsAllocated)
            _self.Free();
    }
}
