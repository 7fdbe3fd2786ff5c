using System.Runtime.InteropServices;

namespace Rewind.Linux.Host;

/// <summary>
/// Direct calls into the host kernel. Guest and host are both x86-64 Linux, so argument and
/// structure layouts are identical and many guest syscalls are forwarded unchanged, with guest
/// pointers replaced by host buffers. Results follow the kernel convention: negative errno on failure.
/// </summary>
internal static unsafe partial class HostSyscall
{
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall(long number, long a0, long a1, long a2, long a3, long a4, long a5);

    public static long Invoke(long number, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
    {
        var result = syscall(number, a0, a1, a2, a3, a4, a5);
        return result == -1 ? -Marshal.GetLastPInvokeError() : result;
    }

    public static long Invoke(Syscalls.SyscallNumber number, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0) =>
        Invoke((long)number, a0, a1, a2, a3, a4, a5);

    // Host virtual memory that backs guest memory.
    public const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    public const int MapShared = 0x01, MapPrivate = 0x02, MapFixed = 0x10, MapAnonymous = 0x20, MapNoReserve = 0x4000;

    /// <summary>Host mmap; returns the address, or a negative errno.</summary>
    public static long MapMemory(ulong length, int protection, int flags, int fd = -1, ulong offset = 0, byte* at = null) =>
        Invoke(Syscalls.SyscallNumber.mmap, (long)at, (long)length, protection, flags, fd, (long)offset);

    public static void UnmapMemory(byte* address, ulong length) => Invoke(Syscalls.SyscallNumber.munmap, (long)address, (long)length);

    /// <summary>
    /// A close-on-exec copy of host descriptor <paramref name="fd"/> (sharing its open file), numbered
    /// <paramref name="minimum"/> or above (3: never one of the standard three); or a negative errno.
    /// </summary>
    public static long Duplicate(int fd, int minimum = 3) => Invoke(Syscalls.SyscallNumber.fcntl, fd, 1030 /* F_DUPFD_CLOEXEC */, minimum);

    /// <summary>NUL-terminated UTF-8 bytes of a path, for pinning with <c>fixed</c>.</summary>
    public static byte[] PathBytes(string path)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(path) + 1];
        System.Text.Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    /// <summary>Opens a directory as an O_PATH descriptor; returns the descriptor or a negative errno.</summary>
    public static long OpenDirectory(string path)
    {
        fixed (byte* bytes = PathBytes(path))
            return Invoke(Syscalls.SyscallNumber.open, (long)bytes, OpenPath | OpenDirectoryFlag | OpenCloseOnExec);
    }

    const int OpenPath = 0x200000, OpenDirectoryFlag = 0x10000, OpenCloseOnExec = 0x80000;

    /// <summary>
    /// The path of what <paramref name="path"/> names with every symbolic link resolved, as the kernel
    /// names the file (what /proc/PID/exe shows); the path itself when it cannot be opened.
    /// </summary>
    public static string CanonicalPath(string path)
    {
        long fd;
        fixed (byte* bytes = PathBytes(path))
            fd = Invoke(Syscalls.SyscallNumber.open, (long)bytes, OpenPath | OpenCloseOnExec);
        if (fd < 0)
            return path;
        try
        {
            return DescriptorLink((int)fd) ?? path;
        }
        finally
        {
            Invoke(Syscalls.SyscallNumber.close, fd);
        }
    }

    /// <summary>What the host's /proc/self/fd/<paramref name="fd"/> links to ("/path", "pipe:[123]", "/memfd:x (deleted)"), or null.</summary>
    public static string? DescriptorLink(int fd)
    {
        var buffer = stackalloc byte[4096];
        long length;
        fixed (byte* link = PathBytes($"/proc/self/fd/{fd}"))
            length = Invoke(Syscalls.SyscallNumber.readlink, (long)link, (long)buffer, 4096);
        return length < 0 ? null : System.Text.Encoding.UTF8.GetString(buffer, (int)length);
    }

    public const int Fifo = 0x1000, CharacterDevice = 0x2000, Directory = 0x4000, BlockDevice = 0x6000, RegularFile = 0x8000, SymbolicLink = 0xa000, SocketFile = 0xc000;

    /// <summary>The S_IFMT bits of a path (not following a final symbolic link), or -1 when it does not exist.</summary>
    public static int FileType(string path)
    {
        var stat = stackalloc byte[144];
        fixed (byte* bytes = PathBytes(path))
        {
            if (Invoke(Syscalls.SyscallNumber.newfstatat, -100, (long)bytes, (long)stat, 0x100) < 0)
                return -1;
        }
        return *(int*)(stat + 24) & 0xf000;
    }
}
