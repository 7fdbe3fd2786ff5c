using Rewind.Trace;

namespace Rewind.Query.Introspection;

/// <summary>
/// Follows the file-backed mappings of a trace, effect by effect, and groups them into modules:
/// a file's mappings become a module once one of them is executable, and the module is unloaded
/// when the last of them is gone. Anonymous mappings matter only for what they replace.
/// Used once per trace by <see cref="TraceModel"/>; not on any per-instruction path.
/// </summary>
internal sealed class MappingTracker
{
    const int ProtExec = 4;

    /// <summary>A file-backed range [Start, End); Module is -1 until the file becomes a module.</summary>
    sealed class Region
    {
        public ulong Start;
        public ulong End;
        public required string Path;
        public ulong FileOffset;
        public int Protection;
        public int Module = -1;

        public Region Slice(ulong start, ulong end) => new()
        {
            Start = start,
            End = end,
            Path = Path,
            FileOffset = FileOffset + (start - Start),
            Protection = Protection,
            Module = Module,
        };
    }

    /// <summary>A module as it is being built.</summary>
    internal sealed class Draft
    {
        public required string Path;
        public ulong Base;
        public ulong End;
        public long LoadedAt;        // instruction of the event that loaded it
        public long LoadedFrom;      // first instruction with it mapped
        public long? UnloadedAt;
        public long? UnloadedFrom;
        public bool Live = true;
    }

    readonly List<Region> _regions = [];   // sorted by Start, non-overlapping
    readonly Dictionary<string, int> _livePaths = new(StringComparer.Ordinal);
    bool _changed;

    // Epochs of the module ranges, for ModuleMap.
    readonly List<long> _epochFrom = [];
    readonly List<int> _epochOffset = [];
    readonly List<ulong> _starts = [];
    readonly List<ulong> _ends = [];
    readonly List<int> _modules = [];

    public List<Draft> Modules { get; } = [];

    /// <summary>Applies one mapping effect; other effects are ignored.</summary>
    public void Apply(Effect effect)
    {
        switch (effect)
        {
            case MapEffect map:
                Cut(map.Address, map.Address + map.Length);
                if (map.Path is { } path)
                    Insert(new Region { Start = map.Address, End = map.Address + map.Length, Path = path, FileOffset = map.FileOffset, Protection = map.Protection });
                break;
            case UnmapEffect unmap:
                Cut(unmap.Address, unmap.Address + PageUp(unmap.Length));
                break;
            case ProtectEffect protect:
                Protect(protect.Address, protect.Address + protect.Length, protect.Protection);
                break;
            case RemapEffect remap:
                Remap(remap.OldAddress, PageUp(remap.OldLength), PageUp(remap.NewLength), remap.NewAddress);
                break;
        }
    }

    /// <summary>
    /// execve replaced the program: every module is unloaded, even where the new image maps the
    /// same file at the same place (its interpreter), which is then a new module.
    /// </summary>
    public void UnloadAll(long at, long from)
    {
        foreach (var draft in Modules)
        {
            if (!draft.Live)
                continue;
            draft.Live = false;
            draft.UnloadedAt = at;
            draft.UnloadedFrom = from;
        }
        _livePaths.Clear();
        foreach (var region in _regions)
            region.Module = -1;
        _changed = true;
    }

    /// <summary>
    /// Called after the effects of one event: attaches new mappings to their modules, loads and
    /// unloads modules, and starts a new epoch when module ranges changed. <paramref name="at"/> is
    /// the event's instruction, <paramref name="from"/> the first instruction after its effects.
    /// </summary>
    public void EndEvent(long at, long from)
    {
        if (!_changed)
            return;
        _changed = false;

        // Mappings of a file that is a module already belong to it.
        foreach (var region in _regions)
        {
            if (region.Module < 0 && _livePaths.TryGetValue(region.Path, out var live))
                region.Module = live;
        }
        // An executable mapping of any other file loads it as a module, with all its mappings.
        foreach (var region in _regions)
        {
            if (region.Module >= 0 || (region.Protection & ProtExec) == 0)
                continue;
            var index = Modules.Count;
            var draft = new Draft { Path = region.Path, Base = ulong.MaxValue, LoadedAt = at, LoadedFrom = from };
            Modules.Add(draft);
            _livePaths[region.Path] = index;
            foreach (var other in _regions)
            {
                if (other.Module < 0 && other.Path == region.Path)
                    other.Module = index;
            }
            // dladdr's dli_fbase: the lowest address of the file's mapping at offset 0 at or
            // below the executable one (the ELF header), else the lowest of its mappings.
            ulong lowest = ulong.MaxValue, header = ulong.MaxValue;
            foreach (var other in _regions)
            {
                if (other.Module != index)
                    continue;
                lowest = Math.Min(lowest, other.Start);
                if (other.FileOffset == 0 && other.Start <= region.Start)
                    header = header == ulong.MaxValue ? other.Start : Math.Max(header, other.Start);
            }
            draft.Base = header != ulong.MaxValue ? header : lowest;
        }
        // Sizes grow as the loader maps the rest of a file; modules with no mapping left are unloaded.
        Span<bool> seen = Modules.Count <= 1024 ? stackalloc bool[Modules.Count] : new bool[Modules.Count];
        foreach (var region in _regions)
        {
            if (region.Module < 0)
                continue;
            seen[region.Module] = true;
            var draft = Modules[region.Module];
            draft.End = Math.Max(draft.End, region.End);
        }
        for (var i = 0; i < Modules.Count; i++)
        {
            var draft = Modules[i];
            if (!draft.Live || seen[i])
                continue;
            draft.Live = false;
            draft.UnloadedAt = at;
            draft.UnloadedFrom = from;
            if (_livePaths.TryGetValue(draft.Path, out var live) && live == i)
                _livePaths.Remove(draft.Path);
        }
        RecordEpoch(from);
    }

