using System.Collections;
using Rewind.Query.Calls;
using Rewind.Query.Symbols;
using Rewind.Trace.Positions;

namespace Rewind.Query.Heap;

/// <summary>What a heap event did, as TTD.Data.Heap() names it.</summary>
public enum HeapAction
{
    Alloc,
    ReAlloc,
    Free,
}

/// <summary>
/// One call of the allocator: the block it gave (<see cref="Address"/>, <see cref="Size"/>) or
/// freed, for a realloc the block it replaced (<see cref="PreviousAddress"/>), the call's
/// positions and thread, the function, and the return addresses of the frames that called it
/// (innermost first: the allocating code).
/// </summary>
public sealed record HeapEvent(HeapAction Action, ulong Address, ulong Size, ulong PreviousAddress, Position TimeStart, Position TimeEnd, int ThreadId,
    string Function, IReadOnlyList<ulong> CallStack);

/// <summary>
/// TTD.Data.Heap(): every call of malloc, calloc, realloc, free, posix_memalign, aligned_alloc,
/// memalign, operator new and delete in every module, from <see cref="CallsQuery"/>, in call
/// order. Only the outermost allocator call of a thread counts: operator new calling malloc, or
/// realloc calling malloc inside the library, is one event.
/// </summary>
public sealed class HeapQuery : IEnumerable<HeapEvent>
{
    /// <summary>How many frames of each call's stack are unwound.</summary>
    public const int CallStackDepth = 16;

    enum Kind { Malloc, Calloc, Realloc, Free, PosixMemalign, AlignedAlloc }

    static readonly (string Name, Kind Kind)[] Allocators =
    [
        ("malloc", Kind.Malloc), ("calloc", Kind.Calloc), ("realloc", Kind.Realloc), ("free", Kind.Free),
        ("posix_memalign", Kind.PosixMemalign), ("aligned_alloc", Kind.AlignedAlloc), ("memalign", Kind.AlignedAlloc),
        ("_Znwm", Kind.Malloc), ("_Znam", Kind.Malloc), ("_ZdlPv", Kind.Free), ("_ZdaPv", Kind.Free), ("_ZdlPvm", Kind.Free), ("_ZdaPvm", Kind.Free),
    ];

    readonly TraceSession _session;
    readonly Dictionary<ulong, Kind> _kinds = [];
    readonly CallsQuery? _calls;

    internal HeapQuery(TraceSession session)
    {
        _session = session;
        var functions = new List<Symbol>();
        foreach (var (name, kind) in Allocators)
        {
            foreach (var symbol in session.Symbols.Find("*!" + name).Where(s => s.Kind == SymbolKind.Function))
            {
                if (_kinds.TryAdd(symbol.Address, kind))
                    functions.Add(symbol);
            }
        }
        if (functions.Count > 0)
        {
            _calls = new CallsQuery(session, functions)
            {
                CallStackDepth = CallStackDepth,
                ResultThroughFirstParameter = _kinds.Where(k => k.Value == Kind.PosixMemalign).Select(k => k.Key).ToHashSet(),
            };
        }
    }

    public IEnumerator<HeapEvent> GetEnumerator() => Events().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    IEnumerable<HeapEvent> Events()
    {
        if (_calls is null)
            yield break;
        // Per thread, where the outermost allocator call it is in ends.
        var outer = new Dictionary<int, Position>();
        foreach (var call in _calls)
        {
            if (outer.TryGetValue(call.UniqueThreadId, out var end) && call.TimeStart < end)
                continue;
            outer[call.UniqueThreadId] = call.TimeEnd;
            if (Event(call) is { } e)
                yield return e;
        }
    }

    HeapEvent? Event(FunctionCall call)
    {
        var p = call.Parameters;
        ulong Parameter(int i) => i < p.Count ? p[i] : 0;
        var result = call.ReturnValue ?? 0;
        HeapEvent Make(HeapAction action, ulong address, ulong size, ulong previous = 0) =>
            new(action, address, size, previous, call.TimeStart, call.TimeEnd, call.ThreadId, call.Function, call.CallStack);
        return _kinds[call.FunctionAddress] switch
        {
            Kind.Malloc => Make(HeapAction.Alloc, result, Parameter(0)),
            Kind.Calloc => Make(HeapAction.Alloc, result, Parameter(0) * Parameter(1)),
            Kind.AlignedAlloc => Make(HeapAction.Alloc, result, Parameter(1)),
            Kind.PosixMemalign => result == 0 && call.StoredResult is { } stored ? Make(HeapAction.Alloc, stored, Parameter(2)) : Make(HeapAction.Alloc, 0, Parameter(2)),
            Kind.Realloc when Parameter(0) == 0 => Make(HeapAction.Alloc, result, Parameter(1)),
            Kind.Realloc => Make(HeapAction.ReAlloc, result, Parameter(1), Parameter(0)),
            _ => Make(HeapAction.Free, Parameter(0), 0),
        };
    }

    /// <summary>
    /// The blocks allocated and not freed at <paramref name="position"/> (null: the end of the
    /// trace), by address: an allocation counts once its call returned, a free once it was called
    /// (before the position: the instruction at a position is about to run).
    /// </summary>
    public IReadOnlyList<HeapEvent> LiveAt(Position? position = null)
    {
        var live = new SortedDictionary<ulong, HeapEvent>();
        foreach (var e in this)
        {
            // At a position the instruction there has not run yet: a call made there has not happened.
            if (position is { } at && e.TimeStart >= at)
                break;
            if (position is { } before && e.Action != HeapAction.Free && e.TimeEnd > before)
                continue; // still being allocated

            if (e.Action is HeapAction.Free or HeapAction.ReAlloc)
                live.Remove(e.Action == HeapAction.Free ? e.Address : e.PreviousAddress);
            if (e.Action is HeapAction.Alloc or HeapAction.ReAlloc && e.Address != 0)
                live[e.Address] = e;
        }
        return [.. live.Values];
    }
}
