using System.Text;
using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Host;
using Rewind.Linux.Proc;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// What the syscalls that open, stat, list and read links do with entries of the guest's own /proc and /dev/fd
/// (<see cref="ProcView"/>): a host file behind an entry is used as is; the view's own files are opened as host memory
/// files holding their contents, its directories as stand-ins whose listing the view makes, and their metadata is
/// made up as /proc's.
/// </summary>
internal static unsafe class ProcFiles
{
    const int OAccessMode = 3, OCreat = 0x40, OExcl = 0x80, OTrunc = 0x200, ODirectory = 0x10000, ONoFollow = 0x20000,
        OCloexec = 0x80000, OPath = 0x200000;

    /// <summary>The view entry a path argument names (relative to <paramref name="dirFd"/>), or null when it is not one.</summary>
    public static ProcEntry? Find(GuestProcess p, int dirFd, string path)
    {
        string baseDirectory;
        if (dirFd == GuestProcess.AtFdCwd || path.StartsWith('/'))
            baseDirectory = p.Cwd;
        else if (p.Files.Get(dirFd) is { } descriptor)
            baseDirectory = descriptor.Path ?? p.Cwd;
        else
            return null; // the syscall reports the bad descriptor
        var entry = ProcView.Find(p, FileSystemView.Absolute(baseDirectory, path));
        // A path that ends in "/", "." or ".." names a directory, never a link: through the link it is.
        return entry is not null && (path.EndsWith('/') || path.EndsWith("/.", StringComparison.Ordinal) || path.EndsWith("/..", StringComparison.Ordinal))
            ? ProcView.Follow(entry)
            : entry;
    }

    /// <summary>open on a view entry: the new guest descriptor, or a negative errno.</summary>
    public static long Open(GuestProcess p, ProcEntry entry, int flags, int mode)
    {
        if ((flags & (OCreat | OExcl)) == (OCreat | OExcl) && entry is not ProcMissing)
            return -Errno.EEXIST;
        if (entry is ProcLink && (flags & ONoFollow) != 0)
            return -Errno.ELOOP;
        var closeOnExec = (flags & OCloexec) != 0;
        var writes = (flags & OAccessMode) != 0 || (flags & OTrunc) != 0;
        switch (ProcView.Follow(entry))
        {
            case ProcMissing missing:
                return -missing.Errno;
            case ProcHostFile host:
                long hostFd;
                fixed (byte* bytes = HostSyscall.PathBytes(host.Location.Path))
                    hostFd = HostSyscall.Invoke(SyscallNumber.openat, host.Location.DirectoryFd, (long)bytes, flags | OCloexec, mode);
                return hostFd < 0 ? hostFd : p.Files.Add((int)hostFd, host.Path.StartsWith('/') ? host.Path : null, closeOnExec);
            case ProcFile file:
                if ((flags & ODirectory) != 0)
                    return -Errno.ENOTDIR;
                if (writes && (flags & OPath) == 0)
                    return -Errno.EACCES;
                var contents = MemoryFile(file.Contents());
                return contents < 0 ? contents : p.Files.Add(new FileDescriptor { HostFd = (int)contents, Path = file.Path, CloseOnExec = closeOnExec, Proc = new OpenProcEntry(file) });
            case var directory:
                if (writes && (flags & OPath) == 0)
                    return -Errno.EISDIR;
                var standIn = HostSyscall.OpenDirectory("/proc");
                return standIn < 0 ? standIn : p.Files.Add(new FileDescriptor { HostFd = (int)standIn, Path = directory.Path, CloseOnExec = closeOnExec, Proc = new OpenProcEntry(directory) });
        }
    }

