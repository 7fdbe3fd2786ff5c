using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Memory;

namespace Rewind.Linux.Tests;

/// <summary>
/// The engine's buffer of translated code fills up again and again without harm. Unicorn 2.1.1, left
/// to itself, reuses the buffer the first time it is full without dropping the translations in it, and
/// the next jump it chains between two blocks writes through the remains (SIGSEGV in tb_set_jmp_target):
/// what brought down multi-process and long runs.
/// </summary>
public sealed unsafe class TranslationBufferTests
{
    [Fact]
    public void ChainedCodeLargerThanTheBufferRunsRoundAfterRound()
    {
        GuestRunner.LoadEngine();
        // Many small blocks, each "inc rax; jmp next", so that chaining them needs more translated code than the buffer holds.
        const ulong Base = 0x100000, BlockSize = 16;
        var blocks = (ulong)Cpu.TranslationBufferSize / 64;
        var size = blocks * BlockSize + AddressSpace.PageSize;
        var host = (byte*)NativeMemory.AlignedAlloc((nuint)size, (nuint)AddressSpace.PageSize);
        try
        {
            var code = new Span<byte>(host, (int)size);
            code.Fill(0x90);
            for (ulong i = 0; i < blocks; i++)
            {
                var block = code[(int)(i * BlockSize)..];
                block[0] = 0x48; block[1] = 0xff; block[2] = 0xc0; // inc rax
                block[3] = 0xe9; // jmp rel32 to the next block
                BitConverter.TryWriteBytes(block[4..], (int)(BlockSize - 8));
            }
            code[(int)(blocks * BlockSize)] = 0xf4; // hlt

            using var cpu = Cpu.Create(X86CpuModel.Haswell);
            cpu.Map(Base, size, Protection.All, host);
            for (var round = 1; round <= 3; round++)
            {
                cpu.Write(X86Register.Rax, 0);
                cpu.Run(Base);
                Assert.Equal(blocks, cpu.Read(X86Register.Rax));
            }
        }
        finally
        {
            NativeMemory.AlignedFree(host);
        }
    }
}
