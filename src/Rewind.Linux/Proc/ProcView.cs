using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Host;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Proc;

/// <summary>
/// The guest's own /proc, and the /dev entries that name its descriptors (/dev/fd, /dev/stdin, /dev/stdout,
/// /dev/stderr): what they hold about processes, descriptors and memory comes from the guest's tables, never from
/// Rewind's host process, which the host's /proc/self would describe. /proc/PID exists for every process of the run
/// (by its virtual pid) and for no other, as in a pid namespace of the run's own; the rest of /proc is the host's.
/// Path resolution asks <see cref="Find"/> about every absolute guest path, and the syscalls that open, stat, list and
/// read links handle the entries it returns; everything else acts on <see cref="HostLocation"/>.
/// </summary>
public static class ProcView
{
    const int MaxLinks = 8;
    const int AtFdCwd = GuestProcess.AtFdCwd;
    const uint OwnerOnly = 0x140; // 0500: fd and fdinfo

    /// <summary>
    /// Entries of Rewind's own /proc/self that describe what a guest process shares with it (mount and network
    /// namespaces, cgroups, user maps), with their d_type: read from the host.
    /// </summary>
    static readonly HashSet<string> SharedFiles =
    [
        "cgroup", "cpuset", "gid_map", "loginuid", "mountinfo", "mounts", "mountstats", "oom_adj", "oom_score", "oom_score_adj",
        "projid_map", "sessionid", "setgroups", "uid_map",
    ];

    static readonly HashSet<string> SharedDirectories = ["attr", "net", "ns"];

    /// <summary>The entries of a process's (or thread's) directory that the view makes itself.</summary>
    static readonly (string Name, byte Type)[] Own =
    [
        ("auxv", DirectoryTypes.Regular), ("cmdline", DirectoryTypes.Regular), ("comm", DirectoryTypes.Regular),
        ("cwd", DirectoryTypes.Link), ("environ", DirectoryTypes.Regular), ("exe", DirectoryTypes.Link),
        ("fd", DirectoryTypes.Directory), ("fdinfo", DirectoryTypes.Directory), ("limits", DirectoryTypes.Regular),
        ("maps", DirectoryTypes.Regular), ("root", DirectoryTypes.Link), ("stat", DirectoryTypes.Regular),
        ("statm", DirectoryTypes.Regular), ("status", DirectoryTypes.Regular), ("task", DirectoryTypes.Directory),
    ];

    /// <summary>
    /// The view entry that the absolute, lexically normal guest path <paramref name="path"/> names, or null when
    /// the path is not in a view (the host file system answers for it).
    /// </summary>
    public static ProcEntry? Find(GuestProcess machine, string path)
    {
        if (path.StartsWith("/dev/", StringComparison.Ordinal))
            return FindDevice(machine, path);
        if (path == "/proc")
            return new ProcDirectory(path, () => ListProc(machine));
        if (!path.StartsWith("/proc/", StringComparison.Ordinal))
            return null;
        var parts = path[6..].Split('/');
        var self = machine.CurrentProcess;
        switch (parts[0])
        {
            case "self":
                return parts.Length == 1
                    ? new ProcLink(path, Number(self.Pid), () => Process(machine, self, null, $"/proc/{self.Pid}", []))
                    : Process(machine, self, null, $"/proc/{self.Pid}", parts[1..]);
            case "thread-self":
                var thread = machine.CurrentThread;
                var threadPath = $"/proc/{self.Pid}/task/{thread.Tid}";
                return parts.Length == 1
                    ? new ProcLink(path, $"{self.Pid}/task/{thread.Tid}", () => Process(machine, self, thread, threadPath, []))
                    : Process(machine, self, thread, threadPath, parts[1..]);
        }
        if (ParseNumber(parts[0]) is not { } id)
            return null;
        // A thread is reachable by its tid too, though only processes are listed.
        if (machine.FindProcess(id) is { } process)
            return Process(machine, process, null, $"/proc/{id}", parts[1..]);
        foreach (var candidate in machine.Processes)
        {
            if (candidate.Threads.Find(t => t.Tid == id) is { } owner)
                return Process(machine, candidate, owner, $"/proc/{id}", parts[1..]);
        }
        return new ProcMissing(path, Errno.ENOENT);
    }

    /// <summary>/dev/fd (a link to /proc/self/fd) and what is below it, and /dev/stdin, /dev/stdout, /dev/stderr.</summary>
    static ProcEntry? FindDevice(GuestProcess machine, string path)
    {
        var standard = Array.IndexOf(["/dev/stdin", "/dev/stdout", "/dev/stderr"], path);
        if (standard >= 0)
        {
            var target = $"/proc/self/fd/{standard}";
            return new ProcLink(path, target, () => Find(machine, target)!);
        }
        if (path == "/dev/fd")
            return new ProcLink(path, "/proc/self/fd", () => Find(machine, "/proc/self/fd")!);
        return path.StartsWith("/dev/fd/", StringComparison.Ordinal) ? Find(machine, "/proc/self/fd" + path[7..]) : null;
    }