    /// <summary>
    /// stat, lstat, newfstatat and statx on a view entry (<paramref name="follow"/>: through a final link): a host
    /// file's own metadata, else /proc's for the entry. 0 or a negative errno.
    /// </summary>
    public static long Stat(GuestProcess p, ProcEntry entry, bool follow, ulong buffer, bool extended, int mask)
    {
        if (follow)
            entry = ProcView.Follow(entry);
        switch (entry)
        {
            case ProcMissing missing:
                return -missing.Errno;
            case ProcHostFile host:
                var path = HostSyscall.PathBytes(host.Location.Path);
                var flags = follow ? 0 : 0x100 /* AT_SYMLINK_NOFOLLOW */;
                return extended
                    ? GuestBuffer.Struct(p, buffer, StatxSize, (b, _) =>
                    {
                        fixed (byte* hostPath = path)
                            return HostSyscall.Invoke(SyscallNumber.statx, host.Location.DirectoryFd, (long)hostPath, flags, mask, (long)b);
                    })
                    : GuestBuffer.Struct(p, buffer, StatSize, (b, _) =>
                    {
                        fixed (byte* hostPath = path)
                            return HostSyscall.Invoke(SyscallNumber.newfstatat, host.Location.DirectoryFd, (long)hostPath, (long)b, flags);
                    });
            default:
                return StatView(p, entry, buffer, extended);
        }
    }

    /// <summary>fstat and statx(AT_EMPTY_PATH) of a descriptor that has a view entry open.</summary>
    public static long StatView(GuestProcess p, ProcEntry entry, ulong buffer, bool extended)
    {
        var (mode, links) = entry switch
        {
            ProcDirectory directory => (HostSyscall.Directory | directory.Mode, 2u),
            ProcFile file => (HostSyscall.RegularFile | file.Mode, 1u),
            ProcLink link => (HostSyscall.SymbolicLink | link.Mode, 1u),
            _ => (0u, 1u),
        };
        var (device, now) = (ProcDevice.Value, DateTimeOffset.UtcNow);
        var (uid, gid) = p.Nondeterminism.User;
        var inode = ProcView.Inode(entry.Path);
        var seconds = now.ToUnixTimeSeconds();
        var nanoseconds = (uint)(now.Ticks % TimeSpan.TicksPerSecond * 100);
        if (!extended)
        {
            var stat = new byte[StatSize];
            fixed (byte* s = stat)
            {
                *(ulong*)s = device;
                *(ulong*)(s + 8) = inode;
                *(ulong*)(s + 16) = links;
                *(uint*)(s + 24) = mode;
                *(uint*)(s + 28) = uid;
                *(uint*)(s + 32) = gid;
                *(long*)(s + 56) = 1024; // st_blksize
                for (var time = 72; time <= 104; time += 16)
                    (*(long*)(s + time), *(long*)(s + time + 8)) = (seconds, nanoseconds);
            }
            return p.Memory.Write(buffer, stat) ? 0 : -Errno.EFAULT;
        }
        var statx = new byte[StatxSize];
        fixed (byte* s = statx)
        {
            *(uint*)s = 0x7ff; // STATX_BASIC_STATS
            *(uint*)(s + 4) = 1024;
            *(uint*)(s + 16) = links;
            *(uint*)(s + 20) = uid;
            *(uint*)(s + 24) = gid;
            *(ushort*)(s + 28) = (ushort)mode;
            *(ulong*)(s + 32) = inode;
            foreach (var time in new[] { 64, 96, 112 }) // atime, ctime, mtime
                (*(long*)(s + time), *(uint*)(s + time + 8)) = (seconds, nanoseconds);
            *(uint*)(s + 136) = (uint)((device >> 8 & 0xfff) | (device >> 32 & ~0xfffUL));
            *(uint*)(s + 140) = (uint)((device & 0xff) | (device >> 12 & ~0xffUL));
        }
        return p.Memory.Write(buffer, statx) ? 0 : -Errno.EFAULT;
    }

    const int StatSize = 144, StatxSize = 256;

    /// <summary>The st_dev of the host's /proc, which the view's entries report as theirs.</summary>
    static readonly Lazy<ulong> ProcDevice = new(() =>
    {
        var stat = stackalloc byte[StatSize];
        fixed (byte* path = "/proc\0"u8)
            return HostSyscall.Invoke(SyscallNumber.stat, (long)path, (long)stat) < 0 ? 0 : *(ulong*)stat;
    });

