using Rewind.Linux.Files;

namespace Rewind.Linux.Proc;

/// <summary>
/// What a path of the guest's own /proc (and of /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr) names: the kernel's
/// views of the guest's processes, descriptors and memory, answered from the guest's tables and never from
/// Rewind's host process. <see cref="Path"/> is the absolute guest path.
/// </summary>
public abstract record ProcEntry(string Path)
{
    /// <summary>The d_type of the entry in a directory listing.</summary>
    public abstract byte DirectoryType { get; }
}

/// <summary>A path that is inside a view but names nothing there (a pid not of the run, a closed descriptor): -<see cref="Errno"/>.</summary>
public sealed record ProcMissing(string Path, int Errno) : ProcEntry(Path)
{
    public override byte DirectoryType => 0;
}

/// <summary>A file whose contents the view makes when it is opened (status, maps, cmdline...).</summary>
public sealed record ProcFile(string Path, Func<byte[]> Contents, uint Mode = 0x124 /* 0444 */) : ProcEntry(Path)
{
    public override byte DirectoryType => DirectoryTypes.Regular;
}

/// <summary>A directory whose entries the view lists when it is opened (a process, its fd folder, /proc).</summary>
public sealed record ProcDirectory(string Path, Func<IEnumerable<ProcName>> List, uint Mode = 0x16d /* 0555 */) : ProcEntry(Path)
{
    public override byte DirectoryType => DirectoryTypes.Directory;
}

/// <summary>
/// A symbolic link (exe, cwd, fd/N, /proc/self, /dev/stdin): readlink shows <see cref="Target"/>, and following it
/// leads to what <see cref="Follow"/> returns.
/// </summary>
public sealed record ProcLink(string Path, string Target, Func<ProcEntry> Follow, uint Mode = 0x1ff /* 0777 */) : ProcEntry(Path)
{
    public override byte DirectoryType => DirectoryTypes.Link;
}

/// <summary>
/// A host file as the guest reaches it through a view (the file a descriptor has open, the executable, the working
/// directory): every operation acts on <see cref="Location"/>, as the kernel follows its magic links.
/// </summary>
public sealed record ProcHostFile(string Path, HostPath Location) : ProcEntry(Path)
{
    public override byte DirectoryType => 0; // DT_UNKNOWN: readdir callers then stat it
}

/// <summary>One name in a directory listing of a view, with its d_type.</summary>
public readonly record struct ProcName(string Name, byte Type);

/// <summary>The d_type values of getdents64.</summary>
public static class DirectoryTypes
{
    public const byte Directory = 4, Regular = 8, Link = 10;
}

/// <summary>
/// An open view entry, held by the guest's descriptor (and shared by its duplicates, as their file offset is):
/// the entry, and for a directory its listing and how far getdents has read it.
/// </summary>
public sealed class OpenProcEntry(ProcEntry entry)
{
    public ProcEntry Entry { get; } = entry;

    /// <summary>The listing of a directory, made at the first getdents after the open or a rewind.</summary>
    public IReadOnlyList<ProcName>? Listing { get; set; }

    /// <summary>How many entries of <see cref="Listing"/> getdents has returned.</summary>
    public int Position { get; set; }
}
