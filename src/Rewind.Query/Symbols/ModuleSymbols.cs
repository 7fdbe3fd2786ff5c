using Rewind.Query.Introspection;

namespace Rewind.Query.Symbols;

/// <summary>A function or a global variable of a loaded module, at its address in the run.</summary>
public sealed record Symbol(ModuleInfo Module, string Name, ulong Address, ulong Size, SymbolKind Kind)
{
    /// <summary>WinDbg's name for it: module!symbol (libc.so.6!malloc).</summary>
    public string FullName => $"{Module.Name}!{Name}";

    public override string ToString() => FullName;
}

/// <summary>
/// The symbols of one loaded module, read from the copy of its file that the trace stored: its
/// .symtab and .dynsym, and those of a separate debug file found on this machine by build-id
/// (<c>DEBUGDIR/.build-id/xx/yyyy.debug</c>) or by .gnu_debuglink when the stored file lacks them;
/// DWARF parameters and unwind tables come from whichever of the two has them.
/// Addresses are where the module was loaded in the run.
/// </summary>
public sealed class ModuleSymbols
{
    readonly Symbol[] _byAddress;
    readonly Lazy<DwarfFunctions?> _functions;
    readonly Lazy<CallFrameTable?> _frames;

    internal ModuleSymbols(ModuleInfo module, ElfImage? image, ElfImage? debugFile, string source, string? problem)
    {
        Module = module;
        Source = source;
        Problem = problem;
        var main = image ?? debugFile;
        Bias = main is null || !main.PositionIndependent ? 0 : module.Address - main.LinkBase;
        var symbols = new List<(Symbol Symbol, int Binding)>();
        foreach (var file in (ReadOnlySpan<ElfImage?>)[image, debugFile])
        {
            foreach (var s in file?.Symbols ?? [])
                symbols.Add((new Symbol(module, s.Name, s.Value + Bias, s.Size, s.Kind), s.Binding));
        }
        // At one address the name a reader expects first: global before weak before local, then the one with fewer leading underscores.
        _byAddress = symbols
            .DistinctBy(s => (s.Symbol.Name, s.Symbol.Address))
            .OrderBy(s => s.Symbol.Address)
            .ThenBy(s => s.Binding switch { 1 => 0, 2 => 1, _ => 2 })
            .ThenBy(s => s.Symbol.Name.Length - s.Symbol.Name.TrimStart('_').Length)
            .ThenBy(s => s.Symbol.Name.Length)
            .ThenBy(s => s.Symbol.Name, StringComparer.Ordinal)
            .Select(s => s.Symbol)
            .ToArray();
        var dwarf = debugFile is not null && debugFile.HasSection(".debug_info") ? debugFile : image;
        _functions = new(() => dwarf is null ? null : DwarfFunctions.Read(dwarf, Bias));
        var unwind = image is not null && image.HasSection(".eh_frame") ? image : debugFile;
        _frames = new(() => unwind is null ? null : CallFrameTable.Read(unwind, Bias));
    }

    public ModuleInfo Module { get; }

    /// <summary>What runtime addresses add to the file's addresses (the load base of a position-independent file, else 0).</summary>
    public ulong Bias { get; }

    /// <summary>Where the symbols came from: the trace's copy of the file and the debug file used, if any.</summary>
    public string Source { get; }

    /// <summary>Why the module has no symbols, or fewer than it could; null when nothing is missing.</summary>
    public string? Problem { get; }

    /// <summary>Every symbol, by address; at one address the preferred name first.</summary>
    public IReadOnlyList<Symbol> Symbols => _byAddress;

    /// <summary>Parameter names and types of functions, from DWARF (null when neither file has DWARF).</summary>
    internal DwarfFunctions? Functions => _functions.Value;

    /// <summary>The declared parameters of the function whose code starts at <paramref name="address"/>, from DWARF; null without DWARF for it.</summary>
    public FunctionSignature? Signature(ulong address) => Functions?.At(address);

    /// <summary>The unwind table (.eh_frame), for call stacks (null when there is none).</summary>
    internal CallFrameTable? Frames => _frames.Value;

    /// <summary>
    /// The symbol that holds <paramref name="address"/>: the last one at or below it, when the
    /// address lies within its size (or it has no size and the address is before the next symbol).
    /// </summary>
    public Symbol? At(ulong address)
    {
        int low = 0, high = _byAddress.Length - 1, found = -1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            if (_byAddress[middle].Address <= address)
                (found, low) = (middle, middle + 1);
            else
                high = middle - 1;
        }
        if (found < 0)
            return null;
        // Back to the preferred name at that address; a sized symbol there wins over one without a size.
        var start = _byAddress[found].Address;
        while (found > 0 && _byAddress[found - 1].Address == start)
            found--;
        Symbol? unsized = null;
        for (var i = found; i < _byAddress.Length && _byAddress[i].Address == start; i++)
        {
            var symbol = _byAddress[i];
            if (symbol.Size > 0 && address < symbol.Address + symbol.Size)
                return symbol;
            if (symbol.Size == 0)
                unsized ??= symbol;
        }
        return unsized is not null && address < Module.End ? unsized : null;
    }
}