    /// <summary>readlink on a view entry: its target, or what a host file behind it links to. A negative errno, or the length.</summary>
    public static long ReadLink(GuestProcess p, ProcEntry entry, ulong buffer, ulong size)
    {
        switch (entry)
        {
            case ProcMissing missing:
                return -missing.Errno;
            case ProcLink link:
                var bytes = Encoding.UTF8.GetBytes(link.Target);
                var count = (int)Math.Min((ulong)bytes.Length, size);
                return p.Memory.Write(buffer, bytes.AsSpan(0, count)) ? count : -Errno.EFAULT;
            case ProcHostFile host:
                var path = HostSyscall.PathBytes(host.Location.Path);
                return GuestBuffer.Into(p, buffer, size, (b, length) =>
                {
                    fixed (byte* hostPath = path)
                        return HostSyscall.Invoke(SyscallNumber.readlinkat, host.Location.DirectoryFd, (long)hostPath, (long)b, (long)length);
                });
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>access and faccessat: the view's files are readable, never writable, and its directories searchable.</summary>
    public static long Access(ProcEntry entry, int mode, int flags)
    {
        const int Write = 2, Execute = 1;
        switch (ProcView.Follow(entry))
        {
            case ProcMissing missing:
                return -missing.Errno;
            case ProcHostFile host:
                fixed (byte* path = HostSyscall.PathBytes(host.Location.Path))
                    return HostSyscall.Invoke(SyscallNumber.faccessat2, host.Location.DirectoryFd, (long)path, mode, flags);
            case ProcFile:
                return (mode & (Write | Execute)) != 0 ? -Errno.EACCES : 0;
            default:
                return (mode & Write) != 0 ? -Errno.EACCES : 0;
        }
    }

    /// <summary>getdents64 on a view directory: ".", "..", then its entries, from where the last call stopped.</summary>
    public static long GetEntries(GuestProcess p, OpenProcEntry open, ulong buffer, ulong size)
    {
        if (open.Entry is not ProcDirectory directory)
            return -Errno.ENOTDIR;
        open.Listing ??= [new ProcName(".", DirectoryTypes.Directory), new ProcName("..", DirectoryTypes.Directory), .. directory.List()];
        var output = new List<byte>();
        for (; open.Position < open.Listing.Count; open.Position++)
        {
            var (name, type) = open.Listing[open.Position];
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var length = (19 + nameBytes.Length + 1 + 7) & ~7;
            if ((ulong)(output.Count + length) > size)
                break;
            var record = new byte[length];
            var inode = name switch { "." => directory.Path, ".." => FileSystemView.Absolute(directory.Path, ".."), _ => directory.Path + "/" + name };
            BitConverter.TryWriteBytes(record.AsSpan(0), ProcView.Inode(inode));
            BitConverter.TryWriteBytes(record.AsSpan(8), (long)open.Position + 1);
            BitConverter.TryWriteBytes(record.AsSpan(16), (ushort)length);
            record[18] = type;
            nameBytes.CopyTo(record, 19);
            output.AddRange(record);
        }
        if (output.Count == 0 && open.Position < open.Listing.Count)
            return -Errno.EINVAL;
        return p.Memory.Write(buffer, output.ToArray()) ? output.Count : -Errno.EFAULT;
    }

    /// <summary>lseek on a view directory: a position in its listing; position 0 lists it anew (rewinddir).</summary>
    public static long Seek(OpenProcEntry open, long offset, int whence)
    {
        if (whence != 0 || offset < 0)
            return -Errno.EINVAL;
        if (offset == 0)
            open.Listing = null;
        open.Position = (int)Math.Min(offset, int.MaxValue);
        return offset;
    }

    /// <summary>A host memfd holding <paramref name="content"/>, positioned at its start.</summary>
    static long MemoryFile(byte[] content)
    {
        long fd;
        fixed (byte* name = "rewind-proc\0"u8)
            fd = HostSyscall.Invoke(SyscallNumber.memfd_create, (long)name, 1 /* MFD_CLOEXEC */);
        if (fd < 0)
            return fd;
        fixed (byte* data = content)
        {
            for (long written = 0; written < content.Length;)
            {
                var result = HostSyscall.Invoke(SyscallNumber.write, fd, (long)(data + written), content.Length - written);
                if (result <= 0)
                    break;
                written += result;
            }
        }
        HostSyscall.Invoke(SyscallNumber.lseek, fd, 0, 0);
        return fd;
    }
}
