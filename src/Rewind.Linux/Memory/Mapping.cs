using Rewind.Engine;

namespace Rewind.Linux.Memory;

/// <summary>One guest virtual memory area, as /proc/PID/maps shows it, backed by host memory.</summary>
public sealed unsafe class Mapping
{
    public required ulong Start { get; set; }
    public required ulong End { get; set; }
    public required Protection Protection { get; set; }
    public required bool Shared { get; init; }

    /// <summary>Host address of <see cref="Start"/>; the engine and the runtime both read and write here.</summary>
    public required byte* Host { get; set; }

    /// <summary>File the mapping was made from, as the guest named it; null for anonymous memory.</summary>
    public string? Path { get; init; }

    /// <summary>Offset in the file of <see cref="Start"/>.</summary>
    public ulong FileOffset { get; set; }

    /// <summary>Label for anonymous areas that Linux names: [heap], [stack].</summary>
    public string? Label { get; init; }

    /// <summary>
    /// For shared memory, what it is a view of, the same in every process that maps it (its file, or the
    /// anonymous mapping fork passed on), and where <see cref="Start"/> lies in it: futex words there are
    /// one futex in every process. 0 for private memory.
    /// </summary>
    public ulong SharedObject { get; init; }

    public ulong SharedOffset { get; init; }

    /// <summary>
    /// Whether mprotect may make the mapping writable (Linux's VM_MAYWRITE): not for a shared mapping of a
    /// file opened without write access, since writes there would reach the file.
    /// </summary>
    public bool MayWrite { get; init; } = true;

    public ulong Length => End - Start;

    /// <summary>
    /// Whether the contents may differ from the last keyframe: true for new mappings and for
    /// mappings that were writable since; keyframes hash only these pages.
    /// </summary>
    public bool MayHaveChanged { get; set; } = true;

    /// <summary>A copy of this mapping restricted to [start, end), sharing the host memory.</summary>
    internal Mapping Slice(ulong start, ulong end) => new()
    {
        Start = start,
        End = end,
        Protection = Protection,
        Shared = Shared,
        Host = Host + (start - Start),
        Path = Path,
        FileOffset = Path is null ? 0 : FileOffset + (start - Start),
        Label = Label,
        MayHaveChanged = MayHaveChanged,
        SharedObject = SharedObject,
        SharedOffset = SharedOffset + (start - Start),
        MayWrite = MayWrite,
    };

    public override string ToString() =>
        $"{Start:x}-{End:x} {(Protection.HasFlag(Protection.Read) ? 'r' : '-')}{(Protection.HasFlag(Protection.Write) ? 'w' : '-')}{(Protection.HasFlag(Protection.Execute) ? 'x' : '-')}{(Shared ? 's' : 'p')} {FileOffset:x8} {Path ?? Label}";
}

/// <summary>A guest memory area: what /proc/self/maps shows in one line.</summary>
public readonly record struct MemoryArea(ulong Start, ulong End, Protection Protection, bool Shared, string? Path, ulong FileOffset, string? Label);
