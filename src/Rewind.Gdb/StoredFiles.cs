using Rewind.Trace;

namespace Rewind.Gdb;

/// <summary>
/// The executables and libraries the program mapped, whole, as the trace stores them: what gdb reads
/// through vFile instead of the machine's own files, so that a trace debugs where the program is not.
/// </summary>
internal sealed class StoredFiles
{
    readonly TraceReader _trace;
    readonly Dictionary<string, ImageEffect> _byPath = new(StringComparer.Ordinal);
    readonly Dictionary<int, ReadOnlyMemory<byte>> _open = [];
    int _nextHandle = 1;

    public StoredFiles(TraceReader trace)
    {
        _trace = trace;
        foreach (var traceEvent in trace.Events())
        {
            var effects = traceEvent switch
            {
                StartEvent start => start.Effects,
                SyscallEvent syscall => syscall.Effects,
                _ => [],
            };
            foreach (var effect in effects)
            {
                if (effect is ImageEffect image)
                    _byPath.TryAdd(image.Path, image);
            }
        }
    }

    public IReadOnlyCollection<string> Paths => _byPath.Keys;

    /// <summary>
    /// The stored file at <paramref name="path"/>: by its path, else the one stored file of that name
    /// (a library named through a symbolic link, as ld.so's own path often is).
    /// </summary>
    public ReadOnlyMemory<byte>? Find(string path)
    {
        if (!_byPath.TryGetValue(path, out var image))
        {
            var name = Path.GetFileName(path);
            var named = _byPath.Where(p => Path.GetFileName(p.Key) == name).ToArray();
            if (named.Length != 1)
                return null;
            image = named[0].Value;
        }
        var content = new byte[image.Length];
        for (var i = 0; i < image.Pages.Count; i++)
        {
            if (!_trace.TryReadBlob(image.Pages[i], out var page))
                return null;
            var offset = i * TraceFormat.PageSize;
            page.Span[..Math.Min(page.Length, content.Length - offset)].CopyTo(content.AsSpan(offset));
        }
        return content;
    }

    /// <summary>Opens a stored file for reading; a handle, or -1 when the trace has no such file.</summary>
    public int Open(string path)
    {
        if (Find(path) is not { } content)
            return -1;
        _open[_nextHandle] = content;
        return _nextHandle++;
    }

    public ReadOnlyMemory<byte>? Content(int handle) => _open.TryGetValue(handle, out var content) ? content : null;

    public bool Close(int handle) => _open.Remove(handle);
}
