using System.Globalization;
using System.Text;
using Rewind.Linux.Execution;
using Rewind.Linux.Memory;

namespace Rewind.Query.MemoryMap;

/// <summary>
/// The image part of a memorymap line for a pc, from the running process's own mappings at that
/// moment, so that every process of a trace (and each image an exec brings) is described as it was:
/// the file of the mapping that holds the pc, and as its base what dladdr reports as dli_fbase, the
/// highest mapping of that file at offset 0 at or below the pc's (the ELF header), else its lowest.
/// A pc in memory that no file backs gets (unknown).
/// </summary>
internal sealed class ImageLookup
{
    static readonly byte[] Unknown = Encoding.UTF8.GetBytes(" image_name=(unknown) image_path=(unknown) image_base=(unknown)\n");

    readonly GuestProcess _process;
    readonly Dictionary<Mapping, byte[]> _parts = [];
    Mapping? _last;
    byte[] _lastPart = Unknown;

    public ImageLookup(GuestProcess process)
    {
        _process = process;
        // Code mapped, unmapped or another process: the mappings seen so far may be gone.
        process.CodeChanged += (_, _) =>
        {
            _parts.Clear();
            _last = null;
        };
    }

    public byte[] PartFor(ulong pc)
    {
        if (_last is { } last && pc >= last.Start && pc < last.End)
            return _lastPart;
        if (_process.Memory.Find(pc) is not { } mapping)
            return Unknown;
        if (!_parts.TryGetValue(mapping, out var part))
            _parts[mapping] = part = Describe(mapping);
        (_last, _lastPart) = (mapping, part);
        return part;
    }

    byte[] Describe(Mapping mapping)
    {
        if (mapping.Path is not { } path)
            return Unknown;
        ulong lowest = ulong.MaxValue, header = ulong.MaxValue;
        foreach (var other in _process.Memory.Mappings)
        {
            if (other.Path != path)
                continue;
            lowest = Math.Min(lowest, other.Start);
            if (other.FileOffset == 0 && other.Start <= mapping.Start)
                header = header == ulong.MaxValue ? other.Start : Math.Max(header, other.Start);
        }
        var imageBase = header != ulong.MaxValue ? header : lowest;
        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $" image_name={Path.GetFileName(path)} image_path={path} image_base=0x{imageBase:x}\n"));
    }
}
