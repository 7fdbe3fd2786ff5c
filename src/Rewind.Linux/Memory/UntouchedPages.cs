using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Rewind.Linux.Memory;

/// <summary>
/// Tells which host pages of private anonymous memory were never touched (or were discarded since), from
/// /proc/self/pagemap: a page that is neither present nor swapped out reads as zeros. Keyframes use it to
/// skip hashing such pages, most of a program's 8 MB stack and of its unused heap, without reading them
/// (which would also map the zero page into every one of them).
/// </summary>
public static unsafe class UntouchedPages
{
    /// <summary>Most pages one call answers for.</summary>
    public const int MaxPages = 1024;

    /// <summary>What an untouched page holds.</summary>
    public static ReadOnlySpan<byte> ZeroPage => Zeros;

    static readonly byte[] Zeros = new byte[AddressSpace.PageSize];

    const ulong Present = 1UL << 63, Swapped = 1UL << 62;

    // Rewind's own page table, open for the life of the process; null where the kernel hides it.
    static readonly SafeFileHandle? Pagemap = Open();

    /// <summary>
    /// Sets <paramref name="untouched"/>[i] for the page at <paramref name="host"/> + i pages (at most
    /// <see cref="MaxPages"/>); false for every page when the kernel does not say.
    /// </summary>
    public static void Find(byte* host, Span<bool> untouched)
    {
        untouched.Clear();
        if (Pagemap is null || untouched.Length > MaxPages)
            return;
        Span<ulong> entries = stackalloc ulong[untouched.Length];
        var offset = (long)((ulong)host / AddressSpace.PageSize * sizeof(ulong));
        try
        {
            if (RandomAccess.Read(Pagemap, MemoryMarshal.AsBytes(entries), offset) != entries.Length * sizeof(ulong))
                return;
        }
        catch (IOException)
        {
            return;
        }
        for (var i = 0; i < entries.Length; i++)
            untouched[i] = (entries[i] & (Present | Swapped)) == 0;
    }

    static SafeFileHandle? Open()
    {
        try
        {
            return File.OpenHandle("/proc/self/pagemap");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // every page then counts as touched: only slower
        }
    }
}
