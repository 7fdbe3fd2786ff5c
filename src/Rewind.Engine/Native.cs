using System.Runtime.InteropServices;

namespace Rewind.Engine;

/// <summary>Raw entry points of libunicorn.so.2. Only <see cref="Cpu"/> calls these.</summary>
internal static unsafe partial class Native
{
    public const string Library = "unicorn";

    [LibraryImport(Library)] public static partial uint uc_version(uint* major, uint* minor);
    [LibraryImport(Library)] public static partial UcError uc_open(int arch, int mode, out nint engine);
    [LibraryImport(Library)] public static partial UcError uc_close(nint engine);
    [LibraryImport(Library)] public static partial nint uc_strerror(UcError code);

    [LibraryImport(Library)] public static partial UcError uc_emu_start(nint engine, ulong begin, ulong until, ulong timeout, nuint count);
    [LibraryImport(Library)] public static partial UcError uc_emu_stop(nint engine);

    [LibraryImport(Library)] public static partial UcError uc_reg_read(nint engine, int regid, void* value);
    [LibraryImport(Library)] public static partial UcError uc_reg_write(nint engine, int regid, void* value);

    [LibraryImport(Library)] public static partial UcError uc_mem_map_ptr(nint engine, ulong address, nuint size, uint perms, void* ptr);
    [LibraryImport(Library)] public static partial UcError uc_mem_unmap(nint engine, ulong address, nuint size);
    [LibraryImport(Library)] public static partial UcError uc_mem_protect(nint engine, ulong address, nuint size, uint perms);
    [LibraryImport(Library)] public static partial UcError uc_mem_read(nint engine, ulong address, void* bytes, nuint size);
    [LibraryImport(Library)] public static partial UcError uc_mem_write(nint engine, ulong address, void* bytes, nuint size);

    // uc_hook_add and uc_ctl are variadic in C. On x86-64 System V, variadic integer
    // arguments travel in the same registers as fixed ones, so fixed-arity imports work.
    [LibraryImport(Library, EntryPoint = "uc_hook_add")]
    public static partial UcError uc_hook_add(nint engine, out nuint hook, int type, void* callback, void* userData, ulong begin, ulong end);
    [LibraryImport(Library, EntryPoint = "uc_hook_add")]
    public static partial UcError uc_hook_add_insn(nint engine, out nuint hook, int type, void* callback, void* userData, ulong begin, ulong end, int instruction);
    [LibraryImport(Library)] public static partial UcError uc_hook_del(nint engine, nuint hook);

    [LibraryImport(Library, EntryPoint = "uc_ctl")] public static partial UcError uc_ctl0(nint engine, int control);
    [LibraryImport(Library, EntryPoint = "uc_ctl")] public static partial UcError uc_ctl1(nint engine, int control, long arg);
    [LibraryImport(Library, EntryPoint = "uc_ctl")] public static partial UcError uc_ctl2(nint engine, int control, ulong arg0, ulong arg1);

    [LibraryImport(Library)] public static partial UcError uc_context_alloc(nint engine, out nint context);
    [LibraryImport(Library)] public static partial UcError uc_context_save(nint engine, nint context);
    [LibraryImport(Library)] public static partial UcError uc_context_restore(nint engine, nint context);
    [LibraryImport(Library)] public static partial UcError uc_context_free(nint context);
}

/// <summary>uc_err.</summary>
public enum UcError
{
    Ok = 0, NoMemory, Arch, Handle, Mode, Version, ReadUnmapped, WriteUnmapped, FetchUnmapped, Hook,
    InvalidInstruction, Map, WriteProtected, ReadProtected, FetchProtected, Argument, ReadUnaligned,
    WriteUnaligned, FetchUnaligned, HookExists, Resource, Exception, Overflow,
}

/// <summary>Hook kinds (uc_hook_type).</summary>
[Flags]
public enum HookType
{
    Interrupt = 1 << 0,
    Instruction = 1 << 1,
    Code = 1 << 2,
    Block = 1 << 3,
    MemReadUnmapped = 1 << 4,
    MemWriteUnmapped = 1 << 5,
    MemFetchUnmapped = 1 << 6,
    MemReadProtected = 1 << 7,
    MemWriteProtected = 1 << 8,
    MemFetchProtected = 1 << 9,
    MemRead = 1 << 10,
    MemWrite = 1 << 11,
    MemFetch = 1 << 12,
    MemReadAfter = 1 << 13,
    InvalidInstruction = 1 << 14,
    MemInvalid = MemReadUnmapped | MemWriteUnmapped | MemFetchUnmapped | MemReadProtected | MemWriteProtected | MemFetchProtected,
}

/// <summary>uc_mem_type, as passed to memory hooks.</summary>
public enum MemoryAccessKind
{
    Read = 16, Write, Fetch, ReadUnmapped, WriteUnmapped, FetchUnmapped, WriteProtected, ReadProtected, FetchProtected, ReadAfter,
}

/// <summary>Page permissions as the engine understands them (UC_PROT_*).</summary>
[Flags]
public enum Protection : uint
{
    None = 0, Read = 1, Write = 2, Execute = 4, All = 7,
}

/// <summary>x86 instructions that can carry a UC_HOOK_INSN hook.</summary>
public enum HookedInstruction
{
    Cpuid = 113,
    Syscall = 699,
}
