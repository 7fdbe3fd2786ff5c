using System.Buffers;
using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>unistd.h: reading and writing descriptors, and the path operations that go with them.</summary>
internal static unsafe partial class Unistd
{
    const int AtRemoveDir = 0x200, OCloexec = 0x80000;

    // ---- data ----

    [Syscall(SyscallNumber.read)]
    static long Read(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        if (host >= 0 && p.Scheduler.YieldsInsteadOfWaiting(host, writing: false))
            return -Errno.ERESTARTSYS;
        return host < 0 ? host : GuestBuffer.Into(p, a.A1, a.A2, (buffer, length) => HostSyscall.Invoke(SyscallNumber.read, host, (long)buffer, (long)length));
    }

    [Syscall(SyscallNumber.write)]
    static long Write(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        if (host >= 0 && p.Scheduler.YieldsInsteadOfWaiting(host, writing: true))
            return -Errno.ERESTARTSYS;
        return host < 0 ? host : GuestBuffer.From(p, a.A1, a.A2, (buffer, length) => HostSyscall.Invoke(SyscallNumber.write, host, (long)buffer, (long)length));
    }

    [Syscall(SyscallNumber.pread64)]
    static long PositionedRead(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        var offset = a.Long(3);
        return host < 0 ? host : GuestBuffer.Into(p, a.A1, a.A2, (buffer, length) => HostSyscall.Invoke(SyscallNumber.pread64, host, (long)buffer, (long)length, offset));
    }

    [Syscall(SyscallNumber.pwrite64)]
    static long PositionedWrite(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        var offset = a.Long(3);
        return host < 0 ? host : GuestBuffer.From(p, a.A1, a.A2, (buffer, length) => HostSyscall.Invoke(SyscallNumber.pwrite64, host, (long)buffer, (long)length, offset));
    }

    [Syscall(SyscallNumber.readv)]
    static long ReadVector(GuestProcess p, in SyscallArgs a) => Scatter(p, a.Int(0), a.A1, a.Int(2), -1);

    [Syscall(SyscallNumber.preadv)]
    static long PositionedReadVector(GuestProcess p, in SyscallArgs a) => Scatter(p, a.Int(0), a.A1, a.Int(2), a.Long(3));

    [Syscall(SyscallNumber.writev)]
    static long WriteVector(GuestProcess p, in SyscallArgs a) => Gather(p, a.Int(0), a.A1, a.Int(2), -1);

    [Syscall(SyscallNumber.pwritev)]
    static long PositionedWriteVector(GuestProcess p, in SyscallArgs a) => Gather(p, a.Int(0), a.A1, a.Int(2), a.Long(3));

