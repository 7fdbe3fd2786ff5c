using Rewind.Engine;

namespace Rewind.Linux.Memory;

/// <summary>What the kernel side did to the address space, as the recorder needs to log it.</summary>
public interface IAddressSpaceObserver
{
    /// <summary>A new mapping; its first <paramref name="fileBytes"/> bytes came from the file open as host descriptor <paramref name="hostFd"/> (-1: anonymous).</summary>
    void Mapped(Mapping mapping, ulong fileBytes, int hostFd);
    void Unmapped(ulong address, ulong length);
    void ProtectionChanged(ulong address, ulong length, Protection protection);
    void Remapped(ulong oldAddress, ulong oldLength, ulong newLength, ulong newAddress);
    void BrkInitialized(ulong start);
    void BrkSet(ulong requested);
    void Discarded(ulong address, ulong length);
    void KernelWrote(ulong address, ulong length);
}
