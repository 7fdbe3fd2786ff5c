namespace Rewind.Engine;

/// <summary>Unicorn's x86 register numbers (uc_x86_reg) for the registers Rewind reads or writes.</summary>
public enum X86Register
{
    Cs = 11, Ds = 17, Eflags = 25, Es = 28, Fpsw = 31, Fs = 32, Gs = 33,
    Rax = 35, Rbp = 36, Rbx = 37, Rcx = 38, Rdi = 39, Rdx = 40, Rip = 41, Rsi = 43, Rsp = 44, Ss = 49, Cr0 = 50, Cr4 = 54,
    R8 = 106, R9, R10, R11, R12, R13, R14, R15,
    St0 = 114,
    Xmm0 = 122,
    Fpcw = 246, Fptag = 247, Mxcsr = 249, FsBase = 250, GsBase = 251,
}
