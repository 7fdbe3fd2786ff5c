using Rewind.Linux.Host;

namespace Rewind.Linux.Files;

/// <summary>An open guest file descriptor: a host descriptor plus what the guest knows of it.</summary>
public sealed class FileDescriptor
{
    public required int HostFd { get; init; }
    public bool CloseOnExec { get; set; }

    /// <summary>Absolute guest path the descriptor was opened with, when it came from a path.</summary>
    public string? Path { get; init; }

    /// <summary>
    /// The entry of the guest's own /proc that the descriptor has open (its host descriptor then holds the
    /// contents, or stands in for a directory): fstat and getdents answer from it.
    /// </summary>
    public Proc.OpenProcEntry? Proc { get; init; }
}

/// <summary>
/// The guest's descriptor table. Guest numbers follow Linux rules (lowest free number first)
/// and are independent of the host's, so a program sees the same numbers on every run.
/// </summary>
public sealed class FileTable : IDisposable
{
    readonly Dictionary<int, FileDescriptor> _open = [];

    /// <summary>One more than the highest number the table may use: the process's RLIMIT_NOFILE soft limit.</summary>
    public int Limit { get; set; } = 1024;

    public FileDescriptor? Get(int fd) => _open.GetValueOrDefault(fd);

    public int HostFd(int fd) => _open.TryGetValue(fd, out var descriptor) ? descriptor.HostFd : -1;

    public IEnumerable<KeyValuePair<int, FileDescriptor>> All => _open;

    /// <summary>Installs a host descriptor at the lowest free number ≥ <paramref name="minimum"/>; -EMFILE when full.</summary>
    public int Add(int hostFd, string? path, bool closeOnExec, int minimum = 0) =>
        Add(new FileDescriptor { HostFd = hostFd, Path = path, CloseOnExec = closeOnExec }, minimum);

    /// <summary>Installs <paramref name="descriptor"/> at the lowest free number ≥ <paramref name="minimum"/>; -EMFILE (its host descriptor closed) when full.</summary>
    public int Add(FileDescriptor descriptor, int minimum = 0)
    {
        for (var fd = minimum; fd < Limit; fd++)
        {
            if (_open.ContainsKey(fd))
                continue;
            _open[fd] = descriptor;
            return fd;
        }
        HostSyscall.Invoke(Syscalls.SyscallNumber.close, descriptor.HostFd);
        return -Errno.EMFILE;
    }

    /// <summary>Installs a host descriptor at exactly <paramref name="fd"/>, closing what was there (dup2).</summary>
    public void Set(int fd, int hostFd, string? path, bool closeOnExec) =>
        Set(fd, new FileDescriptor { HostFd = hostFd, Path = path, CloseOnExec = closeOnExec });

    public void Set(int fd, FileDescriptor descriptor)
    {
        Close(fd);
        _open[fd] = descriptor;
    }

    /// <summary>
    /// A copy of <paramref name="descriptor"/> on a duplicate of its host descriptor (sharing the open file, as dup
    /// does), close-on-exec as given; null with the errno when the host has no descriptor left.
    /// </summary>
    public static FileDescriptor? Duplicate(FileDescriptor descriptor, bool closeOnExec, out long error)
    {
        error = HostSyscall.Duplicate(descriptor.HostFd);
        return error < 0 ? null : new FileDescriptor { HostFd = (int)error, Path = descriptor.Path, CloseOnExec = closeOnExec, Proc = descriptor.Proc };
    }

    public int Close(int fd)
    {
        if (!_open.Remove(fd, out var descriptor))
            return -Errno.EBADF;
        HostSyscall.Invoke(Syscalls.SyscallNumber.close, descriptor.HostFd);
        return 0;
    }

    public void Dispose()
    {
        foreach (var fd in _open.Keys.ToList())
            Close(fd);
    }
}
