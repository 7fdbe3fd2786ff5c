using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Memory;
using Xunit;

namespace Rewind.Linux.Tests;

public sealed unsafe class UntouchedPagesTests
{
    // Larger than glibc's largest mmap threshold (32 MB): the allocation is a fresh mapping, none of it touched.
    const int Pages = 10_000;

    [Fact]
    public void Pages_written_are_touched_and_pages_never_written_are_not()
    {
        var memory = (byte*)NativeMemory.AlignedAlloc(Pages * 4096, 4096);
        try
        {
            int[] written = [3, 500, 501, 1023, 1024, 9_999];
            foreach (var page in written)
                memory[page * 4096 + 17] = 1;

            var untouched = UntouchedPages.In(Anonymous(memory)).ToArray();

            Assert.Equal(Pages, untouched.Length);
            foreach (var page in written)
                Assert.False(untouched[page], $"page {page} was written");
            // Page 0 may hold the allocator's header; every other page not written was never touched.
            var expected = Enumerable.Range(1, Pages - 1).Where(page => !written.Contains(page)).ToArray();
            Assert.Equal(expected, Enumerable.Range(1, Pages - 1).Where(page => untouched[page]).ToArray());
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }

    [Fact]
    public void Shared_and_file_mappings_are_never_taken_for_zeros()
    {
        var memory = (byte*)NativeMemory.AlignedAlloc(Pages * 4096, 4096);
        try
        {
            var shared = Anonymous(memory);
            var sharedMapping = new Mapping { Start = shared.Start, End = shared.End, Protection = shared.Protection, Shared = true, Host = memory };
            var fileMapping = new Mapping { Start = shared.Start, End = shared.End, Protection = shared.Protection, Shared = false, Host = memory, Path = "/lib/data" };

            Assert.DoesNotContain(true, UntouchedPages.In(sharedMapping).ToArray());
            Assert.DoesNotContain(true, UntouchedPages.In(fileMapping).ToArray());
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }

    static Mapping Anonymous(byte* host) =>
        new() { Start = 0x10_0000, End = 0x10_0000 + Pages * 4096UL, Protection = Protection.Read | Protection.Write, Shared = false, Host = host };
}