    /// <summary>/proc/PID/... (or /proc/PID/task/TID/... when <paramref name="thread"/> is given), <paramref name="rest"/> below it.</summary>
    static ProcEntry Process(GuestProcess machine, ProcessState process, GuestThread? thread, string directory, string[] rest)
    {
        var path = rest.Length == 0 ? directory : directory + "/" + string.Join('/', rest);
        // A process that went on as a host program outside the trace is that host process.
        if (process.HostPid is > 0 and var hostPid)
            return new ProcHostFile(path, new HostPath(AtFdCwd, $"/proc/{hostPid}/{string.Join('/', rest)}"));
        if (rest.Length == 0)
            return new ProcDirectory(path, () => ListProcess(thread));
        var (name, below) = (rest[0], rest[1..]);
        if (SharedFiles.Contains(name) || SharedDirectories.Contains(name))
            return new ProcHostFile(path, new HostPath(AtFdCwd, "/proc/self/" + string.Join('/', rest)));
        switch (name)
        {
            case "fd":
                return Descriptors(machine, process, directory + "/fd", below);
            case "fdinfo" when below.Length == 0:
                return new ProcDirectory(path, () => process.Files.All.OrderBy(f => f.Key).Select(f => new ProcName(Number(f.Key), DirectoryTypes.Regular)), OwnerOnly);
            case "fdinfo" when below.Length == 1 && ParseNumber(below[0]) is { } fd && process.Files.Get(fd) is { } descriptor:
                return new ProcFile(path, () => ProcessFiles.DescriptorInformation(descriptor));
            case "task" when thread is null:
                return Tasks(machine, process, directory + "/task", below);
            case "exe":
                if (process.HasEnded)
                    return new ProcMissing(path, Errno.ENOENT);
                var executable = process.ExecutablePath;
                return Link(directory + "/exe", HostSyscall.CanonicalPath(executable), new HostPath(AtFdCwd, executable), below);
            case "cwd":
                if (process.HasEnded)
                    return new ProcMissing(path, Errno.ENOENT);
                return Link(directory + "/cwd", process.Cwd, new HostPath(process.CwdFd, "."), below);
            case "root":
                return Link(directory + "/root", "/", new HostPath(AtFdCwd, "/"), below);
        }
        if (below.Length > 0)
            return new ProcMissing(path, Own.Any(e => e.Name == name) ? Errno.ENOTDIR : Errno.ENOENT);
        return name switch
        {
            "auxv" => new ProcFile(path, () => ProcessFiles.Auxv(process), Mode: 0x100 /* 0400 */),
            "cmdline" => new ProcFile(path, () => ProcessFiles.StackStrings(process, environment: false)),
            "comm" => new ProcFile(path, () => ProcessFiles.Comm(process), Mode: 0x1a4 /* 0644 */),
            "environ" => new ProcFile(path, () => ProcessFiles.StackStrings(process, environment: true), Mode: 0x100),
            "limits" => new ProcFile(path, () => ProcessFiles.Limits(process)),
            "maps" => new ProcFile(path, () => ProcessFiles.Maps(process)),
            "stat" => new ProcFile(path, () => ProcessFiles.Stat(machine, process, thread)),
            "statm" => new ProcFile(path, () => ProcessFiles.Statm(process)),
            "status" => new ProcFile(path, () => ProcessFiles.Status(machine, process, thread)),
            _ => new ProcMissing(path, Errno.ENOENT),
        };
    }

    static IEnumerable<ProcName> ListProcess(GuestThread? thread) =>
        Own.Where(e => thread is null || e.Name != "task").Select(e => new ProcName(e.Name, e.Type))
            .Concat(SharedFiles.Select(name => new ProcName(name, DirectoryTypes.Regular)))
            .Concat(SharedDirectories.Select(name => new ProcName(name, DirectoryTypes.Directory)))
            .OrderBy(e => e.Name, StringComparer.Ordinal);

    /// <summary>/proc/PID/fd: a directory of links, one per open descriptor, each to the file it has open.</summary>
    static ProcEntry Descriptors(GuestProcess machine, ProcessState process, string directory, string[] rest)
    {
        if (rest.Length == 0)
        {
            return new ProcDirectory(directory, () => process.Files.All.OrderBy(f => f.Key)
                .Select(f => new ProcName(Number(f.Key), DirectoryTypes.Link)).ToArray(), OwnerOnly);
        }
        var path = directory + "/" + string.Join('/', rest);
        if (ParseNumber(rest[0]) is not { } fd || process.Files.Get(fd) is not { } descriptor)
            return new ProcMissing(path, Errno.ENOENT);
        // The host's magic link for the same open file: opening it opens the file anew, as Linux does.
        var host = new HostPath(AtFdCwd, $"/proc/self/fd/{descriptor.HostFd}");
        return Link(directory + "/" + rest[0], DescriptorTarget(machine, descriptor), host, rest[1..], DescriptorMode(descriptor));
    }

