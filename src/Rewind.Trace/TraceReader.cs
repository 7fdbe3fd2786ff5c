using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text.Json;

namespace Rewind.Trace;

/// <summary>
/// Opens a trace and checks it chunk by chunk. A trace that was cut short (the recorder was
/// killed) or damaged is readable up to its last intact chunk; <see cref="Truncation"/> says why
/// it ends early. Anything that is not a Rewind trace is a one-line <see cref="TraceFormatException"/>.
/// </summary>
public sealed class TraceReader : IDisposable
{
    readonly FileStream _file;
    readonly List<Chunk> _chunks = [];
    readonly Dictionary<UInt128, (int Chunk, int Offset, int Length)> _blobIndex = [];
    readonly List<(int Chunk, long Instruction)> _keyframes = [];
    readonly List<(int Chunk, long FirstEvent, long Count)> _eventChunks = [];
    // Decompressed blob chunks, most recently used last: seeks read pages from many chunks.
    readonly List<(int Chunk, byte[] Data)> _blobCache = [];
    readonly Dictionary<int, int> _blobChunkSizes = []; // uncompressed bytes of each blob chunk
    const int BlobCacheChunks = 32;

    readonly record struct Chunk(ChunkKind Kind, long Offset, int Length);

    TraceReader(FileStream file, TraceHeader header)
    {
        _file = file;
        Header = header;
    }

    public TraceHeader Header { get; }

    /// <summary>Null when the recording finished normally; otherwise why the trace ends where it does.</summary>
    public string? Truncation { get; private set; }

    /// <summary>The summary written when the recording finished; null when it was cut short.</summary>
    public TraceEnd? End { get; private set; }

    /// <summary>Instructions of the whole run, when the recording finished.</summary>
    public long? CompletedInstructions => End?.Instructions;

    public long FileSize => _file.Length;

    /// <summary>Bytes of stored blob content (file data, pages, large syscall outputs) before compression.</summary>
    public long BlobBytes { get; private set; }

    /// <summary>Compressed size of the blob chunks in the file.</summary>
    public long BlobChunkBytes { get; private set; }

    public int KeyframeCount => _keyframes.Count;

    public IReadOnlyList<long> KeyframeInstructions => _keyframes.Select(k => k.Instruction).ToList();

    public static TraceReader Open(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        }
        catch (FileNotFoundException)
        {
            throw new TraceFormatException($"{path}: no such file");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TraceFormatException($"{path}: {e.Message}");
        }
        try
        {
            var header = ReadHeader(file, path);
            var reader = new TraceReader(file, header);
            reader.Scan();
            return reader;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    static TraceHeader ReadHeader(FileStream file, string path)
    {
        Span<byte> prefix = stackalloc byte[16];
        if (file.ReadAtLeast(prefix, 16, throwOnEndOfStream: false) < 16 || !prefix[..8].SequenceEqual(TraceFormat.Magic))
            throw new TraceFormatException($"{path}: not a Rewind trace");
        var version = BinaryPrimitives.ReadInt32LittleEndian(prefix[8..]);
        if (version != TraceFormat.Version)
            throw new TraceFormatException($"{path}: trace format version {version}; this Rewind reads version {TraceFormat.Version}");
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix[12..]);
        if (length <= 0 || length > 16 << 20 || length > file.Length - 16)
            throw new TraceFormatException($"{path}: the trace header is truncated or corrupt");
        var json = new byte[length];
        file.ReadExactly(json);
        try
        {
            return TraceHeader.FromJson(json);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new TraceFormatException($"{path}: the trace header is corrupt");
        }
    }

    void Scan()
    {
        Span<byte> header = stackalloc byte[TraceFormat.ChunkHeaderSize];
        while (true)
        {
            var offset = _file.Position;
            var read = _file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (read == 0)
            {
                Truncation ??= CompletedInstructions is null ? "the recording did not finish: the trace ends without its end marker" : null;
                return;
            }
            if (read < header.Length || BinaryPrimitives.ReadUInt32LittleEndian(header) != TraceFormat.ChunkMagic)
            {
                Truncation = $"chunk {_chunks.Count} at byte {offset} is incomplete or damaged";
                return;
            }
            var kind = (ChunkKind)header[4];
            var length = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
            if (length < 0 || length > _file.Length - _file.Position || kind is < ChunkKind.Events or > ChunkKind.End)
            {
                Truncation = $"chunk {_chunks.Count} at byte {offset} is incomplete or damaged";
                return;
            }
            var payload = new byte[length];
            _file.ReadExactly(payload);
            if (Crc32.HashToUInt32(payload) != crc)
            {
                Truncation = $"chunk {_chunks.Count} at byte {offset} fails its checksum";
                return;
            }
            try
            {
                Index(kind, payload);
            }
            catch (InvalidDataException)
            {
                Truncation = $"chunk {_chunks.Count} at byte {offset} cannot be decoded";
                return;
            }
            _chunks.Add(new Chunk(kind, offset + TraceFormat.ChunkHeaderSize, length));
        }
    }

