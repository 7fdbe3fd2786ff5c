using System.Globalization;
using System.Text;
using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Host;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// The guest's own /proc/self: Rewind's host process is not the guest, so files that describe
/// the process (maps, exe, cmdline, comm, fd links) are answered from the guest's state.
/// </summary>
internal static unsafe class ProcFiles
{
    /// <summary>The entry name below /proc/self/ that <paramref name="path"/> names, or null.</summary>
    static string? SelfEntry(GuestProcess p, int dirFd, string path)
    {
        if (!path.StartsWith("/proc/", StringComparison.Ordinal) && dirFd == GuestProcess.AtFdCwd && !p.Cwd.StartsWith("/proc/", StringComparison.Ordinal))
            return null;
        var absolute = FileSystemView.Absolute(dirFd == GuestProcess.AtFdCwd ? p.Cwd : p.Files.Get(dirFd)?.Path ?? p.Cwd, path);
        foreach (var prefix in new[] { "/proc/self", "/proc/thread-self", $"/proc/{p.Pid}", $"/proc/{p.Pid}/task/{p.Tid}" })
        {
            if (absolute == prefix)
                return "";
            if (absolute.StartsWith(prefix + "/", StringComparison.Ordinal))
                return absolute[(prefix.Length + 1)..];
        }
        return null;
    }

    /// <summary>Whether <paramref name="path"/> is the guest's /proc/self/exe (which on the host would be Rewind itself).</summary>
    public static bool IsOwnExecutable(GuestProcess p, int dirFd, string path) => SelfEntry(p, dirFd, path) == "exe";

    /// <summary>Opens a /proc/self file from the guest's state; false when the path is not one.</summary>
    public static bool TryOpen(GuestProcess p, int dirFd, string path, out long hostFd)
    {
        hostFd = 0;
        var entry = SelfEntry(p, dirFd, path);
        if (entry is null)
            return false;
        var content = entry switch
        {
            "maps" => Maps(p),
            "cmdline" => string.Concat(p.Arguments.Select(arg => arg + "\0")),
            "comm" => p.Name + "\n",
            "exe" => null,
            _ when entry.StartsWith("fd/", StringComparison.Ordinal) => null,
            _ => "",
        };
        if (entry == "exe")
        {
            fixed (byte* bytes = HostSyscall.PathBytes(p.ExecutablePath))
                hostFd = HostSyscall.Invoke(SyscallNumber.open, (long)bytes, 0x80000);
            return true;
        }
        if (entry.StartsWith("fd/", StringComparison.Ordinal))
        {
            hostFd = int.TryParse(entry[3..], NumberStyles.None, CultureInfo.InvariantCulture, out var fd) && p.Files.Get(fd) is { } descriptor
                ? HostSyscall.Duplicate(descriptor.HostFd)
                : -Errno.ENOENT;
            return true;
        }
        if (content!.Length == 0)
        {
            hostFd = -Errno.ENOENT;
            return true;
        }
        hostFd = MemoryFile(content);
        return true;
    }

    /// <summary>readlink on /proc/self entries; false when the path is not one.</summary>
    public static bool TryReadLink(GuestProcess p, int dirFd, string path, out string? target)
    {
        target = null;
        var entry = SelfEntry(p, dirFd, path);
        if (entry is null)
            return false;
        if (entry == "exe")
            target = p.ExecutablePath;
        else if (entry == "cwd")
            target = p.Cwd;
        else if (entry.StartsWith("fd/", StringComparison.Ordinal)
            && int.TryParse(entry[3..], NumberStyles.None, CultureInfo.InvariantCulture, out var fd) && p.Files.Get(fd) is { } descriptor)
            target = descriptor.Path ?? HostLink($"/proc/self/fd/{descriptor.HostFd}");
        return true;
    }

    static string? HostLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    static string Maps(GuestProcess p)
    {
        var text = new StringBuilder();
        foreach (var mapping in p.Memory.Areas)
        {
            var r = mapping.Protection.HasFlag(Engine.Protection.Read) ? 'r' : '-';
            var w = mapping.Protection.HasFlag(Engine.Protection.Write) ? 'w' : '-';
            var x = mapping.Protection.HasFlag(Engine.Protection.Execute) ? 'x' : '-';
            var name = mapping.Path ?? mapping.Label;
            text.Append(CultureInfo.InvariantCulture, $"{mapping.Start:x8}-{mapping.End:x8} {r}{w}{x}{(mapping.Shared ? 's' : 'p')} {mapping.FileOffset:x8} 00:00 0");
            text.Append(name is null ? "\n" : $"{new string(' ', 10)}{name}\n");
        }
        return text.ToString();
    }

    /// <summary>A host memfd holding <paramref name="content"/>, positioned at its start.</summary>
    static long MemoryFile(string content)
    {
        long fd;
        fixed (byte* name = "rewind-proc\0"u8)
            fd = HostSyscall.Invoke(SyscallNumber.memfd_create, (long)name, 1 /* MFD_CLOEXEC */);
        if (fd < 0)
            return fd;
        var bytes = Encoding.UTF8.GetBytes(content);
        fixed (byte* data = bytes)
            HostSyscall.Invoke(SyscallNumber.write, fd, (long)data, bytes.Length);
        HostSyscall.Invoke(SyscallNumber.lseek, fd, 0, 0);
        return fd;
    }
}
