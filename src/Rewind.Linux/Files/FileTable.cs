using Rewind.Linux.Host;

namespace Rewind.Linux.Files;

/// <summary>An open guest file descriptor: a host descriptor plus what the guest knows of it.</summary>
public sealed class FileDescriptor
{
    public required int HostFd { get; init; }
    public bool CloseOnExec { get; set; }

    /// <summary>Absolute guest path the descriptor was opened with, when it came from a path.</summary>
    public string? Path { get; init; }
}

/// <summary>
/// The guest's descriptor table. Guest numbers follow Linux rules (lowest free number first)
/// and are independent of the host's, so a program sees the same numbers on every run.
/// </summary>
public sealed class FileTable : IDisposable
{
    public const int Limit = 1024; // RLIMIT_NOFILE soft limit

    readonly Dictionary<int, FileDescriptor> _open = [];

    public FileDescriptor? Get(int fd) => _open.GetValueOrDefault(fd);

    public int HostFd(int fd) => _open.TryGetValue(fd, out var descriptor) ? descriptor.HostFd : -1;

    public IEnumerable<KeyValuePair<int, FileDescriptor>> All => _open;

    /// <summary>Installs a host descriptor at the lowest free number ≥ <paramref name="minimum"/>; -EMFILE when full.</summary>
    public int Add(int hostFd, string? path, bool closeOnExec, int minimum = 0)
    {
        for (var fd = minimum; fd < Limit; fd++)
        {
            if (_open.ContainsKey(fd))
                continue;
            _open[fd] = new FileDescriptor { HostFd = hostFd, Path = path, CloseOnExec = closeOnExec };
            return fd;
        }
        HostSyscall.Invoke(Syscalls.SyscallNumber.close, hostFd);
        return -Errno.EMFILE;
    }

    /// <summary>Installs a host descriptor at exactly <paramref name="fd"/>, closing what was there (dup2).</summary>
    public void Set(int fd, int hostFd, string? path, bool closeOnExec)
    {
        Close(fd);
        _open[fd] = new FileDescriptor { HostFd = hostFd, Path = path, CloseOnExec = closeOnExec };
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