    void RecordEpoch(long from)
    {
        var start = _starts.Count;
        foreach (var region in _regions)
        {
            if (region.Module < 0)
                continue;
            // Neighbouring mappings of one module are one range.
            if (_starts.Count > start && _ends[^1] == region.Start && _modules[^1] == region.Module)
                _ends[^1] = region.End;
            else
            {
                _starts.Add(region.Start);
                _ends.Add(region.End);
                _modules.Add(region.Module);
            }
        }
        if (_epochFrom.Count > 0 && SameAsPrevious(start))
        {
            RemoveFrom(start);
            return;
        }
        if (_epochFrom.Count > 0 && _epochFrom[^1] == from)
        {
            // Two events before the same instruction: the later one's ranges hold.
            var previous = _epochOffset[^1];
            _starts.RemoveRange(previous, start - previous);
            _ends.RemoveRange(previous, start - previous);
            _modules.RemoveRange(previous, start - previous);
            return;
        }
        _epochFrom.Add(from);
        _epochOffset.Add(start);
    }

    bool SameAsPrevious(int start)
    {
        var previous = _epochOffset[^1];
        if (start - previous != _starts.Count - start)
            return false;
        for (var i = 0; i < start - previous; i++)
        {
            if (_starts[previous + i] != _starts[start + i] || _ends[previous + i] != _ends[start + i] || _modules[previous + i] != _modules[start + i])
                return false;
        }
        return true;
    }

    void RemoveFrom(int start)
    {
        _starts.RemoveRange(start, _starts.Count - start);
        _ends.RemoveRange(start, _ends.Count - start);
        _modules.RemoveRange(start, _modules.Count - start);
    }

    public ModuleMap BuildMap() =>
        new([.. _epochFrom], [.. _epochOffset, _starts.Count], [.. _starts], [.. _ends], [.. _modules]);

    // ---- the file-backed ranges ----

    static ulong PageUp(ulong value) => (value + TraceFormat.PageSize - 1) & ~((ulong)TraceFormat.PageSize - 1);

    /// <summary>Removes [start, end) from every region, splitting those it cuts; returns the removed pieces in address order.</summary>
    List<Region> Cut(ulong start, ulong end)
    {
        var removed = new List<Region>();
        if (end <= start)
            return removed;
        for (var i = 0; i < _regions.Count; i++)
        {
            var region = _regions[i];
            if (region.End <= start || region.Start >= end)
                continue;
            _changed = true;
            removed.Add(region.Slice(Math.Max(region.Start, start), Math.Min(region.End, end)));
            var before = region.Start < start ? region.Slice(region.Start, start) : null;
            var after = region.End > end ? region.Slice(end, region.End) : null;
            _regions.RemoveAt(i);
            if (after is not null)
                _regions.Insert(i, after);
            if (before is not null)
                _regions.Insert(i, before);
            i += (before is null ? 0 : 1) + (after is null ? 0 : 1) - 1;
        }
        return removed;
    }

    void Insert(Region region)
    {
        _changed = true;
        var index = _regions.FindIndex(r => r.Start > region.Start);
        _regions.Insert(index < 0 ? _regions.Count : index, region);
    }

    void Protect(ulong start, ulong end, int protection)
    {
        foreach (var piece in Cut(start, end))
        {
            piece.Protection = protection;
            Insert(piece);
        }
    }

    void Remap(ulong oldAddress, ulong oldLength, ulong newLength, ulong newAddress)
    {
        var pieces = Cut(oldAddress, oldAddress + oldLength);
        if (newAddress != oldAddress)
            Cut(newAddress, newAddress + newLength);
        var oldEnd = oldAddress + Math.Min(oldLength, newLength);
        foreach (var piece in pieces)
        {
            if (piece.Start >= oldEnd)
                continue;
            if (piece.End > oldEnd)
                piece.End = oldEnd;
            // A mapping that reached the old end grows with the new length.
            if (newLength > oldLength && piece.End == oldAddress + oldLength)
                piece.End = oldAddress + newLength;
            var shift = newAddress - oldAddress;
            piece.Start += shift;
            piece.End += shift;
            Insert(piece);
        }
    }
}
