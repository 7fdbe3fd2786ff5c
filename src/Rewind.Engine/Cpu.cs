using System.Runtime.InteropServices;

namespace Rewind.Engine;

/// <summary>
/// One emulated x86-64 CPU with its guest-physical memory: a safe, allocation-free wrapper over
/// a Unicorn engine. Guest memory is host memory handed to the engine (uc_mem_map_ptr), so the
/// runtime reads and writes it directly; the engine enforces the guest's page permissions.
/// </summary>
public sealed unsafe class Cpu : IDisposable
{
    const int ArchX86 = 4;
    const int Mode64 = 1 << 3;

    // UC_CTL(type, nr, rw) = type | nr << 26 | rw << 30, rw 1 = write.
    const int CtlCpuModel = 7 | 1 << 26 | 1 << 30;
    const int CtlTranslationBufferSize = 13 | 1 << 26 | 1 << 30;
    const int CtlRemoveCache = 9 | 2 << 26 | 1 << 30;
    const int CtlFlushTranslations = 10 | 1 << 30;

    readonly EngineHandle _handle;
    readonly nint _uc;

    Cpu(EngineHandle handle)
    {
        _handle = handle;
        _uc = handle.DangerousGetHandle();
    }

    /// <summary>
    /// Host bytes of translated code the engine keeps. When they are used up the engine drops every
    /// translation and starts again, so this bounds memory, not what a guest can run. The flush below
    /// writes the whole buffer once: 8 MB costs about 5 ms and 6 MB of memory at start, where 64 MB took
    /// 0.3 s (the host backs it with huge pages it must first find).
    /// </summary>
    public const uint TranslationBufferSize = 8 << 20;

    /// <summary>Opens a 64-bit x86 engine emulating the given Unicorn CPU model (uc_cpu_x86).</summary>
    public static Cpu Create(X86CpuModel model)
    {
        Check("uc_open", Native.uc_open(ArchX86, Mode64, out var uc));
        var cpu = new Cpu(new EngineHandle(uc));
        Check("uc_ctl(cpu model)", Native.uc_ctl1(uc, CtlCpuModel, (long)model));
        Check("uc_ctl(translation buffer size)", Native.uc_ctl1(uc, CtlTranslationBufferSize, TranslationBufferSize));
        // Unicorn 2.1.1 starts with its translation buffer not yet allocated as a region. When the buffer
        // fills for the first time it then reuses it from the start without dropping the translations that
        // live there, and the engine crashes on their remains (in tb_set_jmp_target, or walking a page's
        // block list). One flush before anything runs allocates the region, so that every later fill is
        // the clean flush it should be.
        cpu.DropAllTranslations();
        return cpu;
    }

    /// <summary>The raw engine pointer that hook callbacks receive as their first argument.</summary>
    public nint Engine => _uc;

    public ulong Read(X86Register register)
    {
        ulong value = 0;
        Native.uc_reg_read(_uc, (int)register, &value);
        return value;
    }

    public void Write(X86Register register, ulong value) => Native.uc_reg_write(_uc, (int)register, &value);

    /// <summary>Reads an XMM register (XMM0 + index) as 16 bytes.</summary>
    public UInt128 ReadXmm(int index)
    {
        UInt128 value = 0;
        Native.uc_reg_read(_uc, (int)X86Register.Xmm0 + index, &value);
        return value;
    }

    public void WriteXmm(int index, UInt128 value) => Native.uc_reg_write(_uc, (int)X86Register.Xmm0 + index, &value);

    /// <summary>Reads x87 register ST(index) as its 10 bytes (64-bit mantissa, 16-bit sign and exponent).</summary>
    public byte[] ReadFloat80(int index)
    {
        var value = stackalloc byte[16];
        Native.uc_reg_read(_uc, (int)X86Register.St0 + index, value);
        return new ReadOnlySpan<byte>(value, 10).ToArray();
    }

    public void WriteFloat80(int index, ReadOnlySpan<byte> tenBytes)
    {
        var value = stackalloc byte[16];
        tenBytes[..10].CopyTo(new Span<byte>(value, 10));
        Native.uc_reg_write(_uc, (int)X86Register.St0 + index, value);
    }

    /// <summary>Makes [address, address+size) guest memory backed by host memory at <paramref name="host"/>.</summary>
    public void Map(ulong address, ulong size, Protection protection, void* host) =>
        Check("uc_mem_map_ptr", Native.uc_mem_map_ptr(_uc, address, (nuint)size, (uint)protection, host));

    public void Unmap(ulong address, ulong size) => Check("uc_mem_unmap", Native.uc_mem_unmap(_uc, address, (nuint)size));

    public void Protect(ulong address, ulong size, Protection protection) =>
        Check("uc_mem_protect", Native.uc_mem_protect(_uc, address, (nuint)size, (uint)protection));

    /// <summary>Runs from <paramref name="begin"/> until a hook stops the engine or a fault ends it.</summary>
    public UcError Run(ulong begin) => Native.uc_emu_start(_uc, begin, 0, 0, 0);

    /// <summary>Asks the engine to stop after the current instruction; safe to call from hooks.</summary>
    public void Stop() => Native.uc_emu_stop(_uc);

    /// <summary>Adds a hook; the callback's signature must match the hook type (see Unicorn's uc_cb_* types).</summary>
    public nuint AddHook(HookType type, void* callback, void* userData, ulong begin = 1, ulong end = 0)
    {
        Check($"uc_hook_add({type})", Native.uc_hook_add(_uc, out var hook, (int)type, callback, userData, begin, end));
        return hook;
    }

    public nuint AddInstructionHook(HookedInstruction instruction, void* callback, void* userData)
    {
        Check($"uc_hook_add({instruction})", Native.uc_hook_add_insn(_uc, out var hook, (int)HookType.Instruction, callback, userData, 1, 0, (int)instruction));
        return hook;
    }

    public void RemoveHook(nuint hook) => Check("uc_hook_del", Native.uc_hook_del(_uc, hook));

    /// <summary>Drops translated code for [begin, end), so that hooks added since apply to it.</summary>
    public void DropTranslations(ulong begin, ulong end) => Check("uc_ctl(remove cache)", Native.uc_ctl2(_uc, CtlRemoveCache, begin, end));

    /// <summary>Drops every translated block.</summary>
    public void DropAllTranslations() => Check("uc_ctl(flush tb)", Native.uc_ctl0(_uc, CtlFlushTranslations));

    public void Dispose() => _handle.Dispose();

    static void Check(string operation, UcError error)
    {
        if (error != UcError.Ok)
            throw new EngineException(operation, error);
    }

    sealed class EngineHandle(nint handle) : SafeHandle(handle, ownsHandle: true)
    {
        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle() => Native.uc_close(handle) == UcError.Ok;
    }
}

/// <summary>Unicorn's x86 CPU models (uc_cpu_x86), the ones Rewind may choose.</summary>
public enum X86CpuModel
{
    Qemu64 = 0,
    /// <summary>Haswell: SSSE3, SSE4.1/4.2, POPCNT, BMI1/2, MOVBE, AES and PCLMUL all execute under TCG.</summary>
    Haswell = 19,
}
