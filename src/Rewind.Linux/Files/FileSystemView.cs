namespace Rewind.Linux.Files;

/// <summary>What a syscall is about to do with a path.</summary>
public enum PathIntent
{
    /// <summary>Read or inspect what is there.</summary>
    Lookup,
    /// <summary>Open a directory to read its entries.</summary>
    List,
    /// <summary>Change an existing file's contents or attributes.</summary>
    Modify,
    /// <summary>Create it, or open it for writing when it exists.</summary>
    Create,
    /// <summary>Delete it (unlink, rmdir, the source of rename).</summary>
    Remove,
}

/// <summary>Where on the host a guest path operation goes: a host directory descriptor and a path relative to it.</summary>
public readonly record struct HostPath(int DirectoryFd, string Path)
{
    /// <summary>The operation was fully handled by the view; nothing is to be done on the host.</summary>
    public bool Handled { get; init; }
}

/// <summary>
/// How guest paths reach the host file system. The default passes them through, so a program's
/// file writes happen as they would natively; <see cref="SandboxView"/> keeps the host untouched.
/// </summary>
public abstract class FileSystemView
{
    /// <summary>
    /// Maps a guest path, given relative to <paramref name="hostDirectoryFd"/> and as the absolute
    /// guest path <paramref name="absolutePath"/>, to a host location. Returns 0 or a negative errno.
    /// </summary>
    public abstract long Resolve(int hostDirectoryFd, string path, string absolutePath, PathIntent intent, out HostPath target);

    /// <summary>Whether the guest may open sockets.</summary>
    public virtual bool AllowsNetwork => true;

    /// <summary>Whether the guest may open this device file.</summary>
    public virtual bool AllowsDevice(string absolutePath) => true;

    /// <summary>Joins and normalizes a guest path lexically ("." and ".." removed), as an absolute path.</summary>
    public static string Absolute(string baseDirectory, string path)
    {
        var combined = path.StartsWith('/') ? path : baseDirectory.TrimEnd('/') + "/" + path;
        var parts = new List<string>();
        foreach (var part in combined.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
                continue;
            if (part == "..")
            {
                if (parts.Count > 0)
                    parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return "/" + string.Join('/', parts);
    }
}

/// <summary>The host file system as it is: every operation happens for real.</summary>
public sealed class HostView : FileSystemView
{
    public override long Resolve(int hostDirectoryFd, string path, string absolutePath, PathIntent intent, out HostPath target)
    {
        target = new HostPath(hostDirectoryFd, path);
        return 0;
    }
}
