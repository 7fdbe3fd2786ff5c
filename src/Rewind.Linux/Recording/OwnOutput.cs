using Rewind.Linux.Host;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Recording;

/// <summary>
/// Tells whether a host descriptor is Rewind's own stdout or stderr (the same open file, whatever its
/// number), so that replay shows what went there, and not what went to a pipe between two processes.
/// </summary>
internal sealed unsafe class OwnOutput
{
    readonly (ulong Device, ulong Inode)?[] _streams = [null, Identity(1), Identity(2)];

    /// <summary>
    /// 1 or 2 when <paramref name="hostFd"/> (the guest's <paramref name="guestFd"/>) is the same file as
    /// Rewind's stdout or stderr, else null; when both are one terminal, the guest's own number decides.
    /// </summary>
    public int? StreamOf(int guestFd, int hostFd)
    {
        if (hostFd < 0 || Identity(hostFd) is not { } file)
            return null;
        if (guestFd is 1 or 2 && _streams[guestFd] == file)
            return guestFd;
        for (var stream = 1; stream <= 2; stream++)
        {
            if (_streams[stream] == file)
                return stream;
        }
        return null;
    }

    static (ulong Device, ulong Inode)? Identity(int fd)
    {
        var stat = stackalloc ulong[18]; // struct stat: st_dev, then st_ino
        return HostSyscall.Invoke(SyscallNumber.fstat, fd, (long)stat) < 0 ? null : (stat[0], stat[1]);
    }
}