    /// <summary>
    /// What /proc/PID/fd/N shows for a descriptor: the file's path (with " (deleted)" once unlinked), or the kind and
    /// inode of what has no path ("pipe:[123]", "socket:[456]", "anon_inode:[eventfd]"), as the host kernel names it.
    /// </summary>
    public static string DescriptorTarget(GuestProcess machine, FileDescriptor descriptor)
    {
        if (descriptor.Proc is { } open)
            return open.Entry.Path;
        // A sandbox's host files lie in its overlay: the guest knows them by the paths it opened.
        if (machine.FileSystem is not HostView && descriptor.Path is { } path)
            return path;
        return HostSyscall.DescriptorLink(descriptor.HostFd) ?? descriptor.Path ?? "";
    }

    /// <summary>An fd link's mode: read and execute for the owner when open for reading, write and execute when for writing.</summary>
    static uint DescriptorMode(FileDescriptor descriptor)
    {
        var access = HostSyscall.Invoke(SyscallNumber.fcntl, descriptor.HostFd, 3 /* F_GETFL */) & 3;
        var mode = access is 0 or 2 ? 0x140u /* 0500 */ : 0;
        return access is 1 or 2 ? mode | 0xc0 /* 0300 */ : mode;
    }

    /// <summary>/proc/PID/task: a directory per thread.</summary>
    static ProcEntry Tasks(GuestProcess machine, ProcessState process, string directory, string[] rest)
    {
        if (rest.Length == 0)
            return new ProcDirectory(directory, () => process.Threads.Select(t => new ProcName(Number(t.Tid), DirectoryTypes.Directory)).ToArray());
        if (ParseNumber(rest[0]) is not { } tid || process.Threads.Find(t => t.Tid == tid) is not { } thread)
            return new ProcMissing(directory + "/" + string.Join('/', rest), Errno.ENOENT);
        return Process(machine, process, thread, $"{directory}/{tid}", rest[1..]);
    }

    /// <summary>A link to a host file (<paramref name="rest"/>: a path below it, which is then that host path).</summary>
    static ProcEntry Link(string path, string target, HostPath host, string[] rest, uint mode = 0x1ff)
    {
        if (rest.Length > 0)
        {
            var below = string.Join('/', rest);
            var guestPath = target.StartsWith('/') ? FileSystemView.Absolute(target, below) : path + "/" + below;
            return new ProcHostFile(guestPath, host with { Path = host.Path + "/" + below });
        }
        return new ProcLink(path, target, () => new ProcHostFile(target.StartsWith('/') ? target : path, host), mode);
    }

    /// <summary>/proc: the host's entries, with the pids of the run's processes in place of the host's.</summary>
    static List<ProcName> ListProc(GuestProcess machine)
    {
        var names = new List<ProcName>();
        foreach (var entry in new DirectoryInfo("/proc").EnumerateFileSystemInfos())
        {
            if (ParseNumber(entry.Name) is not null)
                continue;
            var type = entry.LinkTarget is not null ? DirectoryTypes.Link : entry is DirectoryInfo ? DirectoryTypes.Directory : DirectoryTypes.Regular;
            names.Add(new ProcName(entry.Name, type));
        }
        names.AddRange(machine.Processes.Select(p => new ProcName(Number(p.Pid), DirectoryTypes.Directory)));
        return names;
    }

    /// <summary>
    /// The entry links lead to, following at most 8 of them (as Linux's 40 for a whole path, more than enough for
    /// /dev/stdin → /proc/self/fd/0 → the file); an <see cref="ProcMissing"/> ELOOP beyond.
    /// </summary>
    public static ProcEntry Follow(ProcEntry entry)
    {
        for (var links = 0; entry is ProcLink link; links++)
        {
            if (links == MaxLinks)
                return new ProcMissing(entry.Path, Errno.ELOOP);
            entry = link.Follow();
        }
        return entry;
    }

    /// <summary>
    /// Where a syscall that acts on a path through the host (chmod, utimensat, statfs, xattrs, truncate...) acts
    /// for <paramref name="entry"/>, its links followed: the host file it is; for the view's own files and
    /// directories, the host's /proc to look at, and EACCES to change them (as /proc refuses).
    /// </summary>
    public static long HostLocation(ProcEntry entry, PathIntent intent, out HostPath target)
    {
        target = default;
        switch (Follow(entry))
        {
            case ProcMissing missing:
                return -missing.Errno;
            case ProcHostFile host:
                target = host.Location;
                return 0;
            default:
                if (intent is not (PathIntent.Lookup or PathIntent.List))
                    return -Errno.EACCES;
                target = new HostPath(AtFdCwd, "/proc");
                return 0;
        }
    }

    /// <summary>The st_ino of a view entry: stable for its path, as a /proc inode is while the process lives.</summary>
    public static ulong Inode(string path) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(path)) & 0x7fff_ffff_ffff;

    static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A pid, tid or descriptor number as /proc names it: decimal digits without a leading zero.</summary>
    static int? ParseNumber(string name) =>
        name.Length is > 0 and < 10 && name.All(char.IsAsciiDigit) && (name.Length == 1 || name[0] != '0')
            ? int.Parse(name, NumberStyles.None, CultureInfo.InvariantCulture)
            : null;
}
