namespace Rewind.Linux.Files;

/// <summary>
/// A read-only view of the host with a private write overlay (copy-up on first write, deletions
/// remembered as whiteouts). The host is never changed; network and devices other than the
/// harmless ones are refused.
/// </summary>
public sealed class SandboxView : FileSystemView, IDisposable
{
    const int AtFdCwd = -100;
    static readonly HashSet<string> HarmlessDevices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/stdin", "/dev/stdout", "/dev/stderr"];

    readonly string _upper;
    readonly HashSet<string> _whiteouts = new(StringComparer.Ordinal);
    int _merges;

    public SandboxView(string? overlayDirectory = null)
    {
        _upper = overlayDirectory ?? Directory.CreateTempSubdirectory("rewind-sandbox-").FullName;
        Directory.CreateDirectory(_upper);
    }

    /// <summary>Host folder holding the files the guest created or changed.</summary>
    public string OverlayDirectory => _upper;

    public override bool AllowsNetwork => false;

    public override bool AllowsDevice(string absolutePath) =>
        !absolutePath.StartsWith("/dev/", StringComparison.Ordinal) || HarmlessDevices.Contains(absolutePath)
        || absolutePath.StartsWith("/dev/fd/", StringComparison.Ordinal) || absolutePath.StartsWith("/dev/pts/", StringComparison.Ordinal);

    public override long Resolve(int hostDirectoryFd, string path, string absolutePath, PathIntent intent, out HostPath target)
    {
        var upper = _upper + absolutePath;
        if (IsSpecialFile(absolutePath))
        {
            // Devices, pipes and sockets have no content to copy: the allowed ones are used in place.
            target = new HostPath(AtFdCwd, absolutePath);
            return intent == PathIntent.Remove ? -Errno.EACCES : 0;
        }
        var removed = IsWhitedOut(absolutePath);
        var inUpper = Exists(upper);
        var inLower = !removed && !inUpper && Exists(absolutePath);
        target = new HostPath(AtFdCwd, inUpper ? upper : absolutePath);

        switch (intent)
        {
            case PathIntent.List when inUpper && (Exists(absolutePath) && !removed || HasWhiteoutsBelow(absolutePath)):
                target = target with { Path = MergedDirectory(absolutePath, upper) };
                return 0;
            case PathIntent.Lookup:
            case PathIntent.List:
                if (removed && !inUpper)
                    target = target with { Path = _upper + "/.rewind-whiteout" + absolutePath }; // does not exist: ENOENT
                return 0;
            case PathIntent.Modify:
            case PathIntent.Create:
                if (!inUpper)
                {
                    EnsureParent(absolutePath);
                    if (inLower)
                        CopyUp(absolutePath, upper);
                    _whiteouts.Remove(absolutePath);
                }
                target = target with { Path = upper };
                return 0;
            case PathIntent.Remove:
                if (!inUpper && !inLower)
                    return -Errno.ENOENT;
                if (!IsWhitedOut(absolutePath) && Exists(absolutePath))
                    _whiteouts.Add(absolutePath);
                target = inUpper ? target with { Path = upper } : target with { Handled = true };
                return 0;
            default:
                throw new ArgumentOutOfRangeException(nameof(intent));
        }
    }

    /// <summary>Devices, pipes and sockets (by lstat's file type).</summary>
    static bool IsSpecialFile(string hostPath) =>
        Host.HostSyscall.FileType(hostPath) is Host.HostSyscall.CharacterDevice or Host.HostSyscall.BlockDevice or Host.HostSyscall.Fifo or Host.HostSyscall.SocketFile;

    bool HasWhiteoutsBelow(string directory) => _whiteouts.Any(w => w.StartsWith(directory.TrimEnd('/') + "/", StringComparison.Ordinal));

    /// <summary>
    /// A scratch directory listing what the guest sees in <paramref name="absolutePath"/>: the host's
    /// entries less the deleted ones, plus the overlay's. Entries are empty stand-ins of the right
    /// type; stat on them goes through <see cref="Resolve"/> and reaches the real file.
    /// </summary>
    string MergedDirectory(string absolutePath, string upper)
    {
        var merged = Path.Combine(_upper, ".rewind-merged", (++_merges).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(merged);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Directory.Exists(absolutePath))
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(absolutePath))
            {
                if (!IsWhitedOut(entry))
                    names[Path.GetFileName(entry)] = entry;
            }
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(upper))
        {
            if (absolutePath != "/" || Path.GetFileName(entry) != ".rewind-merged")
                names[Path.GetFileName(entry)] = entry;
        }
        foreach (var (name, source) in names)
        {
            var standIn = Path.Combine(merged, name);
            switch (Host.HostSyscall.FileType(source))
            {
                case Host.HostSyscall.Directory:
                    Directory.CreateDirectory(standIn);
                    break;
                case Host.HostSyscall.SymbolicLink:
                    File.CreateSymbolicLink(standIn, new FileInfo(source).LinkTarget ?? name);
                    break;
                default:
                    File.Create(standIn).Dispose();
                    break;
            }
        }
        return merged;
    }

    bool IsWhitedOut(string absolutePath)
    {
        if (_whiteouts.Count == 0)
            return false;
        for (var path = absolutePath; path.Length > 1; path = Path.GetDirectoryName(path) ?? "/")
        {
            if (_whiteouts.Contains(path))
                return true;
        }
        return false;
    }

    static bool Exists(string hostPath) => Host.HostSyscall.FileType(hostPath) >= 0;

    void EnsureParent(string absolutePath)
    {
        var parent = Path.GetDirectoryName(absolutePath) ?? "/";
        var upperParent = _upper + parent;
        if (!Directory.Exists(upperParent) && Directory.Exists(parent))
            Directory.CreateDirectory(upperParent);
    }

    static void CopyUp(string lower, string upper)
    {
        var info = new FileInfo(lower);
        if (info.LinkTarget is { } link)
            File.CreateSymbolicLink(upper, link);
        else if (Directory.Exists(lower))
            Directory.CreateDirectory(upper);
        else
        {
            File.Copy(lower, upper);
            File.SetUnixFileMode(upper, File.GetUnixFileMode(lower));
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_upper, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the overlay is in a temporary folder.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
