using System.IO.Hashing;
using System.Text;
using Rewind.Engine;
using Rewind.Linux.Host;

namespace Rewind.Linux.Memory;

/// <summary>
/// The guest's virtual address space: the list of mappings, their host backing, and the
/// engine's view of them. All guest memory is host memory (anonymous or a private/shared mmap
/// of the very file the guest mapped), so file mappings cost nothing to set up and syscall
/// handlers reach guest bytes without a copy through the engine.
/// </summary>
public sealed unsafe class AddressSpace : IDisposable
{
    public const ulong PageSize = 4096;

    /// <summary>Highest user address plus one, as on x86-64 Linux with 4-level paging.</summary>
    public const ulong UserTop = 0x7fff_ffff_f000;

    /// <summary>Where top-down mmap placement starts, as Linux without address randomization.</summary>
    public const ulong MmapBase = 0x7fff_f7ff_f000;

    const ulong LowestAddress = 0x10000; // vm.mmap_min_addr

    readonly Cpu _cpu;
    readonly List<Mapping> _mappings = [];

    /// <summary>Numbers anonymous shared mappings (see <see cref="Mapping.SharedObject"/>); file ones are known by their path.</summary>
    static long _anonymousSharedObjects;

    int _depth;

    /// <summary>A new, empty address space, not in the engine until <see cref="Attach"/>.</summary>
    public AddressSpace(Cpu cpu) => _cpu = cpu;

    /// <summary>
    /// Whether the mappings are in the engine. Every process has an address space, and the engine
    /// holds only the running one's; the others keep their memory in host memory.
    /// </summary>
    public bool Attached { get; private set; }

    /// <summary>Puts every mapping into the engine: this process runs next.</summary>
    public void Attach()
    {
        Attached = true;
        foreach (var mapping in _mappings)
            _cpu.Map(mapping.Start, mapping.Length, mapping.Protection, mapping.Host);
    }

    /// <summary>Takes every mapping out of the engine, keeping the memory: another process runs next.</summary>
    public void Detach()
    {
        foreach (var mapping in _mappings)
            _cpu.Unmap(mapping.Start, mapping.Length);
        Attached = false;
    }

    /// <summary>
    /// The copy fork makes, detached and without an observer: private memory copied, shared memory shared
    /// (a second host view of the same pages), the same program break. Null when the host is out of memory.
    /// </summary>
    public AddressSpace? CopyForFork()
    {
        var copy = new AddressSpace(_cpu) { BrkStart = BrkStart, Brk = Brk };
        foreach (var mapping in _mappings)
        {
            var host = mapping.Shared
                ? HostSyscall.Invoke(Syscalls.SyscallNumber.mremap, (long)mapping.Host, 0, (long)mapping.Length, 1 /* MREMAP_MAYMOVE */)
                : HostSyscall.MapMemory(mapping.Length, HostSyscall.ProtRead | HostSyscall.ProtWrite,
                    HostSyscall.MapPrivate | HostSyscall.MapAnonymous | HostSyscall.MapNoReserve);
            if (host < 0)
            {
                copy.Dispose();
                return null;
            }
            if (!mapping.Shared)
                CopyTouchedPages(mapping, (byte*)host);
            var piece = mapping.Slice(mapping.Start, mapping.End);
            piece.Host = (byte*)host;
            piece.MayHaveChanged = true;
            copy._mappings.Add(piece);
        }
        return copy;
    }

    /// <summary>
    /// Copies the pages of a private mapping that hold anything into <paramref name="copy"/>, fresh anonymous
    /// memory of the same length: untouched anonymous pages read as zeros there already, so a fork costs what
    /// the parent used of its stack and heap, not what it reserved.
    /// </summary>
    static void CopyTouchedPages(Mapping mapping, byte* copy)
    {
        var untouched = UntouchedPages.In(mapping);
        for (var first = 0; first < untouched.Length;)
        {
            if (untouched[first])
            {
                first++;
                continue;
            }
            var end = first + 1;
            while (end < untouched.Length && !untouched[end])
                end++;
            var offset = (ulong)first * PageSize;
            var length = (ulong)(end - first) * PageSize;
            Buffer.MemoryCopy(mapping.Host + offset, copy + offset, length, length);
            first = end;
        }
    }

    /// <summary>
    /// Told of every change the kernel side makes (outermost operations only: a remap is one
    /// remap, not the map and unmap it is made of). The recorder logs these; replay re-applies them.
    /// </summary>
    public IAddressSpaceObserver? Observer { get; set; }

