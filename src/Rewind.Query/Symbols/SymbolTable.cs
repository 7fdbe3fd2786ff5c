using System.Globalization;
using System.Text.RegularExpressions;
using Rewind.Query.Introspection;
using Rewind.Trace;

namespace Rewind.Query.Symbols;

/// <summary>
/// The symbols of every module of a trace, read when first needed from the trace's stored copy of
/// each file (see <see cref="ModuleSymbols"/>): addresses to <c>module!symbol+0x1f</c>, and
/// <c>module!symbol</c> patterns (with <c>*</c> and <c>?</c> wildcards) to addresses. The module
/// part is the file's name (<c>libc.so.6</c>) or its name up to the first dot (<c>libc</c>), and may be left out.
/// </summary>
public sealed class SymbolTable
{
    readonly TraceModel _model;
    readonly TraceReader _trace;
    readonly IReadOnlyList<string> _debugDirectories;
    readonly ModuleSymbols?[] _modules;
    readonly Lock _gate = new();

    /// <summary>The symbols of the modules of <paramref name="model"/>, from the files stored in <paramref name="trace"/> (kept open while this is used).</summary>
    public SymbolTable(TraceModel model, TraceReader trace, IReadOnlyList<string> debugDirectories)
    {
        _model = model;
        _trace = trace;
        _debugDirectories = debugDirectories;
        _modules = new ModuleSymbols?[model.Modules.Count];
    }

    /// <summary>Where separate debug files are looked for (by build-id, then by .gnu_debuglink), as on Debian.</summary>
    public static IReadOnlyList<string> DefaultDebugDirectories { get; } = ["/usr/lib/debug"];

    /// <summary>The symbols of <paramref name="module"/> (read on first use).</summary>
    public ModuleSymbols For(ModuleInfo module)
    {
        lock (_gate)
            return _modules[module.Index] ??= Load(module);
    }

    /// <summary>The module and symbol that hold <paramref name="address"/> while instruction <paramref name="instruction"/> runs.</summary>
    public (ModuleInfo? Module, Symbol? Symbol) Lookup(ulong address, long instruction)
    {
        if (_model.ModuleAt(address, instruction) is not { } module)
            return (null, null);
        return (module, For(module).At(address));
    }

    /// <summary>
    /// An address as a debugger names it: <c>libc.so.6!malloc+0x1f</c>, <c>prog!main</c>, or
    /// <c>prog+0x1234</c> inside a module where no symbol holds it; null outside every module.
    /// </summary>
    public string? Describe(ulong address, long instruction)
    {
        var (module, symbol) = Lookup(address, instruction);
        if (module is null)
            return null;
        if (symbol is null)
            return $"{module.Name}+0x{address - module.Address:x}";
        return address == symbol.Address ? symbol.FullName : $"{symbol.FullName}+0x{address - symbol.Address:x}";
    }

    /// <summary>
    /// The return addresses of the frames that called the one stopped at <paramref name="registers"/>
    /// (DWARF numbering: <see cref="CallFrameTable.Rsp"/>, <see cref="CallFrameTable.Rbp"/>..., the pc in
    /// <see cref="CallFrameTable.ReturnAddress"/>) while instruction <paramref name="instruction"/> runs,
    /// innermost first: by each module's unwind table, else by the frame-pointer chain. It stops
    /// at <paramref name="limit"/> frames, outside every module, or where neither way goes on.
    /// </summary>
    internal List<ulong> CallStack(ulong?[] registers, long instruction, Func<ulong, ulong?> read, int limit = 32)
    {
        var frames = new List<ulong>();
        var first = true;
        while (frames.Count < limit && registers[CallFrameTable.ReturnAddress] is { } pc)
        {
            if (!first)
                frames.Add(pc);
            if (_model.ModuleAt(pc, instruction) is not { } module)
                break;
            var symbols = For(module);
            // A return address is just past its call: the call's own frame rules are those of the byte before.
            var lookup = first ? pc : pc - 1;
            first = false;
            var rsp = registers[CallFrameTable.Rsp];
            if (symbols.Frames?.TryUnwind(lookup, symbols.Bias, registers, read) != true && !FramePointerStep(registers, read))
                break;
            if (registers[CallFrameTable.Rsp] is not { } caller || rsp is { } callee && caller <= callee)
                break; // the stack grows down: a caller's frame lies above
        }
        return frames;
    }

    /// <summary>The frame-pointer chain: the caller's rbp at [rbp], the return address above it.</summary>
    static bool FramePointerStep(ulong?[] registers, Func<ulong, ulong?> read)
    {
        if (registers[CallFrameTable.Rbp] is not { } rbp || rbp == 0 || read(rbp + 8) is not { } returnAddress)
            return false;
        registers[CallFrameTable.ReturnAddress] = returnAddress;
        registers[CallFrameTable.Rbp] = read(rbp);
        registers[CallFrameTable.Rsp] = rbp + 16;
        return true;
    }

