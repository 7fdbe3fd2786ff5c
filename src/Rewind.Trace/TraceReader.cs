using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Rewind.Trace;

/// <summary>
/// Opens a trace and checks it chunk by chunk (the stored contents when they are first read). A
/// trace that was cut short (the recorder was killed) or damaged is readable up to its last intact
/// chunk; <see cref="Truncation"/> says why it ends early. Anything that is not a Rewind trace is a one-line <see cref="TraceFormatException"/>.
/// </summary>
public sealed class TraceReader : IDisposable
{
    // Read with positional reads only, so that the prefetch thread and this one share it.
    readonly SafeFileHandle _file;
    readonly long _fileLength;
    readonly List<Chunk> _chunks = [];
    readonly Dictionary<UInt128, (int Chunk, int Offset, int Length)> _blobIndex = [];
    readonly List<(int Chunk, long Instruction)> _keyframes = [];
    readonly List<(int Chunk, long FirstEvent, long Count)> _eventChunks = [];
    // Decompressed blob chunks, most recently used last: seeks read pages from many chunks.
    readonly List<(int Chunk, byte[] Data)> _blobCache = [];
    readonly Dictionary<int, int> _blobChunkSizes = []; // uncompressed bytes of each blob chunk
    readonly List<int> _blobChunks = []; // in file order, which is the order a replay reads them in
    const int BlobCacheChunks = 32;
    byte[] _payload = []; // compressed chunk read last, reused: a fresh array per chunk costs page faults
    byte[]? _spareBlobBuffer; // the last one evicted from the cache, for the next chunk to decompress into
    // The blob chunk after the one read last, read and decompressed on another thread while the
    // program runs: a replay reads stored input in file order, and would otherwise wait for each chunk.
    (int Chunk, Task<byte[]> Data)? _prefetch;
    byte[] _prefetchPayload = [];
    int _lastBlobChunk = -1;

    readonly record struct Chunk(ChunkKind Kind, long Offset, int Length, uint Checksum);

    TraceReader(SafeFileHandle file, TraceHeader header)
    {
        _file = file;
        _fileLength = RandomAccess.GetLength(file);
        Header = header;
    }

    public TraceHeader Header { get; }

    /// <summary>Null when the recording finished normally; otherwise why the trace ends where it does.</summary>
    public string? Truncation { get; private set; }

    /// <summary>The summary written when the recording finished; null when it was cut short.</summary>
    public TraceEnd? End { get; private set; }

    /// <summary>Instructions of the whole run, when the recording finished.</summary>
    public long? CompletedInstructions => End?.Instructions;

    public long FileSize => _fileLength;

    /// <summary>Bytes of stored blob content (file data, pages, large syscall outputs) before compression.</summary>
    public long BlobBytes { get; private set; }

    /// <summary>Compressed size of the blob chunks in the file.</summary>
    public long BlobChunkBytes { get; private set; }

    public int KeyframeCount => _keyframes.Count;

    public IReadOnlyList<long> KeyframeInstructions => _keyframes.Select(k => k.Instruction).ToList();

