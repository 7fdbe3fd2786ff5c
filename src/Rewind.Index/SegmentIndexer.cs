using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Execution;

namespace Rewind.Index;

/// <summary>
/// Watches one segment's replay and notes which 64-byte lines it read, wrote and executed and in
/// which of the segment's 64 chunks, and for each page and chunk the first and the last block that
/// did. Memory hooks cover the whole address space; the hook's fast path touches only native memory
/// (a small direct-mapped filter of the lines noted since the chunk changed, which also keeps the
/// last block that touched each, then hash tables), and a block hook notes the executed lines, the
/// block being run and its chunk. One indexer follows one replay through consecutive segments: the hooks stay,
/// <see cref="Begin"/> starts the tables of the next segment.
/// </summary>
internal sealed unsafe class SegmentIndexer : IDisposable
{
    const int FilterSize = 512;

    struct State
    {
        /// <summary>The chunk where the block being run starts.</summary>
        public long Chunk;
        /// <summary>Instructions [ChunkBegin, ChunkEnd) lie in <see cref="Chunk"/>.</summary>
        public long ChunkBegin, ChunkEnd;
        /// <summary>The counts of the first and the last instruction of the block being run.</summary>
        public long BlockFirst, BlockLast;
        public PageTable Read, Write, Execute;
        public StretchTable ReadStretches, WriteStretches, ExecuteStretches;
        public AccessorTable Accessors;
        public ulong BlockStart;
        public uint BlockSize;
        public nint Owner;
        // (page, block) pairs noted since the chunks last changed, direct-mapped.
        public fixed ulong AccessorPages[FilterSize];
        public fixed ulong AccessorBlocks[FilterSize];
        // Lines (+ 1) noted since the chunk last changed, direct-mapped: most accesses stop here,
        // noting only the block's last instruction, which goes to the stretches when the line leaves.
        public fixed ulong ReadFilter[FilterSize];
        public fixed ulong WriteFilter[FilterSize];
        public fixed ulong ExecuteFilter[FilterSize];
        public fixed long ReadLast[FilterSize];
        public fixed long WriteLast[FilterSize];
        public fixed long ExecuteLast[FilterSize];
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
    /// replay has just reached: call after taking the previous segment's <see cref="TakePages"/>.
    /// </summary>
    public void Begin(SegmentInfo segment)
    {
        _segment = segment;
        FreeTables();
        InitializeTables();
        // An empty chunk range: the next block enters the new segment's chunks.
        (_state->ChunkBegin, _state->ChunkEnd) = (0, 0);
        ClearLineFilters();
        new Span<ulong>(_state->AccessorPages, FilterSize).Clear();
        new Span<ulong>(_state->AccessorBlocks, FilterSize).Clear();
    }

    void InitializeTables()
    {
        _state->Read.Initialize();
        _state->Write.Initialize();
        _state->Execute.Initialize();
        _state->ReadStretches.Initialize();
        _state->WriteStretches.Initialize();
        _state->ExecuteStretches.Initialize();
        _state->Accessors.Initialize();
    }

    void FreeTables()
    {
        _state->Read.Free();
        _state->Write.Free();
        _state->Execute.Free();
        _state->ReadStretches.Free();
        _state->WriteStretches.Free();
        _state->ExecuteStretches.Free();
        _state->Accessors.Free();
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnBlock(nint engine, ulong address, uint size, State* state)
    {
        // Runs after the block counter's hook: the counter has counted this block already.
        var self = Unsafe.As<SegmentIndexer>(GCHandle.FromIntPtr(state->Owner).Target!);
        var first = self._counter.BlockFirst;
        var last = Math.Max(first, self._counter.Instructions - 1);
        if (first < state->ChunkBegin || first >= state->ChunkEnd)
            self.EnterChunk(first);
        (state->BlockFirst, state->BlockLast) = (first, last);
        state->BlockStart = address;
        state->BlockSize = size;
        var firstLine = address >> PageSet.LineShift;
        var lastLine = (address + Math.Max(size, 1) - 1) >> PageSet.LineShift;
        for (var line = firstLine; line <= lastLine; line++)
            Note(ref state->Execute, ref state->ExecuteStretches, state->ExecuteFilter, state->ExecuteLast, line, state);
    }

    /// <summary>A block starts in another chunk than the previous one: pass the last blocks noted for the previous one to the stretches.</summary>
    void EnterChunk(long first)
    {
        FlushLineFilters();
        var chunk = _segment.ChunkOf(first);
        _state->Chunk = chunk;
        (_state->ChunkBegin, _state->ChunkEnd) = (_segment.ChunkStart(chunk), _segment.ChunkStart(chunk + 1));
    }

    void FlushLineFilters()
    {
        Flush(ref _state->ReadStretches, _state->ReadFilter, _state->ReadLast, _state->Chunk);
        Flush(ref _state->WriteStretches, _state->WriteFilter, _state->WriteLast, _state->Chunk);
        Flush(ref _state->ExecuteStretches, _state->ExecuteFilter, _state->ExecuteLast, _state->Chunk);
        ClearLineFilters();
    }

    static void Flush(ref StretchTable stretches, ulong* filter, long* last, long chunk)
    {
        for (var slot = 0; slot < FilterSize; slot++)
        {
            if (filter[slot] != 0)
                stretches.Add(PageOf(filter[slot] - 1), chunk, last[slot], last[slot]);
        }
    }

    static ulong PageOf(ulong line) => line >> (PageSet.PageShift - PageSet.LineShift);

    void ClearLineFilters()
    {
        new Span<ulong>(_state->ReadFilter, FilterSize).Clear();
        new Span<ulong>(_state->WriteFilter, FilterSize).Clear();
        new Span<ulong>(_state->ExecuteFilter, FilterSize).Clear();
    }

    static void Note(ref PageTable lines, ref StretchTable stretches, ulong* filter, long* last, ulong line, State* state)
    {
        var slot = (int)(line & (FilterSize - 1));
        if (filter[slot] == line + 1)
        {
            last[slot] = state->BlockLast;
            return;
        }
        if (filter[slot] != 0)
            stretches.Add(PageOf(filter[slot] - 1), state->Chunk, last[slot], last[slot]);
        filter[slot] = line + 1;
        last[slot] = state->BlockLast;
        lines.Add(line, 1UL << (int)state->Chunk);
        stretches.Add(PageOf(line), state->Chunk, state->BlockFirst, state->BlockLast);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnMemory(nint engine, int type, ulong address, int size, long value, State* state)
    {
        var firstLine = address >> PageSet.LineShift;
        var lastLine = (address + (ulong)Math.Max(size, 1) - 1) >> PageSet.LineShift;
        var write = type == (int)MemoryAccessKind.Write;
        for (var line = firstLine; line <= lastLine; line++)
        {
            if (write)
                Note(ref state->Write, ref state->WriteStretches, state->WriteFilter, state->WriteLast, line, state);
            else
                Note(ref state->Read, ref state->ReadStretches, state->ReadFilter, state->ReadLast, line, state);
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
    public (PageSet Read, PageSet Write, PageSet Execute, AccessorSet Accessors) TakePages()
    {
        FlushLineFilters();
        return (_state->Read.ToPageSet(_state->ReadStretches.ToRangeMap()), _state->Write.ToPageSet(_state->WriteStretches.ToRangeMap()),
            _state->Execute.ToPageSet(_state->ExecuteStretches.ToRangeMap()), _state->Accessors.ToAccessorSet());
    }

    public void Dispose()
    {
        FreeTables();
        NativeMemory.Free(_state);
        if (_self.IsAllocated)
            _self.Free();
    }
}
