using Rewind.Linux.Files;

namespace Rewind.Linux.Execution;

public sealed partial class GuestProcess
{
    public const int AtFdCwd = -100;

    /// <summary>
    /// Reads a path argument and maps it, relative to guest directory descriptor <paramref name="dirFd"/>,
    /// to where the operation happens on the host. Returns 0 or a negative errno.
    /// </summary>
    public long ResolvePath(int dirFd, ulong pathAddress, PathIntent intent, out HostPath target, out string absolutePath, bool allowEmpty = false)
    {
        target = default;
        absolutePath = "";
        var path = Memory.ReadString(pathAddress);
        if (path is null)
            return -Errno.EFAULT;
        if (path.Length == 0 && !allowEmpty)
            return -Errno.ENOENT;
        return ResolvePath(dirFd, path, intent, out target, out absolutePath);
    }

    public long ResolvePath(int dirFd, string path, PathIntent intent, out HostPath target, out string absolutePath)
    {
        target = default;
        absolutePath = "";
        int hostDirFd;
        string baseDirectory;
        if (dirFd == AtFdCwd || path.StartsWith('/'))
        {
            hostDirFd = CwdFd;
            baseDirectory = Cwd;
        }
        else if (Files.Get(dirFd) is { } descriptor)
        {
            hostDirFd = descriptor.HostFd;
            baseDirectory = descriptor.Path ?? Cwd;
        }
        else
        {
            return -Errno.EBADF;
        }
        absolutePath = FileSystemView.Absolute(baseDirectory, path);
        if (!FileSystem.AllowsDevice(absolutePath))
            return -Errno.EACCES;
        // The guest's own /proc and /dev/fd: what they name is in the guest's tables, not in Rewind's host /proc.
        if (Proc.ProcView.Find(this, absolutePath) is { } entry)
            return Proc.ProcView.HostLocation(entry, intent, out target);
        return FileSystem.Resolve(hostDirFd, path, absolutePath, intent, out target);
    }

    /// <summary>Host descriptor behind a guest one, or -EBADF.</summary>
    public int HostFd(int fd) => Files.HostFd(fd) is var host && host >= 0 ? host : -Errno.EBADF;
}
