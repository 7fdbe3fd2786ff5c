namespace Rewind.Trace;

/// <summary>
/// The trace file: a header, then checksummed chunks. One version number covers the whole
/// format and is bumped on every change; a reader refuses other versions with a clear error.
/// </summary>
public static class TraceFormat
{
    /// <summary>First eight bytes of every trace file.</summary>
    public static ReadOnlySpan<byte> Magic => "REWINDTR"u8;

    public const int Version = 5;

    /// <summary>Marks the start of each chunk, so that a torn write is recognised.</summary>
    public const uint ChunkMagic = 0x4b4e4843; // "CHNK"

    /// <summary>Chunk header: magic, kind, three reserved bytes, payload length, CRC-32 of the payload.</summary>
    public const int ChunkHeaderSize = 16;

    public const int PageSize = 4096;
}

public enum ChunkKind : byte
{
    /// <summary>A run of events, Brotli-compressed; starts with the index of its first event and the count.</summary>
    Events = 1,
    /// <summary>Content-addressed byte strings: file contents, pages, large syscall outputs.</summary>
    Blobs = 2,
    /// <summary>A snapshot of registers, the mapping list and the pages changed since the previous one.</summary>
    Keyframe = 3,
    /// <summary>The last chunk of a trace whose recording finished.</summary>
    End = 4,
}
