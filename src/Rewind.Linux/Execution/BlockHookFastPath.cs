using Iced.Intel;
using Rewind.Linux.Host;
using static Iced.Intel.AssemblerRegisters;

namespace Rewind.Linux.Execution;

/// <summary>
/// The common case of <see cref="InstructionCounter"/>'s block hook as a few machine instructions: nothing is
/// due and the block's count is cached, so the count is added and the hook returns. Anything else jumps to the
/// managed hook with the arguments untouched. The engine calls the hook at every block it enters (hundreds of
/// millions in a tight loop), and entering managed code costs more than the work itself: in a loop of a few
/// instructions the managed hook alone took a quarter of the run.
/// </summary>
internal sealed unsafe class BlockHookFastPath : IDisposable
{
    /// <summary>Where each field the fast path reads or writes lies in the counter's state.</summary>
    public readonly record struct Layout(
        int Instructions, int NextInterrupt, int NextSwitch, int NextKeyframe, int NextWatch,
        int BlockStart, int BlockEnd, int BlockFirst, int Addresses, int Sizes, int Counts, int CacheBits, int SlowPath);

    const int CodeBytes = 4096;

    readonly byte* _code;

    public BlockHookFastPath(Layout layout)
    {
        var machineCode = Assemble(layout);
        var mapped = HostSyscall.MapMemory(CodeBytes, HostSyscall.ProtRead | HostSyscall.ProtWrite, HostSyscall.MapPrivate | HostSyscall.MapAnonymous);
        if (mapped < 0)
            throw new InvalidOperationException($"cannot allocate memory for the block hook: errno {-mapped}");
        _code = (byte*)mapped;
        machineCode.CopyTo(new Span<byte>(_code, CodeBytes));
        var protect = HostSyscall.Invoke(Syscalls.SyscallNumber.mprotect, (long)_code, CodeBytes, HostSyscall.ProtRead | HostSyscall.ProtExec);
        if (protect < 0)
            throw new InvalidOperationException($"cannot make the block hook executable: errno {-protect}");
    }

    /// <summary>The hook to hand to the engine: a uc_cb_hookcode_t whose user data is the counter's state.</summary>
    public void* Entry => _code;

    /// <summary>
    /// The System V call gives the engine in rdi, the block's address in rsi, its size in edx and the state in
    /// rcx; the fast path keeps all four as they are for the jump to the managed hook.
    /// </summary>
    static byte[] Assemble(Layout at)
    {
        var a = new Assembler(64);
        var slow = a.CreateLabel();
        // Due: a signal, a thread switch or a keyframe. The managed hook handles these.
        a.mov(rax, __qword_ptr[rcx + at.Instructions]);
        a.cmp(rax, __qword_ptr[rcx + at.NextInterrupt]);
        a.jge(slow);
        a.cmp(rax, __qword_ptr[rcx + at.NextSwitch]);
        a.jge(slow);
        a.cmp(rax, __qword_ptr[rcx + at.NextKeyframe]);
        a.jge(slow);
        // The cache slot: (address ^ address >> CacheBits) & mask, as the managed hook computes it.
        a.mov(r8, rsi);
        a.shr(r8, (byte)at.CacheBits);
        a.xor(r8, rsi);
        a.and(r8d, (1 << at.CacheBits) - 1);
        a.cmp(__qword_ptr[rcx + r8 * 8 + at.Addresses], rsi);
        a.jne(slow);
        a.cmp(__dword_ptr[rcx + r8 * 4 + at.Sizes], edx);
        a.jne(slow);
        a.movzx(r9d, __word_ptr[rcx + r8 * 2 + at.Counts]);
        a.test(r9d, r9d);
        a.jz(slow);
        // A block that holds the watched instruction goes to the managed hook too.
        a.lea(r10, __[rax + r9]);
        a.cmp(r10, __qword_ptr[rcx + at.NextWatch]);
        a.jg(slow);
        a.mov(__qword_ptr[rcx + at.BlockStart], rsi);
        a.mov(__qword_ptr[rcx + at.BlockFirst], rax);
        a.mov(r11d, edx); // the upper half of rdx is not part of a 32-bit argument
        a.add(r11, rsi);
        a.mov(__qword_ptr[rcx + at.BlockEnd], r11);
        a.mov(__qword_ptr[rcx + at.Instructions], r10);
        a.ret();
        a.Label(ref slow);
        a.jmp(__qword_ptr[rcx + at.SlowPath]);

        var output = new MemoryStream();
        a.Assemble(new StreamCodeWriter(output), 0);
        if (output.Length > CodeBytes)
            throw new InvalidOperationException("the block hook does not fit its page");
        return output.ToArray();
    }

    public void Dispose() => HostSyscall.UnmapMemory(_code, CodeBytes);
}
