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
        var removed = IsWhitedOut(absolutePath);
        var inUpper = Exists(upper);
        var inLower = !removed && !inUpper && Exists(absolutePath);
        target = new HostPath(AtFdCwd, inUpper ? upper : absolutePath);

        switch (intent)
        {
            case PathIntent.Lookup:
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

    static bool Exists(string hostPath) => File.Exists(hostPath) || Directory.Exists(hostPath) || new FileInfo(hostPath).LinkTarget is not null;

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
