using System.Text;

namespace Rewind.Linux.Execution;

/// <summary>
/// The CPU that guests see through CPUID: one fixed Haswell-class core without AVX, XSAVE or
/// RDRAND. Every feature reported here executes on the engine's Haswell model, so glibc's ifuncs
/// choose SSE4.2/BMI2 paths that really run, and a trace replays identically on any host.
/// </summary>
public static class VirtualCpuid
{
    const uint Sse3 = 1 << 0, Pclmul = 1 << 1, Ssse3 = 1 << 9, Cx16 = 1 << 13, Sse41 = 1 << 19, Sse42 = 1 << 20,
        Movbe = 1 << 22, Popcnt = 1 << 23, Aes = 1 << 25;

    /// <summary>Leaf 1 EDX: FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV PAT PSE36 CLFSH MMX FXSR SSE SSE2.</summary>
    public const uint Features = 0x078bfbff;

    const uint ExtendedFeatures = Sse3 | Pclmul | Ssse3 | Cx16 | Sse41 | Sse42 | Movbe | Popcnt | Aes;
    const uint Bmi1 = 1 << 3, Bmi2 = 1 << 8, Erms = 1 << 9;
    const uint LahfLm = 1 << 0, Abm = 1 << 5, Prefetchw = 1 << 8;
    const uint SyscallInsn = 1 << 11, Nx = 1 << 20, Rdtscp = 1 << 27, LongMode = 1 << 29;

    static readonly uint[] Brand = BrandWords("Rewind virtual x86-64 CPU");

    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Query(uint leaf, uint subleaf) => leaf switch
    {
        0 => (0xd, 0x756e6547, 0x6c65746e, 0x49656e69), // GenuineIntel
        1 => (0x000306c3, 0x00010800, ExtendedFeatures, Features),
        2 => (0x0000ff01, 0, 0, 0), // descriptor 0xff: read cache geometry from leaf 4
        4 => CacheLevel(subleaf),
        7 when subleaf == 0 => (0, Bmi1 | Bmi2 | Erms, 0, 0),
        0xb => subleaf switch
        {
            0 => (0, 1, 0x100, 0),
            1 => (0, 1, 0x201, 0),
            _ => (0, 0, subleaf, 0),
        },
        0x80000000 => (0x80000008, 0, 0, 0),
        0x80000001 => (0, 0, LahfLm | Abm | Prefetchw, SyscallInsn | Nx | Rdtscp | LongMode),
        >= 0x80000002 and <= 0x80000004 => BrandLeaf(leaf - 0x80000002),
        0x80000006 => (0, 0, 0x01006040, 0),
        0x80000008 => (0x3030, 0, 0, 0),
        _ => (0, 0, 0, 0),
    };

    static (uint, uint, uint, uint) CacheLevel(uint index) => index switch
    {
        // type | level << 5 | self-initializing; ways-1 << 22 | line-1; sets-1
        0 => (1 | 1 << 5 | 1 << 8, 7 << 22 | 63, 63, 0),        // L1d 32 KiB
        1 => (2 | 1 << 5 | 1 << 8, 7 << 22 | 63, 63, 0),        // L1i 32 KiB
        2 => (3 | 2 << 5 | 1 << 8, 7 << 22 | 63, 511, 0),       // L2 256 KiB
        3 => (3 | 3 << 5 | 1 << 8, 15u << 22 | 63, 8191, 2),    // L3 8 MiB, inclusive
        _ => (0, 0, 0, 0),
    };

    static (uint, uint, uint, uint) BrandLeaf(uint index) =>
        (Brand[index * 4], Brand[index * 4 + 1], Brand[index * 4 + 2], Brand[index * 4 + 3]);

    static uint[] BrandWords(string brand)
    {
        var bytes = new byte[48];
        Encoding.ASCII.GetBytes(brand, bytes);
        var words = new uint[12];
        Buffer.BlockCopy(bytes, 0, words, 0, 48);
        return words;
    }
}
