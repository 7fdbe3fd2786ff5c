namespace Rewind.Query.Introspection;

/// <summary>
/// Which module holds an address while a given instruction runs: the modules' file-backed mappings
/// as they were over the trace, kept as a sequence of epochs (an epoch begins wherever a start or
/// syscall changed them) of sorted, non-overlapping address ranges. Lookups do not allocate;
/// <see cref="Cursor"/> makes a scan in execution order cost a comparison or two per lookup.
/// </summary>
public sealed class ModuleMap
{
    readonly long[] _epochFrom;
    readonly int[] _epochOffset;
    readonly ulong[] _starts;
    readonly ulong[] _ends;
    readonly int[] _modules;

    internal ModuleMap(long[] epochFrom, int[] epochOffset, ulong[] starts, ulong[] ends, int[] modules)
    {
        _epochFrom = epochFrom;
        _epochOffset = epochOffset;
        _starts = starts;
        _ends = ends;
        _modules = modules;
    }

    /// <summary>Number of epochs: how many times the set of module mappings changed, plus one.</summary>
    public int Epochs => _epochFrom.Length;

    /// <summary>
    /// The index (in <see cref="TraceModel.Modules"/>) of the module mapped at <paramref name="address"/>
    /// while instruction <paramref name="instruction"/> runs, or -1 when no module is.
    /// </summary>
    public int Find(ulong address, long instruction)
    {
        var epoch = EpochOf(instruction);
        if (epoch < 0)
            return -1;
        var (low, high) = (_epochOffset[epoch], _epochOffset[epoch + 1]);
        var index = UpperBound(low, high, address) - 1;
        return index >= low && address < _ends[index] ? _modules[index] : -1;
    }

    /// <summary>The index of the epoch in which <paramref name="instruction"/> runs, or -1 before the first.</summary>
    int EpochOf(long instruction)
    {
        var index = Array.BinarySearch(_epochFrom, instruction);
        return index >= 0 ? index : ~index - 1;
    }

    /// <summary>The first region in [low, high) that starts above <paramref name="address"/>.</summary>
    int UpperBound(int low, int high, ulong address)
    {
        while (low < high)
        {
            var middle = (int)((uint)(low + high) >> 1);
            if (_starts[middle] <= address)
                low = middle + 1;
            else
                high = middle;
        }
        return low;
    }

    /// <summary>A lookup position for scans in execution order; instructions may also go back (it then seeks).</summary>
    public Cursor CreateCursor() => new(this);

    /// <summary>
    /// Remembers the current epoch and the last range found (a module's mapping or a gap between
    /// them), so that consecutive lookups in the same range cost one comparison. A mutable struct:
    /// keep it in a field or local and call it there, not through a copy.
    /// </summary>
    public struct Cursor
    {
        readonly ModuleMap _map;
        long _epochFrom;
        long _epochUntil;
        int _epoch;
        ulong _rangeStart;
        ulong _rangeLength;
        int _rangeModule;

        internal Cursor(ModuleMap map)
        {
            _map = map;
            _epoch = -1;
            _epochFrom = long.MaxValue;
            _epochUntil = long.MinValue;
        }

        /// <summary>As <see cref="ModuleMap.Find"/>.</summary>
        public int Find(ulong address, long instruction)
        {
            if (instruction >= _epochUntil || instruction < _epochFrom)
                Seek(instruction);
            if (address - _rangeStart < _rangeLength)
                return _rangeModule;
            return Search(address);
        }

        void Seek(long instruction)
        {
            var map = _map;
            _epoch = map.EpochOf(instruction);
            _epochFrom = _epoch < 0 ? long.MinValue : map._epochFrom[_epoch];
            _epochUntil = _epoch + 1 < map._epochFrom.Length ? map._epochFrom[_epoch + 1] : long.MaxValue;
            _rangeLength = 0;
        }

        int Search(ulong address)
        {
            var map = _map;
            if (_epoch < 0)
            {
                (_rangeStart, _rangeLength, _rangeModule) = (0, ulong.MaxValue, -1);
                return -1;
            }
            var (low, high) = (map._epochOffset[_epoch], map._epochOffset[_epoch + 1]);
            var next = map.UpperBound(low, high, address);
            if (next > low && address < map._ends[next - 1])
            {
                _rangeStart = map._starts[next - 1];
                _rangeLength = map._ends[next - 1] - _rangeStart;
                _rangeModule = map._modules[next - 1];
            }
            else
            {
                // The gap between two mappings: no module there.
                _rangeStart = next > low ? map._ends[next - 1] : 0;
                _rangeLength = (next < high ? map._starts[next] : ulong.MaxValue) - _rangeStart;
                _rangeModule = -1;
            }
            return _rangeModule;
        }
    }
}