    /// <summary>
    /// Opens the trace at <paramref name="path"/> and checks every chunk's checksum, except those of the stored
    /// contents (most of a trace's bytes), which are checked when first read unless <paramref name="checkStoredContents"/>:
    /// a replay then starts without reading the whole file first.
    /// </summary>
    public static TraceReader Open(string path, bool checkStoredContents = false)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
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
            var header = ReadHeader(file, path, out var firstChunk);
            var reader = new TraceReader(file, header);
            reader.Scan(firstChunk, checkStoredContents);
            return reader;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    static TraceHeader ReadHeader(SafeFileHandle file, string path, out long end)
    {
        Span<byte> prefix = stackalloc byte[16];
        if (ReadAt(file, 0, prefix) < 16 || !prefix[..8].SequenceEqual(TraceFormat.Magic))
            throw new TraceFormatException($"{path}: not a Rewind trace");
        var version = BinaryPrimitives.ReadInt32LittleEndian(prefix[8..]);
        if (version != TraceFormat.Version)
            throw new TraceFormatException($"{path}: trace format version {version}; this Rewind reads version {TraceFormat.Version}");
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix[12..]);
        if (length <= 0 || length > 16 << 20 || length > RandomAccess.GetLength(file) - 16)
            throw new TraceFormatException($"{path}: the trace header is truncated or corrupt");
        var json = new byte[length];
        ReadAt(file, 16, json);
        end = 16 + length;
        try
        {
            return TraceHeader.FromJson(json);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new TraceFormatException($"{path}: the trace header is corrupt");
        }
    }

    void Scan(long offset, bool checkStoredContents)
    {
        Span<byte> header = stackalloc byte[TraceFormat.ChunkHeaderSize];
        while (true)
        {
            var read = ReadAt(_file, offset, header);
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
            var payloadOffset = offset + TraceFormat.ChunkHeaderSize;
            if (length < 0 || length > _fileLength - payloadOffset || kind is < ChunkKind.Events or > ChunkKind.End)
            {
                Truncation = $"chunk {_chunks.Count} at byte {offset} is incomplete or damaged";
                return;
            }
            try
            {
                // A blob chunk's contents are checked when read (DecompressBlobChunk).
                var payload = kind == ChunkKind.Blobs && !checkStoredContents
                    ? BlobDirectory(payloadOffset, length)
                    : ReadPayload(ref _payload, payloadOffset, length);
                if (payload.Length == length && Crc32.HashToUInt32(payload) != crc)
                {
                    Truncation = $"chunk {_chunks.Count} at byte {offset} fails its checksum";
                    return;
                }
                Index(kind, payload, length);
            }
            catch (InvalidDataException)
            {
                Truncation = $"chunk {_chunks.Count} at byte {offset} cannot be decoded";
                return;
            }
            _chunks.Add(new Chunk(kind, payloadOffset, length, crc));
            offset = payloadOffset + length;
        }
    }

    /// <summary>
    /// The start of a blob chunk's payload, up to the end of its directory (its length, then the entries),
    /// which is all that opening needs of it.
    /// </summary>
    ReadOnlySpan<byte> BlobDirectory(long offset, int length)
    {
        var prefix = new VarintReader(ReadPayload(ref _payload, offset, Math.Min(length, VarintWriter.MaxLength)));
        var directoryLength = prefix.ReadUnsigned();
        var end = (ulong)prefix.Position + directoryLength;
        if (end > (ulong)length)
            throw new InvalidDataException("the blob directory runs past its chunk");
        return ReadPayload(ref _payload, offset, (int)end);
    }

    /// <summary>Indexes a chunk from its payload (of a blob chunk, at least its directory) of <paramref name="length"/> bytes in all.</summary>
    void Index(ChunkKind kind, ReadOnlySpan<byte> payload, int length)
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
                    var blobLength = entries.ReadInt();
                    _blobIndex[hash] = (_chunks.Count, position, blobLength);
                    position += blobLength;
                }
                _blobChunkSizes[_chunks.Count] = position;
                _blobChunks.Add(_chunks.Count);
                BlobBytes += position;
                BlobChunkBytes += length;
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
    /// The stored bytes with this hash, without a copy: a view of the decompressed chunk, which stays
    /// cached for the blobs around it. The view is valid until the next read of a blob (its memory is
    /// reused once the chunk leaves the cache). False when the trace lacks them.
    /// </summary>
    public bool TryReadBlob(UInt128 hash, out ReadOnlyMemory<byte> content)
    {
        content = default;
        if (!_blobIndex.TryGetValue(hash, out var location))
            return false;
        content = BlobChunk(location.Chunk).AsMemory(location.Offset, location.Length);
        return true;
    }

    public ReadOnlyMemory<byte> ReadBlob(UInt128 hash) =>
        TryReadBlob(hash, out var content) ? content : throw new TraceFormatException($"the trace lacks stored content {hash:x32}");

    byte[] BlobChunk(int chunk)
    {
        var cached = CacheIndex(chunk);
        if (cached >= 0)
        {
            var hit = _blobCache[cached].Data;
            _blobCache.RemoveAt(cached);
            _blobCache.Add((chunk, hit));
            return hit;
        }
        byte[]? data = null;
        if (_prefetch is var (prefetched, task))
        {
            _prefetch = null;
            if (prefetched == chunk)
                data = task.GetAwaiter().GetResult();
            else if (Task.WaitAny(task) == 0 && task.IsCompletedSuccessfully) // a failure shows when that chunk is read
                Cache(prefetched, task.Result);
        }
        data ??= DecompressBlobChunk(chunk, ref _payload, TakeSpareBlobBuffer());
        Cache(chunk, data);
        // Only a replay that reads chunk after chunk gains from a prefetch; seeks read pages from everywhere.
        var next = NextBlobChunk(chunk);
        if (NextBlobChunk(_lastBlobChunk) == chunk && next >= 0 && CacheIndex(next) < 0)
        {
            var output = TakeSpareBlobBuffer();
            _prefetch = (next, Task.Run(() => DecompressBlobChunk(next, ref _prefetchPayload, output)));
        }
        _lastBlobChunk = chunk;
        return data;
    }

    int CacheIndex(int chunk)
    {
        for (var i = _blobCache.Count - 1; i >= 0; i--)
        {
            if (_blobCache[i].Chunk == chunk)
                return i;
        }
        return -1;
    }

    void Cache(int chunk, byte[] data)
    {
        if (_blobCache.Count == BlobCacheChunks)
        {
            _spareBlobBuffer = _blobCache[0].Data;
            _blobCache.RemoveAt(0);
        }
        _blobCache.Add((chunk, data));
    }

    byte[]? TakeSpareBlobBuffer()
    {
        var spare = _spareBlobBuffer;
        _spareBlobBuffer = null;
        return spare;
    }

    /// <summary>The blob chunk after <paramref name="chunk"/> in the file (the first for -1); -1 after the last.</summary>
    int NextBlobChunk(int chunk)
    {
        var index = _blobChunks.BinarySearch(chunk);
        index = index >= 0 ? index + 1 : ~index;
        return index < _blobChunks.Count ? _blobChunks[index] : -1;
    }

    /// <summary>
    /// Reads a blob chunk into <paramref name="payload"/> and decompresses it in one step (the directory
    /// gives its size), into <paramref name="output"/> when that is large enough. Safe on any thread.
    /// </summary>
    byte[] DecompressBlobChunk(int chunk, ref byte[] payload, byte[]? output)
    {
        var (_, offset, length, checksum) = _chunks[chunk];
        var whole = ReadPayload(ref payload, offset, length);
        if (Crc32.HashToUInt32(whole) != checksum)
            throw new TraceFormatException($"the trace is damaged: chunk {chunk} at byte {offset - TraceFormat.ChunkHeaderSize} fails its checksum");
        var reader = new VarintReader(whole);
        reader.Take(reader.ReadInt()); // the directory, indexed when the trace was opened
        var compressed = payload.AsSpan(reader.Position, length - reader.Position);
        var size = _blobChunkSizes[chunk];
        if (output is null || output.Length < size)
            output = GC.AllocateUninitializedArray<byte>(size);
        if (!BrotliDecoder.TryDecompress(compressed, output.AsSpan(0, size), out var written) || written != size)
            throw new InvalidDataException($"a stored-content chunk decompresses to other than its {size} bytes");
        return output;
    }

    ReadOnlySpan<byte> ReadPayload(int chunk)
    {
        var (_, offset, length, _) = _chunks[chunk];
        return ReadPayload(ref _payload, offset, length);
    }

    /// <summary><paramref name="length"/> bytes at <paramref name="offset"/>, read into <paramref name="buffer"/> (grown as needed).</summary>
    ReadOnlySpan<byte> ReadPayload(ref byte[] buffer, long offset, int length)
    {
        if (buffer.Length < length)
            buffer = GC.AllocateUninitializedArray<byte>(Math.Max(length, 2 * buffer.Length));
        var payload = buffer.AsSpan(0, length);
        if (ReadAt(_file, offset, payload) < length)
            throw new InvalidDataException("the trace file is shorter than its chunk index");
        return payload;
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the file ends; returns the bytes read.</summary>
    static int ReadAt(SafeFileHandle file, long offset, Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = RandomAccess.Read(file, buffer[total..], offset + total);
            if (read == 0)
                break;
            total += read;
        }
        return total;
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

    public void Dispose()
    {
        // The prefetch thread may still be reading the file.
        if (_prefetch is var (_, task))
            Task.WaitAny(task);
        _file.Dispose();
    }
}

/// <summary>The file is not a readable Rewind trace; the message is one line for the user.</summary>
public sealed class TraceFormatException(string message) : Exception(message);
