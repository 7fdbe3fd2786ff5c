using Microsoft.Win32.SafeHandles;
using Rewind.Engine;
using Rewind.Linux.Memory;

namespace Rewind.Linux.Loader;

/// <summary>Where an image landed: what the initial stack's auxiliary vector reports.</summary>
public readonly record struct LoadedImage(ulong Base, ulong Entry, ulong ProgramHeaders, int ProgramHeaderCount, ulong End);

/// <summary>
/// Maps an executable and its interpreter the way Linux's load_elf_binary does: segments mapped
/// from the file, the part of the last page past the file data zeroed, the rest anonymous.
/// </summary>
public static class ElfLoader
{
    /// <summary>Load address of position-independent executables (ELF_ET_DYN_BASE without randomization).</summary>
    public const ulong PieBase = 0x5555_5555_4000;

    /// <summary>Maps an ELF file; <paramref name="fixedBase"/> applies to ET_DYN images (0: anywhere, top-down).</summary>
    public static LoadedImage Map(AddressSpace memory, string hostPath, string guestPath, ElfImage elf, ulong fixedBase)
    {
        using var handle = File.OpenHandle(hostPath);
        var fd = (int)handle.DangerousGetHandle();
        var segments = elf.LoadSegments.ToList();
        var low = AddressSpace.PageDown(segments.Min(s => s.VirtualAddress));
        var high = AddressSpace.PageUp(segments.Max(s => s.VirtualAddress + s.MemorySize));

        ulong bias = 0;
        if (elf.IsDynamic)
        {
            // Reserve the whole span first so that the segments land together, as the kernel does.
            var reserved = memory.Map(fixedBase, high - low, Protection.None, fixedAddress: fixedBase != 0, shared: false);
            if (reserved < 0)
                throw new InvalidDataException($"no room for {guestPath} in the address space");
            bias = (ulong)reserved - low;
        }

        foreach (var segment in segments)
            MapSegment(memory, fd, guestPath, segment, bias);

        var first = segments[0];
        return new LoadedImage(
            Base: bias + low,
            Entry: bias + elf.Entry,
            ProgramHeaders: bias + first.VirtualAddress - first.Offset + elf.ProgramHeaderOffset,
            ProgramHeaderCount: elf.ProgramHeaders.Count,
            End: bias + high);
    }

    static void MapSegment(AddressSpace memory, int fd, string guestPath, ProgramHeader segment, ulong bias)
    {
        var protection = ToProtection(segment.Flags);
        var start = AddressSpace.PageDown(bias + segment.VirtualAddress);
        var fileEnd = bias + segment.VirtualAddress + segment.FileSize;
        var memoryEnd = AddressSpace.PageUp(bias + segment.VirtualAddress + segment.MemorySize);
        var pageOffset = segment.VirtualAddress - AddressSpace.PageDown(segment.VirtualAddress);

        if (segment.FileSize > 0)
        {
            var result = memory.Map(start, AddressSpace.PageUp(fileEnd) - start, protection, fixedAddress: true, shared: false,
                hostFd: fd, fileOffset: segment.Offset - pageOffset, path: guestPath);
            if (result < 0)
                throw new InvalidDataException($"cannot map a segment of {guestPath} (errno {-result})");
            // Bytes between the end of file data and the end of its page belong to .bss: zero them.
            var tail = AddressSpace.PageUp(fileEnd) - fileEnd;
            if (tail > 0 && segment.MemorySize > segment.FileSize)
                memory.Poke(fileEnd, new byte[tail]);
        }
        var anonymousStart = segment.FileSize > 0 ? AddressSpace.PageUp(fileEnd) : start;
        if (memoryEnd > anonymousStart)
        {
            var result = memory.Map(anonymousStart, memoryEnd - anonymousStart, protection, fixedAddress: true, shared: false);
            if (result < 0)
                throw new InvalidDataException($"cannot map .bss of {guestPath} (errno {-result})");
        }
    }

    static Protection ToProtection(uint flags) =>
        ((flags & ElfImage.PfRead) != 0 ? Protection.Read : 0)
        | ((flags & ElfImage.PfWrite) != 0 ? Protection.Write : 0)
        | ((flags & ElfImage.PfExecute) != 0 ? Protection.Execute : 0);
}