    /// <summary>Runs an operation, reporting it to the observer only when it is not part of another one.</summary>
    T Operation<T>(Func<T> body, Action<T> report)
    {
        _depth++;
        try
        {
            var result = body();
            if (_depth == 1 && Observer is not null)
                report(result);
            return result;
        }
        finally
        {
            _depth--;
        }
    }

    /// <summary>Raised when executable memory changes, so that cached translations can be dropped.</summary>
    public event Action<ulong, ulong>? CodeChanged;

    /// <summary>
    /// The mappings as Rewind holds them: one per host allocation, so two neighbours with the same
    /// attributes may stay apart. What the guest sees is <see cref="Areas"/>.
    /// </summary>
    public IReadOnlyList<Mapping> Mappings => _mappings;

    /// <summary>
    /// The guest's memory areas as /proc/self/maps lists them: neighbouring mappings with the same
    /// protection, sharing and file (at consecutive offsets) merged, as Linux merges VMAs. This
    /// depends only on what the guest did, never on where the host placed the backing memory.
    /// </summary>
    public IEnumerable<MemoryArea> Areas
    {
        get
        {
            MemoryArea? current = null;
            foreach (var m in _mappings)
            {
                var area = new MemoryArea(m.Start, m.End, m.Protection, m.Shared, m.Path, m.FileOffset, m.Label);
                if (current is { } c && c.End == area.Start && c.Protection == area.Protection && c.Shared == area.Shared
                    && c.Path == area.Path && c.Label == area.Label && (c.Path is null || c.FileOffset + (c.End - c.Start) == area.FileOffset))
                {
                    current = c with { End = area.End };
                    continue;
                }
                if (current is not null)
                    yield return current.Value;
                current = area;
            }
            if (current is not null)
                yield return current.Value;
        }
    }

    public ulong BrkStart { get; private set; }
    public ulong Brk { get; private set; }

    public static ulong PageDown(ulong value) => value & ~(PageSize - 1);
    public static ulong PageUp(ulong value) => (value + PageSize - 1) & ~(PageSize - 1);

    // ---- mapping ----

    /// <summary>
    /// Maps [address, address+length). <paramref name="fixedAddress"/> replaces whatever is there;
    /// otherwise <paramref name="address"/> is a hint. Returns the guest address or a negative errno.
    /// </summary>
    public long Map(ulong address, ulong length, Protection protection, bool fixedAddress, bool shared,
        int hostFd = -1, ulong fileOffset = 0, string? path = null, string? label = null, bool noReplace = false, bool mayWrite = true)
    {
        ulong fileBytes = 0;
        return Operation(() => MapCore(address, length, protection, fixedAddress, shared, hostFd, fileOffset, path, label, noReplace, mayWrite, out fileBytes),
            result =>
            {
                if (result >= 0)
                    Observer!.Mapped(Find((ulong)result)!, fileBytes, hostFd);
            });
    }