    /// <summary>readv: one host read into a bounce buffer, spread over the guest's vectors.</summary>
    static long Scatter(GuestProcess p, int fd, ulong vectorsAddress, int count, long offset)
    {
        var host = p.HostFd(fd);
        if (host < 0)
            return host;
        if (offset < 0 && p.Scheduler.YieldsInsteadOfWaiting(host, writing: false))
            return -Errno.ERESTARTSYS;
        if (GuestBuffer.IoVectors(p, vectorsAddress, count) is not { } vectors)
            return count is < 0 or > 1024 ? -Errno.EINVAL : -Errno.EFAULT;
        var total = vectors.Aggregate(0UL, (sum, v) => sum + v.Length);
        if (vectors.Any(v => v.Length > 0 && !p.Memory.IsAccessible(v.Base, v.Length, Engine.Protection.Write)))
            return -Errno.EFAULT;
        var bounce = ArrayPool<byte>.Shared.Rent((int)Math.Min(total, 64 << 20));
        try
        {
            long result;
            fixed (byte* buffer = bounce)
            {
                result = offset < 0
                    ? HostSyscall.Invoke(SyscallNumber.read, host, (long)buffer, Math.Min((long)total, bounce.Length))
                    : HostSyscall.Invoke(SyscallNumber.pread64, host, (long)buffer, Math.Min((long)total, bounce.Length), offset);
            }
            var done = 0L;
            foreach (var (vectorBase, length) in vectors)
            {
                if (done >= result)
                    break;
                var piece = (int)Math.Min((long)length, result - done);
                p.Memory.Write(vectorBase, bounce.AsSpan((int)done, piece));
                done += piece;
            }
            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bounce);
        }
    }

    /// <summary>writev: the vectors gathered into one host write, so that a pipe sees one atomic write.</summary>
    static long Gather(GuestProcess p, int fd, ulong vectorsAddress, int count, long offset)
    {
        var host = p.HostFd(fd);
        if (host < 0)
            return host;
        if (offset < 0 && p.Scheduler.YieldsInsteadOfWaiting(host, writing: true))
            return -Errno.ERESTARTSYS;
        if (GuestBuffer.IoVectors(p, vectorsAddress, count) is not { } vectors)
            return count is < 0 or > 1024 ? -Errno.EINVAL : -Errno.EFAULT;
        var total = (int)Math.Min(vectors.Aggregate(0UL, (sum, v) => sum + v.Length), 64 << 20);
        var bounce = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var done = 0;
            foreach (var (vectorBase, length) in vectors)
            {
                var piece = (int)Math.Min(length, (ulong)(total - done));
                if (!p.Memory.Read(vectorBase, bounce.AsSpan(done, piece)))
                    return -Errno.EFAULT;
                done += piece;
            }
            fixed (byte* buffer = bounce)
            {
                return offset < 0
                    ? HostSyscall.Invoke(SyscallNumber.write, host, (long)buffer, total)
                    : HostSyscall.Invoke(SyscallNumber.pwrite64, host, (long)buffer, total, offset);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bounce);
        }
    }

    [Syscall(SyscallNumber.lseek)]
    static long Seek(GuestProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.Int(0))?.Proc is { Entry: Proc.ProcDirectory } open)
            return ProcFiles.Seek(open, a.Long(1), a.Int(2));
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : HostSyscall.Invoke(SyscallNumber.lseek, host, a.Long(1), a.Int(2));
    }

    [Syscall(SyscallNumber.fsync)]
    [Syscall(SyscallNumber.fdatasync)]
    static long Sync(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : HostSyscall.Invoke(SyscallNumber.fsync, host);
    }

    [Syscall(SyscallNumber.ftruncate)]
    static long TruncateDescriptor(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : HostSyscall.Invoke(SyscallNumber.ftruncate, host, a.Long(1));
    }

    [Syscall(SyscallNumber.fallocate)]
    static long Allocate(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : HostSyscall.Invoke(SyscallNumber.fallocate, host, a.Int(1), a.Long(2), a.Long(3));
    }

    [Syscall(SyscallNumber.fadvise64)]
    static long Advise(GuestProcess p, in SyscallArgs a) => p.HostFd(a.Int(0)) is var host && host < 0 ? host : 0;

    // ---- descriptors ----

    [Syscall(SyscallNumber.close)]
    static long Close(GuestProcess p, in SyscallArgs a) => p.Files.Close(a.Int(0));

    /// <summary>close_range: closes the open descriptors in [first, last], or with CLOSE_RANGE_CLOEXEC marks them close-on-exec.</summary>
    [Syscall(SyscallNumber.close_range)]
    static long CloseRange(GuestProcess p, in SyscallArgs a)
    {
        const uint Unshare = 2, CloseOnExec = 4;
        var (first, last, flags) = ((uint)a.A0, (uint)a.A1, (uint)a.A2);
        if ((flags & ~(Unshare | CloseOnExec)) != 0 || first > last)
            return -Errno.EINVAL;
        foreach (var (fd, descriptor) in p.Files.All.Where(f => (uint)f.Key >= first && (uint)f.Key <= last).ToArray())
        {
            if ((flags & CloseOnExec) != 0)
                descriptor.CloseOnExec = true;
            else
                p.Files.Close(fd);
        }
        return 0;
    }

    [Syscall(SyscallNumber.dup)]
    static long Duplicate(GuestProcess p, in SyscallArgs a)
    {
        var descriptor = p.Files.Get(a.Int(0));
        if (descriptor is null)
            return -Errno.EBADF;
        var copy = FileTable.Duplicate(descriptor, closeOnExec: false, out var error);
        return copy is null ? error : p.Files.Add(copy);
    }

    [Syscall(SyscallNumber.dup2)]
    static long Duplicate2(GuestProcess p, in SyscallArgs a) =>
        a.Int(0) == a.Int(1) ? (p.Files.Get(a.Int(0)) is null ? -Errno.EBADF : a.Int(1)) : DuplicateTo(p, a.Int(0), a.Int(1), 0);

    [Syscall(SyscallNumber.dup3)]
    static long Duplicate3(GuestProcess p, in SyscallArgs a) =>
        a.Int(0) == a.Int(1) || (a.Int(2) & ~OCloexec) != 0 ? -Errno.EINVAL : DuplicateTo(p, a.Int(0), a.Int(1), a.Int(2));

    static long DuplicateTo(GuestProcess p, int oldFd, int newFd, int flags)
    {
        var descriptor = p.Files.Get(oldFd);
        if (descriptor is null)
            return -Errno.EBADF;
        if (newFd < 0 || newFd >= p.Files.Limit)
            return -Errno.EBADF;
        var copy = FileTable.Duplicate(descriptor, (flags & OCloexec) != 0, out var error);
        if (copy is null)
            return error;
        p.Files.Set(newFd, copy);
        return newFd;
    }

    [Syscall(SyscallNumber.pipe)]
    static long Pipe(GuestProcess p, in SyscallArgs a) => CreatePipe(p, a.A0, 0);

    [Syscall(SyscallNumber.pipe2)]
    static long Pipe2(GuestProcess p, in SyscallArgs a) => CreatePipe(p, a.A0, a.Int(1));

    static long CreatePipe(GuestProcess p, ulong address, int flags)
    {
        if (!p.Memory.IsAccessible(address, 8, Engine.Protection.Write))
            return -Errno.EFAULT;
        var fds = stackalloc int[2];
        var result = HostSyscall.Invoke(SyscallNumber.pipe2, (long)fds, flags | OCloexec);
        if (result < 0)
            return result;
        var read = p.Files.Add(fds[0], null, (flags & OCloexec) != 0);
        var write = p.Files.Add(fds[1], null, (flags & OCloexec) != 0);
        if (read < 0 || write < 0)
        {
            if (read >= 0)
                p.Files.Close(read);
            return -Errno.EMFILE;
        }
        p.Memory.TryWrite(address, read);
        p.Memory.TryWrite(address + 4, write);
        return 0;
    }

    // ---- working directory ----

    [Syscall(SyscallNumber.getcwd)]
    static long GetWorkingDirectory(GuestProcess p, in SyscallArgs a)
    {
        var bytes = HostSyscall.PathBytes(p.Cwd);
        if ((ulong)bytes.Length > a.A1)
            return -Errno.ERANGE;
        return p.Memory.Write(a.A0, bytes) ? bytes.Length : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.chdir)]
    static long ChangeDirectory(GuestProcess p, in SyscallArgs a)
    {
        var result = p.ResolvePath(GuestProcess.AtFdCwd, a.A0, PathIntent.Lookup, out var target, out var absolute);
        return result < 0 ? result : EnterDirectory(p, target, absolute);
    }

    [Syscall(SyscallNumber.fchdir)]
    static long ChangeDirectoryDescriptor(GuestProcess p, in SyscallArgs a)
    {
        var descriptor = p.Files.Get(a.Int(0));
        if (descriptor?.Path is not { } path)
            return descriptor is null ? -Errno.EBADF : -Errno.ENOTDIR;
        var result = p.ResolvePath(GuestProcess.AtFdCwd, path, PathIntent.Lookup, out var target, out var absolute);
        return result < 0 ? result : EnterDirectory(p, target, absolute);
    }

    static long EnterDirectory(GuestProcess p, HostPath target, string absolute)
    {
        long fd;
        fixed (byte* bytes = HostSyscall.PathBytes(target.Path))
            fd = HostSyscall.Invoke(SyscallNumber.openat, target.DirectoryFd, (long)bytes, 0x200000 | 0x10000 | OCloexec);
        if (fd < 0)
            return fd;
        HostSyscall.Invoke(SyscallNumber.close, p.CwdFd);
        p.CwdFd = (int)fd;
        p.Cwd = absolute;
        return 0;
    }

    [Syscall(SyscallNumber.umask)]
    static long SetFileCreationMask(GuestProcess p, in SyscallArgs a)
    {
        var old = p.Umask;
        p.Umask = (uint)a.Int(0) & 0x1ff;
        // The host applies the mask when files are created on the guest's behalf.
        HostSyscall.Invoke(SyscallNumber.umask, p.Umask);
        return old;
    }

    // ---- paths ----

    [Syscall(SyscallNumber.unlink)]
    static long Unlink(GuestProcess p, in SyscallArgs a) => Remove(p, GuestProcess.AtFdCwd, a.A0, 0);

    [Syscall(SyscallNumber.rmdir)]
    static long RemoveDirectory(GuestProcess p, in SyscallArgs a) => Remove(p, GuestProcess.AtFdCwd, a.A0, AtRemoveDir);

    [Syscall(SyscallNumber.unlinkat)]
    static long UnlinkAt(GuestProcess p, in SyscallArgs a) => Remove(p, a.Int(0), a.A1, a.Int(2));

    static long Remove(GuestProcess p, int dirFd, ulong pathAddress, int flags)
    {
        if ((flags & ~AtRemoveDir) != 0)
            return -Errno.EINVAL;
        var result = p.ResolvePath(dirFd, pathAddress, PathIntent.Remove, out var target, out _);
        if (result < 0 || target.Handled)
            return result;
        return AtPath(target, path => HostSyscall.Invoke(SyscallNumber.unlinkat, target.DirectoryFd, path, flags));
    }

    [Syscall(SyscallNumber.mkdir)]
    static long MakeDirectory(GuestProcess p, in SyscallArgs a) => MakeDirectoryAt(p, GuestProcess.AtFdCwd, a.A0, a.Int(1));

    [Syscall(SyscallNumber.mkdirat)]
    static long MakeDirectoryAt(GuestProcess p, in SyscallArgs a) => MakeDirectoryAt(p, a.Int(0), a.A1, a.Int(2));

    static long MakeDirectoryAt(GuestProcess p, int dirFd, ulong pathAddress, int mode)
    {
        var result = p.ResolvePath(dirFd, pathAddress, PathIntent.Create, out var target, out _);
        return result < 0 ? result : AtPath(target, path => HostSyscall.Invoke(SyscallNumber.mkdirat, target.DirectoryFd, path, mode));
    }

    [Syscall(SyscallNumber.rename)]
    static long Rename(GuestProcess p, in SyscallArgs a) => RenameAt(p, GuestProcess.AtFdCwd, a.A0, GuestProcess.AtFdCwd, a.A1, 0);

    [Syscall(SyscallNumber.renameat)]
    static long RenameAt(GuestProcess p, in SyscallArgs a) => RenameAt(p, a.Int(0), a.A1, a.Int(2), a.A3, 0);

    [Syscall(SyscallNumber.renameat2)]
    static long RenameAt2(GuestProcess p, in SyscallArgs a) => RenameAt(p, a.Int(0), a.A1, a.Int(2), a.A3, a.Int(4));

    static long RenameAt(GuestProcess p, int oldDirFd, ulong oldPath, int newDirFd, ulong newPath, int flags)
    {
        var result = p.ResolvePath(oldDirFd, oldPath, PathIntent.Modify, out var source, out _);
        if (result < 0)
            return result;
        result = p.ResolvePath(newDirFd, newPath, PathIntent.Create, out var destination, out _);
        if (result < 0)
            return result;
        fixed (byte* from = HostSyscall.PathBytes(source.Path))
        fixed (byte* to = HostSyscall.PathBytes(destination.Path))
            result = HostSyscall.Invoke(SyscallNumber.renameat2, source.DirectoryFd, (long)from, destination.DirectoryFd, (long)to, flags);
        if (result == 0)
            p.ResolvePath(oldDirFd, oldPath, PathIntent.Remove, out _, out _); // a sandbox hides the original
        return result;
    }

    [Syscall(SyscallNumber.link)]
    static long Link(GuestProcess p, in SyscallArgs a) => LinkAt(p, GuestProcess.AtFdCwd, a.A0, GuestProcess.AtFdCwd, a.A1, 0);

    [Syscall(SyscallNumber.linkat)]
    static long LinkAt(GuestProcess p, in SyscallArgs a) => LinkAt(p, a.Int(0), a.A1, a.Int(2), a.A3, a.Int(4));

    static long LinkAt(GuestProcess p, int oldDirFd, ulong oldPath, int newDirFd, ulong newPath, int flags)
    {
        var result = p.ResolvePath(oldDirFd, oldPath, PathIntent.Modify, out var source, out _);
        if (result < 0)
            return result;
        result = p.ResolvePath(newDirFd, newPath, PathIntent.Create, out var destination, out _);
        if (result < 0)
            return result;
        fixed (byte* from = HostSyscall.PathBytes(source.Path))
        fixed (byte* to = HostSyscall.PathBytes(destination.Path))
            return HostSyscall.Invoke(SyscallNumber.linkat, source.DirectoryFd, (long)from, destination.DirectoryFd, (long)to, flags);
    }

    [Syscall(SyscallNumber.symlink)]
    static long SymbolicLink(GuestProcess p, in SyscallArgs a) => SymbolicLinkAt(p, a.A0, GuestProcess.AtFdCwd, a.A1);

    [Syscall(SyscallNumber.symlinkat)]
    static long SymbolicLinkAt(GuestProcess p, in SyscallArgs a) => SymbolicLinkAt(p, a.A0, a.Int(1), a.A2);

    static long SymbolicLinkAt(GuestProcess p, ulong targetAddress, int dirFd, ulong pathAddress)
    {
        var linkTarget = p.Memory.ReadString(targetAddress);
        if (linkTarget is null)
            return -Errno.EFAULT;
        var result = p.ResolvePath(dirFd, pathAddress, PathIntent.Create, out var where, out _);
        if (result < 0)
            return result;
        var content = HostSyscall.PathBytes(linkTarget);
        return AtPath(where, path =>
        {
            fixed (byte* bytes = content)
                return HostSyscall.Invoke(SyscallNumber.symlinkat, (long)bytes, where.DirectoryFd, path);
        });
    }

    [Syscall(SyscallNumber.readlink)]
    static long ReadLink(GuestProcess p, in SyscallArgs a) => ReadLinkAt(p, GuestProcess.AtFdCwd, a.A0, a.A1, a.A2);

    [Syscall(SyscallNumber.readlinkat)]
    static long ReadLinkAt(GuestProcess p, in SyscallArgs a) => ReadLinkAt(p, a.Int(0), a.A1, a.A2, a.A3);

    static long ReadLinkAt(GuestProcess p, int dirFd, ulong pathAddress, ulong buffer, ulong size)
    {
        if ((long)size <= 0)
            return -Errno.EINVAL;
        var path = p.Memory.ReadString(pathAddress);
        if (path is null)
            return -Errno.EFAULT;
        if (ProcFiles.Find(p, dirFd, path) is { } entry)
            return ProcFiles.ReadLink(p, entry, buffer, size);
        var result = p.ResolvePath(dirFd, path, PathIntent.Lookup, out var target, out _);
        if (result < 0)
            return result;
        return GuestBuffer.Into(p, buffer, size, (host, length) =>
            AtPath(target, hostPath => HostSyscall.Invoke(SyscallNumber.readlinkat, target.DirectoryFd, hostPath, (long)host, (long)length)));
    }

    [Syscall(SyscallNumber.access)]
    static long Access(GuestProcess p, in SyscallArgs a) => AccessAt(p, GuestProcess.AtFdCwd, a.A0, a.Int(1), 0);

    [Syscall(SyscallNumber.faccessat)]
    static long AccessAt(GuestProcess p, in SyscallArgs a) => AccessAt(p, a.Int(0), a.A1, a.Int(2), 0);

    [Syscall(SyscallNumber.faccessat2)]
    static long AccessAt2(GuestProcess p, in SyscallArgs a) => AccessAt(p, a.Int(0), a.A1, a.Int(2), a.Int(3));

    static long AccessAt(GuestProcess p, int dirFd, ulong pathAddress, int mode, int flags)
    {
        if (p.Memory.ReadString(pathAddress) is { Length: > 0 } path && ProcFiles.Find(p, dirFd, path) is { } entry)
            return ProcFiles.Access(entry, mode, flags);
        var result = p.ResolvePath(dirFd, pathAddress, PathIntent.Lookup, out var target, out _, allowEmpty: (flags & 0x1000) != 0);
        return result < 0 ? result : AtPath(target, path => HostSyscall.Invoke(SyscallNumber.faccessat2, target.DirectoryFd, path, mode, flags));
    }

    [Syscall(SyscallNumber.truncate)]
    static long Truncate(GuestProcess p, in SyscallArgs a)
    {
        var length = a.Long(1);
        var result = p.ResolvePath(GuestProcess.AtFdCwd, a.A0, PathIntent.Modify, out var target, out _);
        return result < 0 ? result : AtPath(target, path => HostSyscall.Invoke(SyscallNumber.truncate, path, length), absolute: true);
    }

    [Syscall(SyscallNumber.chmod)]
    static long ChangeMode(GuestProcess p, in SyscallArgs a) => ChangeModeAt(p, GuestProcess.AtFdCwd, a.A0, a.Int(1));

    [Syscall(SyscallNumber.fchmodat)]
    static long ChangeModeAt(GuestProcess p, in SyscallArgs a) => ChangeModeAt(p, a.Int(0), a.A1, a.Int(2));

    static long ChangeModeAt(GuestProcess p, int dirFd, ulong pathAddress, int mode)
    {
        var result = p.ResolvePath(dirFd, pathAddress, PathIntent.Modify, out var target, out _);
        return result < 0 ? result : AtPath(target, path => HostSyscall.Invoke(SyscallNumber.fchmodat, target.DirectoryFd, path, mode));
    }

    [Syscall(SyscallNumber.fchmod)]
    static long ChangeModeDescriptor(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : HostSyscall.Invoke(SyscallNumber.fchmod, host, a.Int(1));
    }

    [Syscall(SyscallNumber.fchown)]
    static long ChangeOwnerDescriptor(GuestProcess p, in SyscallArgs a)
    {
        var host = p.HostFd(a.Int(0));
        return host < 0 ? host : HostSyscall.Invoke(SyscallNumber.fchown, host, a.Int(1), a.Int(2));
    }

    [Syscall(SyscallNumber.chown)]
    static long ChangeOwner(GuestProcess p, in SyscallArgs a) => ChangeOwnerAt(p, GuestProcess.AtFdCwd, a.A0, a.Int(1), a.Int(2), 0);

    [Syscall(SyscallNumber.lchown)]
    static long ChangeLinkOwner(GuestProcess p, in SyscallArgs a) => ChangeOwnerAt(p, GuestProcess.AtFdCwd, a.A0, a.Int(1), a.Int(2), 0x100);

    [Syscall(SyscallNumber.fchownat)]
    static long ChangeOwnerAt(GuestProcess p, in SyscallArgs a) => ChangeOwnerAt(p, a.Int(0), a.A1, a.Int(2), a.Int(3), a.Int(4));

    static long ChangeOwnerAt(GuestProcess p, int dirFd, ulong pathAddress, int user, int group, int flags)
    {
        var result = p.ResolvePath(dirFd, pathAddress, PathIntent.Modify, out var target, out _, allowEmpty: (flags & 0x1000) != 0);
        return result < 0 ? result : AtPath(target, path => HostSyscall.Invoke(SyscallNumber.fchownat, target.DirectoryFd, path, user, group, flags));
    }

    [Syscall(SyscallNumber.utimensat)]
    static long SetTimes(GuestProcess p, in SyscallArgs a)
    {
        var times = stackalloc long[4];
        if (a.A2 != 0 && !p.Memory.Read(a.A2, new Span<byte>(times, 32)))
            return -Errno.EFAULT;
        return SetTimesAt(p, a.Int(0), a.A1, a.A2 == 0 ? null : times, a.Int(3));
    }

    [Syscall(SyscallNumber.utimes)]
    static long SetTimesInMicroseconds(GuestProcess p, in SyscallArgs a) => SetTimesFromTimevals(p, GuestProcess.AtFdCwd, a.A0, a.A1);

    [Syscall(SyscallNumber.futimesat)]
    static long SetTimesInMicrosecondsAt(GuestProcess p, in SyscallArgs a) => SetTimesFromTimevals(p, a.Int(0), a.A1, a.A2);

    /// <summary>utimes and futimesat: two struct timevals (access, modification), as utimensat's timespecs.</summary>
    static long SetTimesFromTimevals(GuestProcess p, int dirFd, ulong pathAddress, ulong timesAddress)
    {
        var times = stackalloc long[4];
        if (timesAddress != 0 && !p.Memory.Read(timesAddress, new Span<byte>(times, 32)))
            return -Errno.EFAULT;
        for (var i = 1; i < 4; i += 2)
        {
            if (times[i] is < 0 or >= 1_000_000)
                return -Errno.EINVAL;
            times[i] *= 1000;
        }
        return SetTimesAt(p, dirFd, pathAddress, timesAddress == 0 ? null : times, 0);
    }

    /// <summary>utime: a struct utimbuf of whole seconds (access, modification).</summary>
    [Syscall(SyscallNumber.utime)]
    static long SetTimesInSeconds(GuestProcess p, in SyscallArgs a)
    {
        var times = stackalloc long[4];
        if (a.A1 != 0 && !(p.Memory.TryRead(a.A1, out times[0]) && p.Memory.TryRead(a.A1 + 8, out times[2])))
            return -Errno.EFAULT;
        return SetTimesAt(p, GuestProcess.AtFdCwd, a.A0, a.A1 == 0 ? null : times, 0);
    }

    /// <summary>utimensat with its timespecs already read (null: both now); a null path is the descriptor itself.</summary>
    static long SetTimesAt(GuestProcess p, int dirFd, ulong pathAddress, long* times, int flags)
    {
        if (pathAddress == 0)
        {
            var host = p.HostFd(dirFd);
            return host < 0 ? host : HostSyscall.Invoke(SyscallNumber.utimensat, host, 0, (long)times, flags);
        }
        var result = p.ResolvePath(dirFd, pathAddress, PathIntent.Modify, out var target, out _);
        return result < 0 ? result : AtPath(target, path => HostSyscall.Invoke(SyscallNumber.utimensat, target.DirectoryFd, path, (long)times, flags));
    }

    /// <summary>Runs a host call with the target's path pinned as a C string.</summary>
    internal static long AtPath(HostPath target, Func<long, long> call, bool absolute = false)
    {
        var path = absolute && !target.Path.StartsWith('/') ? $"/proc/self/fd/{target.DirectoryFd}/{target.Path}" : target.Path;
        fixed (byte* bytes = HostSyscall.PathBytes(path))
            return call((long)bytes);
    }
}