    void Index(ChunkKind kind, byte[] payload)
    {
        switch (kind)
        {
            case ChunkKind.Blobs:
                var reader = new VarintReader(payload);
                var directory = reader.ReadBytes();
                var entries = new VarintReader(directory);
                var position = 0;
                while (!entries.AtEnd)
                {
                    var hash = entries.ReadHash();
                    var length = entries.ReadInt();
                    _blobIndex[hash] = (_chunks.Count, position, length);
                    position += length;
                }
                _blobChunkSizes[_chunks.Count] = position;
                BlobBytes += position;
                BlobChunkBytes += payload.Length;
                break;
            case ChunkKind.Events:
                var events = new VarintReader(Decompress(payload));
                _eventChunks.Add((_chunks.Count, (long)events.ReadUnsigned(), (long)events.ReadUnsigned()));
                break;
            case ChunkKind.Keyframe:
                var keyframe = new VarintReader(Decompress(payload));
                _keyframes.Add((_chunks.Count, (long)keyframe.ReadUnsigned()));
                break;
            case ChunkKind.End:
                var end = new VarintReader(payload);
                End = TraceEnd.Read(ref end);
                break;
        }
    }

    /// <summary>
    /// The last instruction count the trace vouches for: its end, or for a trace that was cut
    /// short, the later of its last event and its last keyframe.
    /// </summary>
    public long LastRecordedInstruction()
    {
        if (End is { } end)
            return end.Instructions;
        var last = _keyframes.Count > 0 ? _keyframes[^1].Instruction : 0;
        if (_eventChunks.Count == 0)
            return last;
        var events = DecodeEvents(Decompress(ReadPayload(_eventChunks[^1].Chunk)));
        return events.Count == 0 ? last : Math.Max(last, events[^1].Instruction);
    }

    /// <summary>Events in execution order from the <paramref name="first"/>-th on, decoded one chunk at a time.</summary>
    public IEnumerable<TraceEvent> Events(long first = 0)
    {
        foreach (var (chunk, firstInChunk, count) in _eventChunks)
        {
            if (firstInChunk + count <= first)
                continue;
            var events = DecodeEvents(Decompress(ReadPayload(chunk)));
            for (var i = (int)Math.Max(0, first - firstInChunk); i < events.Count; i++)
                yield return events[i];
        }
    }

    static List<TraceEvent> DecodeEvents(byte[] data)
    {
        var reader = new VarintReader(data);
        reader.ReadUnsigned(); // index of the first event
        var count = reader.ReadInt();
        var events = new List<TraceEvent>(count);
        long previous = 0;
        for (var i = 0; i < count; i++)
        {
            var traceEvent = EventCodec.Read(ref reader, previous);
            previous = traceEvent.Instruction;
            events.Add(traceEvent);
        }
        return events;
    }

    /// <summary>
    /// The full memory contents at keyframe <paramref name="index"/>: for every page mapped then,
    /// the blob of its latest version (keyframes store only the pages that changed).
    /// </summary>
    /// <summary>
    /// The contents of process <paramref name="pid"/>'s pages at keyframe <paramref name="index"/>: the
    /// changed pages of every keyframe up to it that has the process, the latest for each address.
    /// </summary>
    public Dictionary<ulong, UInt128> PagesAt(int index, int pid)
    {
        var pages = new Dictionary<ulong, UInt128>();
        for (var i = 0; i <= index; i++)
        {
            if (ReadKeyframe(i).AllProcesses.FirstOrDefault(p => p.Process.Pid == pid) is not { } process)
                continue;
            foreach (var page in process.ChangedPages)
                pages[page.Address] = page.Blob;
        }
        return pages;
    }

    public Keyframe ReadKeyframe(int index)
    {
        var reader = new VarintReader(Decompress(ReadPayload(_keyframes[index].Chunk)));
        return Keyframe.Read(ref reader);
    }

    /// <summary>
    /// The stored bytes with this hash, without a copy (a view of the decompressed chunk, which
    /// stays cached for the blobs around it); false when the trace lacks them.
    /// </summary>
    public bool TryReadBlob(UInt128 hash, out ReadOnlyMemory<byte> content)
    {
        content = default;
        if (!_blobIndex.TryGetValue(hash, out var location))
            return false;
        var cached = _blobCache.FindIndex(c => c.Chunk == location.Chunk);
        byte[] data;
        if (cached >= 0)
        {
            data = _blobCache[cached].Data;
            _blobCache.RemoveAt(cached);
        }
        else
        {
            var payload = ReadPayload(location.Chunk);
            var reader = new VarintReader(payload);
            reader.ReadBytes();
            data = Decompress(payload.AsSpan(reader.Position), _blobChunkSizes[location.Chunk]);
            if (_blobCache.Count == BlobCacheChunks)
                _blobCache.RemoveAt(0);
        }
        _blobCache.Add((location.Chunk, data));
        content = data.AsMemory(location.Offset, location.Length);
        return true;
    }

    public ReadOnlyMemory<byte> ReadBlob(UInt128 hash) =>
        TryReadBlob(hash, out var content) ? content : throw new TraceFormatException($"the trace lacks stored content {hash:x32}");

    byte[] ReadPayload(int chunk)
    {
        var (_, offset, length) = _chunks[chunk];
        var payload = new byte[length];
        _file.Position = offset;
        _file.ReadExactly(payload);
        return payload;
    }

    /// <summary>Decompresses a chunk whose size is known (a blob chunk's directory gives it) in one step.</summary>
    static byte[] Decompress(ReadOnlySpan<byte> data, int size)
    {
        var output = new byte[size];
        if (!BrotliDecoder.TryDecompress(data, output, out var written) || written != size)
            throw new InvalidDataException($"a stored-content chunk decompresses to other than its {size} bytes");
        return output;
    }

    static byte[] Decompress(ReadOnlySpan<byte> data)
    {
        try
        {
            using var input = new MemoryStream(data.ToArray());
            using var brotli = new BrotliStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            brotli.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            throw;
        }
        catch (IOException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>The file is not a readable Rewind trace; the message is one line for the user.</summary>
public sealed class TraceFormatException(string message) : Exception(message);
