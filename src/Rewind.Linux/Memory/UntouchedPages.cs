using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Rewind.Linux.Memory;

/// <summary>
/// Tells which pages of a private anonymous mapping were never touched (or were discarded since), from
/// /proc/self/pagemap: a host page that is neither present nor swapped out reads as zeros. Keyframes and the
/// final state hash take such pages as zeros without reading them: most of a program's 8 MB stack and of its
/// unused heap, which reading would also fill with mappings of the zero page.
/// </summary>
public static unsafe class UntouchedPages
{
    /// <summary>What an untouched page holds.</summary>
    public static ReadOnlySpan<byte> ZeroPage => Zeros;

    static readonly byte[] Zeros = new byte[AddressSpace.PageSize];

    const ulong Present = 1UL << 63, Swapped = 1UL << 62;

    /// <summary>Pages asked about in one read of the page table.</summary>
    const int PagesPerRead = 1024;

    // Rewind's own page table, open for the life of the process; null where the kernel hides it.
    static readonly SafeFileHandle? Pagemap = Open();

    [ThreadStatic]
    static bool[]? t_untouched;

    /// <summary>
    /// Whether each page of <paramref name="mapping"/> (by index from its start) is untouched, valid until the
    /// next call on this thread. All false for file and shared mappings, whose untouched pages need not be
    /// zeros, and wherever the kernel does not say.
    /// </summary>
    public static ReadOnlySpan<bool> In(Mapping mapping)
    {
        var pages = (int)(mapping.Length / AddressSpace.PageSize);
        if (t_untouched is null || t_untouched.Length < pages)
            t_untouched = new bool[Math.Max(pages, 2 * (t_untouched?.Length ?? 0))];
        var untouched = t_untouched.AsSpan(0, pages);
        untouched.Clear();
        if (mapping.Path is not null || mapping.Shared || Pagemap is null)
            return untouched;
        Span<ulong> entries = stackalloc ulong[PagesPerRead];
        for (var first = 0; first < pages; first += PagesPerRead)
        {
            var count = Math.Min(PagesPerRead, pages - first);
            if (!Read(mapping.Host + (ulong)first * AddressSpace.PageSize, entries[..count]))
            {
                untouched.Clear();
                return untouched;
            }
            for (var i = 0; i < count; i++)
                untouched[first + i] = (entries[i] & (Present | Swapped)) == 0;
        }
        return untouched;
    }

    static bool Read(byte* host, Span<ulong> entries)
    {
        var offset = (long)((ulong)host / AddressSpace.PageSize * sizeof(ulong));
        try
        {
            return RandomAccess.Read(Pagemap!, MemoryMarshal.AsBytes(entries), offset) == entries.Length * sizeof(ulong);
        }
        catch (IOException)
        {
            return false;
        }
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
