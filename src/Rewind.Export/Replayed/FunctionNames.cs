using Rewind.Query.Introspection;
using Rewind.Query.Symbols;

namespace Rewind.Export.Replayed;

/// <summary>
/// The name of the function that holds a pc, from the symbols of the trace's modules (the ELF
/// symbol tables of the files the trace stores). The module list is the first process's, so other
/// processes' pcs get no name. Shared by the workers: the symbol table reads the trace under its lock.
/// </summary>
internal sealed class FunctionNames(TraceModel model, SymbolTable symbols)
{
    public string? At(int pid, ulong pc, long instruction)
    {
        if (pid != model.Process.Id)
            return null;
        var (_, symbol) = symbols.Lookup(pc, instruction);
        return symbol?.Kind == SymbolKind.Function ? symbol.Name : null;
    }
}