    /// <summary>
    /// The symbols that <paramref name="pattern"/> names (<c>module!name</c> or <c>name</c>, with
    /// <c>*</c> and <c>?</c> wildcards), in module order, each module's by address.
    /// </summary>
    public IReadOnlyList<Symbol> Find(string pattern)
    {
        var bang = pattern.IndexOf('!', StringComparison.Ordinal);
        var (modulePattern, namePattern) = bang < 0 ? ("*", pattern) : (pattern[..bang], pattern[(bang + 1)..]);
        if (namePattern.Length == 0 || modulePattern.Length == 0)
            throw new FormatException($"'{pattern}' is not a symbol: write module!name (libc.so.6!malloc, prog!main) or a name alone");
        var moduleMatch = Wildcard(modulePattern);
        var nameMatch = Wildcard(namePattern);
        var found = new List<Symbol>();
        foreach (var module in _model.Modules)
        {
            var shortName = module.Name.Split('.')[0];
            if (!moduleMatch.IsMatch(module.Name) && !moduleMatch.IsMatch(shortName))
                continue;
            foreach (var symbol in For(module).Symbols)
            {
                if (nameMatch.IsMatch(symbol.Name))
                    found.Add(symbol);
            }
        }
        return found;
    }

    /// <summary>
    /// An address as a user typed it: hex (<c>0x404028</c>, WinDbg's <c>00000000`00404028</c>),
    /// decimal, or a symbol with an optional offset (<c>prog!counter</c>, <c>prog!table+0x10</c>).
    /// A symbol must name one address; a bad text is a <see cref="FormatException"/> with a one-line message.
    /// </summary>
    public ulong ResolveAddress(string text)
    {
        var trimmed = text.Trim();
        if (TryParseNumber(trimmed, out var number))
            return number;
        var (name, offset) = SplitOffset(trimmed);
        var symbols = Find(name);
        var addresses = symbols.Select(s => s.Address).Distinct().ToList();
        if (addresses.Count == 0)
            throw new FormatException($"'{text}' is neither a number nor a symbol of the trace's modules: use hex (0x404028), decimal or module!symbol");
        if (addresses.Count > 1)
            throw new FormatException($"'{name}' names {addresses.Count} addresses ({string.Join(", ", symbols.Take(4).Select(s => $"{s.FullName} 0x{s.Address:x}"))}{(symbols.Count > 4 ? ", ..." : "")}): name one, as module!symbol");
        return addresses[0] + offset;
    }

    /// <summary>Splits "name+0x10" into the name and the offset (hex with 0x, else decimal).</summary>
    static (string Name, ulong Offset) SplitOffset(string text)
    {
        var plus = text.LastIndexOf('+');
        // A '+' inside the module name (libstdc++.so.6!f) is not an offset.
        if (plus <= text.IndexOf('!', StringComparison.Ordinal) || !TryParseNumber(text[(plus + 1)..], out var offset))
            return (text, 0);
        return (text[..plus], offset);
    }

    /// <summary>0x hex (WinDbg's ` separators allowed) or decimal.</summary>
    public static bool TryParseNumber(string text, out ulong value)
    {
        var digits = text.Replace("`", "", StringComparison.Ordinal);
        value = 0;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return digits.Length > 2 && ulong.TryParse(digits.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        return ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    static Regex Wildcard(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$",
            RegexOptions.CultureInvariant | RegexOptions.Singleline);

    ModuleSymbols Load(ModuleInfo module)
    {
        ElfImage? image = null;
        string? problem;
        if (module.Image is not { } stored)
        {
            problem = "the trace holds no copy of the file";
        }
        else if (Bytes(stored, out problem) is { } bytes)
        {
            image = ElfImage.TryRead(bytes, out problem);
        }
        var source = image is null ? "" : "the trace's copy";
        var debugFile = image is null || !image.HasSymbolTable || !image.HasSection(".debug_info") ? FindDebugFile(module, image) : null;
        if (debugFile is not null)
        {
            source = source.Length == 0 ? debugFile.Value.Path : $"{source} and {debugFile.Value.Path}";
            problem = null;
        }
        else if (image is not null && !image.HasSymbolTable)
        {
            problem = "stripped: only its dynamic symbols (.dynsym) are known, and no debug file was found by build-id";
        }
        return new ModuleSymbols(module, image, debugFile?.Image, source, problem);
    }

    /// <summary>The stored file, put back together from its pages; null (with why) when the trace lacks some of it.</summary>
    byte[]? Bytes(ImageEffect stored, out string? problem)
    {
        problem = null;
        var bytes = new byte[stored.Length];
        for (var i = 0; i < stored.Pages.Count; i++)
        {
            var offset = (long)i * TraceFormat.PageSize;
            if (offset >= bytes.Length || !_trace.TryReadBlob(stored.Pages[i], out var page))
            {
                problem = "the trace's copy of the file is incomplete";
                return null;
            }
            page.Span[..(int)Math.Min(page.Length, bytes.Length - offset)].CopyTo(bytes.AsSpan((int)offset));
        }
        return bytes;
    }

    /// <summary>A separate debug file on this machine for the module: by build-id, then by .gnu_debuglink; it must carry the same build-id.</summary>
    (string Path, ElfImage Image)? FindDebugFile(ModuleInfo module, ElfImage? image)
    {
        var candidates = new List<string>();
        foreach (var directory in _debugDirectories)
        {
            if (image?.BuildId is { Length: > 2 } id)
                candidates.Add(System.IO.Path.Combine(directory, ".build-id", id[..2], id[2..] + ".debug"));
            if (image?.DebugLink is { Length: > 0 } link && System.IO.Path.GetDirectoryName(module.Path) is { } folder)
                candidates.Add(System.IO.Path.Join(directory, folder, link));
        }
        foreach (var path in candidates)
        {
            byte[] bytes;
            try
            {
                if (!File.Exists(path))
                    continue;
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (ElfImage.TryRead(bytes, out _) is { } debug && (image?.BuildId is null || debug.BuildId == image.BuildId))
                return (path, debug);
        }
        return null;
    }
}