    long MapCore(ulong address, ulong length, Protection protection, bool fixedAddress, bool shared,
        int hostFd, ulong fileOffset, string? path, string? label, bool noReplace, bool mayWrite, out ulong fileBytes)
    {
        fileBytes = 0;
        if (length == 0 || (address & (PageSize - 1)) != 0 && (fixedAddress || noReplace))
            return -Errno.EINVAL;
        length = PageUp(length);
        if (length > UserTop)
            return -Errno.ENOMEM;
        if (noReplace)
        {
            if (Overlaps(address, address + length))
                return -Errno.EEXIST;
            fixedAddress = true;
        }
        if (fixedAddress)
        {
            if (address < LowestAddress || address + length > UserTop || address + length < address)
                return fixedAddress && address < LowestAddress ? -Errno.EPERM : -Errno.ENOMEM;
            Unmap(address, length);
        }
        else
        {
            address = FindFree(PageDown(address), length);
            if (address == 0)
                return -Errno.ENOMEM;
        }

        var host = AllocateHost(length, shared, hostFd, fileOffset, out var error, out fileBytes);
        if (host == null)
            return error;
        Insert(new Mapping
        {
            Start = address,
            End = address + length,
            Protection = protection,
            Shared = shared,
            Host = host,
            Path = path,
            FileOffset = path is null ? 0 : fileOffset,
            Label = label,
            SharedObject = !shared ? 0 : path is null ? (ulong)Interlocked.Increment(ref _anonymousSharedObjects) : XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(path)),
            SharedOffset = path is null ? 0 : fileOffset,
            MayWrite = mayWrite,
        });
        if (Attached)
            _cpu.Map(address, length, protection, host);
        if (protection.HasFlag(Protection.Execute))
            CodeChanged?.Invoke(address, address + length);
        return (long)address;
    }

    static byte* AllocateHost(ulong length, bool shared, int hostFd, ulong fileOffset, out long error, out ulong fileBytes)
    {
        fileBytes = 0;
        const int rw = HostSyscall.ProtRead | HostSyscall.ProtWrite;
        var anonymous = HostSyscall.MapMemory(length, rw, (shared ? HostSyscall.MapShared : HostSyscall.MapPrivate) | HostSyscall.MapAnonymous | HostSyscall.MapNoReserve);
        error = anonymous;
        if (anonymous < 0 || hostFd < 0)
            return anonymous < 0 ? null : (byte*)anonymous;

        // Map only the part of the file that exists: touching host pages past the end of a file
        // would raise SIGBUS in Rewind itself. The rest stays zeroed anonymous memory.
        var fileSize = HostFileSize(hostFd);
        fileBytes = fileSize > fileOffset ? Math.Min(length, PageUp(fileSize - fileOffset)) : 0;
        if (fileBytes == 0)
            return (byte*)anonymous;
        var flags = (shared ? HostSyscall.MapShared : HostSyscall.MapPrivate) | HostSyscall.MapFixed;
        var mapped = HostSyscall.MapMemory(fileBytes, rw, flags, hostFd, fileOffset, (byte*)anonymous);
        if (mapped < 0 && shared)
            mapped = HostSyscall.MapMemory(fileBytes, HostSyscall.ProtRead, flags, hostFd, fileOffset, (byte*)anonymous);
        if (mapped < 0)
        {
            HostSyscall.UnmapMemory((byte*)anonymous, length);
            error = mapped;
            return null;
        }
        return (byte*)anonymous;
    }

    static ulong HostFileSize(int fd)
    {
        var stat = stackalloc byte[144];
        return HostSyscall.Invoke(Syscalls.SyscallNumber.fstat, fd, (long)stat) < 0 ? 0 : *(ulong*)(stat + 48);
    }

    /// <summary>Removes every mapping in [address, address+length). Returns 0 or a negative errno.</summary>
    public long Unmap(ulong address, ulong length) =>
        Operation(() => UnmapCore(address, length), result =>
        {
            if (result == 0)
                Observer!.Unmapped(address, PageUp(length));
        });

    long UnmapCore(ulong address, ulong length)
    {
        if ((address & (PageSize - 1)) != 0 || length == 0)
            return -Errno.EINVAL;
        var end = PageUp(address + length);
        var codeChanged = false;
        ForEachOverlap(address, end, (mapping, from, to) =>
        {
            if (Attached)
                _cpu.Unmap(from, to - from);
            HostSyscall.UnmapMemory(mapping.Host + (from - mapping.Start), to - from);
            codeChanged |= mapping.Protection.HasFlag(Protection.Execute);
            return null;
        });
        if (codeChanged)
            CodeChanged?.Invoke(address, end);
        return 0;
    }

    /// <summary>Changes protection of [address, address+length); ENOMEM when part of it is unmapped.</summary>
    public long Protect(ulong address, ulong length, Protection protection) =>
        Operation(() => ProtectCore(address, length, protection), result =>
        {
            if (result == 0)
                Observer!.ProtectionChanged(address, PageUp(address + length) - address, protection);
        });

    long ProtectCore(ulong address, ulong length, Protection protection)
    {
        if ((address & (PageSize - 1)) != 0)
            return -Errno.EINVAL;
        var end = PageUp(address + length);
        if (!IsFullyMapped(address, end))
            return -Errno.ENOMEM;
        if (protection.HasFlag(Protection.Write) && _mappings.Exists(m => m.Start < end && address < m.End && !m.MayWrite))
            return -Errno.EACCES;
        var codeChanged = false;
        ForEachOverlap(address, end, (mapping, from, to) =>
        {
            codeChanged |= mapping.Protection.HasFlag(Protection.Execute) || protection.HasFlag(Protection.Execute);
            if (Attached)
                _cpu.Protect(from, to - from, protection);
            var piece = mapping.Slice(from, to);
            piece.Protection = protection;
            piece.MayHaveChanged |= protection.HasFlag(Protection.Write);
            return piece;
        });
        Coalesce();
        if (codeChanged)
            CodeChanged?.Invoke(address, end);
        return 0;
    }

    /// <summary>mremap: resizes or moves a mapping. Returns the new address or a negative errno.</summary>
    public long Remap(ulong oldAddress, ulong oldLength, ulong newLength, bool mayMove, ulong fixedAddress, bool isFixed) =>
        Operation(() => RemapCore(oldAddress, oldLength, newLength, mayMove, fixedAddress, isFixed), result =>
        {
            if (result >= 0)
                Observer!.Remapped(oldAddress, oldLength, newLength, (ulong)result);
        });

    long RemapCore(ulong oldAddress, ulong oldLength, ulong newLength, bool mayMove, ulong fixedAddress, bool isFixed)
    {
        if ((oldAddress & (PageSize - 1)) != 0 || newLength == 0)
            return -Errno.EINVAL;
        oldLength = PageUp(oldLength);
        newLength = PageUp(newLength);
        var index = IndexOf(oldAddress);
        if (index < 0 || _mappings[index].End < oldAddress + oldLength)
            return -Errno.EFAULT;
        var mapping = _mappings[index];

        if (!isFixed && newLength <= oldLength)
        {
            if (newLength < oldLength)
                Unmap(oldAddress + newLength, oldLength - newLength);
            return (long)oldAddress;
        }
        if (!isFixed && !Overlaps(oldAddress + oldLength, oldAddress + newLength) && oldAddress + newLength <= UserTop
            && mapping.End == oldAddress + oldLength)
        {
            // Grow in place: the new tail is a fresh mapping of the same kind.
            var tail = Map(oldAddress + oldLength, newLength - oldLength, mapping.Protection, fixedAddress: true, mapping.Shared,
                label: mapping.Label);
            return tail < 0 ? tail : (long)oldAddress;
        }
        if (!mayMove && !isFixed)
            return -Errno.ENOMEM;

        var target = isFixed ? fixedAddress : FindFree(0, newLength);
        if (target == 0 || (target & (PageSize - 1)) != 0)
            return -Errno.EINVAL;
        if (isFixed)
            Unmap(target, newLength);
        var moved = Map(target, newLength, mapping.Protection, fixedAddress: true, mapping.Shared, label: mapping.Label);
        if (moved < 0)
            return moved;
        var copy = Math.Min(oldLength, newLength);
        Buffer.MemoryCopy(mapping.Host + (oldAddress - mapping.Start), Find(target)!.Host, copy, copy);
        Unmap(oldAddress, oldLength);
        return moved;
    }

    // ---- brk ----

    /// <summary>Places the program break just after the loaded image.</summary>
    public void InitializeBrk(ulong imageEnd)
    {
        BrkStart = Brk = PageUp(imageEnd);
        Observer?.BrkInitialized(BrkStart);
    }

    /// <summary>Restores the break as a keyframe recorded it (the heap mapping itself is restored separately).</summary>
    public void RestoreBrk(ulong start, ulong current) => (BrkStart, Brk) = (start, current);

    /// <summary>brk(2): returns the new break, or the old one when it cannot move.</summary>
    public ulong SetBrk(ulong requested) =>
        Operation(() => SetBrkCore(requested), result => Observer!.BrkSet(requested));

    /// <summary>
    /// How far the break may move from where it started. Linux refuses a heap that its overcommit check
    /// finds larger than the machine could ever back; a fixed bound does the same here and replays alike anywhere.
    /// </summary>
    public const ulong HeapLimit = 1UL << 40;

    ulong SetBrkCore(ulong requested)
    {
        // brk(-1) and the like: past the end of the address space, the break stays (and PageUp would wrap).
        if (requested < BrkStart || requested > UserTop || requested - BrkStart > HeapLimit)
            return Brk;
        var oldTop = PageUp(Brk);
        var newTop = PageUp(requested);
        if (newTop > oldTop)
        {
            if (Overlaps(oldTop, newTop) ||
                Map(oldTop, newTop - oldTop, Protection.Read | Protection.Write, fixedAddress: true, shared: false, label: "[heap]") < 0)
                return Brk;
        }
        else if (newTop < oldTop)
        {
            Unmap(newTop, oldTop - newTop);
        }
        Brk = requested;
        return Brk;
    }

    // ---- guest access for the runtime ----

    public Mapping? Find(ulong address)
    {
        var index = IndexOf(address);
        return index < 0 ? null : _mappings[index];
    }

    /// <summary>Copies guest memory out; false when any byte is unmapped or unreadable (EFAULT).</summary>
    public bool Read(ulong address, Span<byte> destination) => Copy(address, destination, Protection.Read, toGuest: false);

    /// <summary>
    /// Host address of [address, address+length) when it lies inside one mapping that allows
    /// <paramref name="needed"/>; null otherwise (callers then copy through a buffer).
    /// </summary>
    public byte* HostPointer(ulong address, ulong length, Protection needed)
    {
        var mapping = Find(address);
        if (mapping is null || (mapping.Protection & needed) != needed || address + length > mapping.End)
            return null;
        return mapping.Host + (address - mapping.Start);
    }

    /// <summary>Whether every byte of [address, address+length) is mapped with <paramref name="needed"/>.</summary>
    public bool IsAccessible(ulong address, ulong length, Protection needed)
    {
        var end = address + length;
        if (end < address)
            return false;
        while (address < end)
        {
            var mapping = Find(address);
            if (mapping is null || (mapping.Protection & needed) != needed)
                return false;
            address = mapping.End;
        }
        return true;
    }

    /// <summary>Copies guest memory out whatever its protection, as a debugger would.</summary>
    public bool Peek(ulong address, Span<byte> destination) => Copy(address, destination, Protection.None, toGuest: false);

    /// <summary>Copies into guest memory; false when any byte is unmapped or read-only (EFAULT).</summary>
    public bool Write(ulong address, ReadOnlySpan<byte> source)
    {
        bool written;
        fixed (byte* bytes = source)
            written = Copy(address, new Span<byte>(bytes, source.Length), Protection.Write, toGuest: true);
        if (written)
            NoteKernelWrite(address, (ulong)source.Length);
        return written;
    }

    /// <summary>Reports bytes the kernel side wrote straight into host memory behind the guest's back.</summary>
    public void NoteKernelWrite(ulong address, ulong length)
    {
        if (length > 0)
            Observer?.KernelWrote(address, length);
    }

    /// <summary>Writes regardless of page protection, as the kernel does when it loads an image.</summary>
    public bool Poke(ulong address, ReadOnlySpan<byte> source)
    {
        bool written;
        fixed (byte* bytes = source)
            written = Copy(address, new Span<byte>(bytes, source.Length), Protection.None, toGuest: true);
        if (written)
            NoteKernelWrite(address, (ulong)source.Length);
        return written;
    }

    /// <summary>
    /// MADV_DONTNEED: drops the pages, so that anonymous memory reads back as zeros and private
    /// file mappings as the file's contents. The host does exactly that to the backing memory.
    /// </summary>
    public long Discard(ulong address, ulong length)
    {
        if ((address & (PageSize - 1)) != 0)
            return -Errno.EINVAL;
        length = PageUp(length);
        if (!IsAccessible(address, length, Protection.None))
            return -Errno.ENOMEM;
        for (var at = address; at < address + length;)
        {
            var mapping = Find(at)!;
            var end = Math.Min(mapping.End, address + length);
            HostSyscall.Invoke(Syscalls.SyscallNumber.madvise, (long)(mapping.Host + (at - mapping.Start)), (long)(end - at), 4 /* MADV_DONTNEED */);
            at = end;
        }
        Observer?.Discarded(address, length);
        return 0;
    }

    public bool TryRead<T>(ulong address, out T value) where T : unmanaged
    {
        T result = default;
        var ok = Read(address, new Span<byte>(&result, sizeof(T)));
        value = result;
        return ok;
    }

    public bool TryWrite<T>(ulong address, T value) where T : unmanaged => Write(address, new ReadOnlySpan<byte>(&value, sizeof(T)));

    /// <summary>Reads a NUL-terminated string of at most <paramref name="limit"/> bytes; null on EFAULT or overflow.</summary>
    public string? ReadString(ulong address, int limit = 4096)
    {
        var bytes = new List<byte>(64);
        while (bytes.Count < limit)
        {
            var mapping = Find(address);
            if (mapping is null || !mapping.Protection.HasFlag(Protection.Read))
                return null;
            var span = new ReadOnlySpan<byte>(mapping.Host + (address - mapping.Start), (int)Math.Min(mapping.End - address, (ulong)(limit - bytes.Count)));
            var nul = span.IndexOf((byte)0);
            if (nul >= 0)
            {
                bytes.AddRange(span[..nul]);
                return System.Text.Encoding.UTF8.GetString(bytes.ToArray());
            }
            bytes.AddRange(span);
            address += (ulong)span.Length;
        }
        return null;
    }

    bool Copy(ulong address, Span<byte> buffer, Protection needed, bool toGuest)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var at = address + (ulong)done;
            var mapping = Find(at);
            if (mapping is null || (mapping.Protection & needed) != needed)
                return false;
            var count = (int)Math.Min(mapping.End - at, (ulong)(buffer.Length - done));
            var guest = new Span<byte>(mapping.Host + (at - mapping.Start), count);
            if (toGuest)
                buffer.Slice(done, count).CopyTo(guest);
            else
                guest.CopyTo(buffer.Slice(done, count));
            done += count;
        }
        return true;
    }

    // ---- bookkeeping ----

    int IndexOf(ulong address)
    {
        int low = 0, high = _mappings.Count - 1;
        while (low <= high)
        {
            var middle = (low + high) >> 1;
            var mapping = _mappings[middle];
            if (address < mapping.Start)
                high = middle - 1;
            else if (address >= mapping.End)
                low = middle + 1;
            else
                return middle;
        }
        return -1;
    }

    bool Overlaps(ulong start, ulong end)
    {
        foreach (var mapping in _mappings)
        {
            if (mapping.Start < end && start < mapping.End)
                return true;
        }
        return false;
    }

    bool IsFullyMapped(ulong start, ulong end)
    {
        var at = start;
        while (at < end)
        {
            var mapping = Find(at);
            if (mapping is null)
                return false;
            at = mapping.End;
        }
        return true;
    }

    /// <summary>Highest free gap of <paramref name="length"/> bytes below the mmap base, or the hint when free.</summary>
    ulong FindFree(ulong hint, ulong length)
    {
        if (hint >= LowestAddress && hint + length <= UserTop && !Overlaps(hint, hint + length))
            return hint;
        var top = MmapBase;
        for (var i = _mappings.Count - 1; i >= -1; i--)
        {
            var gapStart = i >= 0 ? _mappings[i].End : LowestAddress;
            if (gapStart >= top)
            {
                top = Math.Min(top, _mappings[i].Start);
                continue;
            }
            if (top - gapStart >= length)
                return top - length;
            if (i >= 0)
                top = Math.Min(top, _mappings[i].Start);
        }
        return 0;
    }

    void Insert(Mapping mapping)
    {
        var index = 0;
        while (index < _mappings.Count && _mappings[index].Start < mapping.Start)
            index++;
        _mappings.Insert(index, mapping);
    }

    /// <summary>
    /// Calls <paramref name="action"/> for the part of each mapping inside [start, end). The part is
    /// replaced by what the action returns (null removes it); parts outside the range are kept.
    /// </summary>
    void ForEachOverlap(ulong start, ulong end, Func<Mapping, ulong, ulong, Mapping?> action)
    {
        for (var i = 0; i < _mappings.Count; i++)
        {
            var mapping = _mappings[i];
            if (mapping.End <= start || mapping.Start >= end)
                continue;
            var from = Math.Max(start, mapping.Start);
            var to = Math.Min(end, mapping.End);
            var pieces = new List<Mapping>(3);
            if (mapping.Start < from)
                pieces.Add(mapping.Slice(mapping.Start, from));
            var middle = action(mapping, from, to);
            if (middle is not null)
                pieces.Add(middle);
            if (to < mapping.End)
                pieces.Add(mapping.Slice(to, mapping.End));
            _mappings.RemoveAt(i);
            _mappings.InsertRange(i, pieces);
            i += pieces.Count - 1;
        }
    }

    /// <summary>Merges neighbours that are contiguous in guest and host memory with equal attributes.</summary>
    void Coalesce()
    {
        for (var i = _mappings.Count - 1; i > 0; i--)
        {
            var left = _mappings[i - 1];
            var right = _mappings[i];
            if (left.End == right.Start && left.Host + left.Length == right.Host && left.Protection == right.Protection
                && left.MayHaveChanged == right.MayHaveChanged
                && left.Shared == right.Shared && left.Path == right.Path && left.Label == right.Label
                && (left.Path is null || left.FileOffset + left.Length == right.FileOffset))
            {
                left.End = right.End;
                _mappings.RemoveAt(i);
            }
        }
    }

    public void Dispose()
    {
        if (Attached)
            Detach();
        foreach (var mapping in _mappings)
            HostSyscall.UnmapMemory(mapping.Host, mapping.Length);
        _mappings.Clear();
    }
}
