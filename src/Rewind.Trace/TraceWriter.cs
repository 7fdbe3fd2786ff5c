using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.IO.Hashing;

namespace Rewind.Trace;

/// <summary>
/// Writes a trace incrementally. Events and blobs are batched into chunks that a background
/// thread compresses, checksums, appends and flushes, so a recorder killed at any moment leaves
/// every complete chunk readable. Blobs are written before the events that refer to them.
/// </summary>
public sealed class TraceWriter : IDisposable
{
    const int EventChunkBytes = 256 << 10;
    const int BlobChunkBytes = 1 << 20;
    const long FlushMilliseconds = 500;

    readonly Stream _file;
    readonly BlockingCollection<(ChunkKind Kind, Func<ReadOnlyMemory<byte>> Payload)> _queue = new(boundedCapacity: 16);
    readonly Thread _worker;
    readonly HashSet<UInt128> _blobs = [];
    readonly VarintWriter _events = new();
    readonly VarintWriter _blobDirectory = new();
    readonly VarintWriter _record = new(); // a keyframe or the end, reused
    // Blob buffers the writer thread has compressed come back for reuse: recording a large input
    // then copies into memory that is already mapped instead of faulting in fresh pages.
    readonly ConcurrentQueue<byte[]> _freeBlobBuffers = new();
    byte[] _blobData = NewBlobBuffer();
    int _blobLength;
    byte[] _payload = []; // the writer thread's chunk being built, reused from chunk to chunk
    Exception? _failure;
    long _eventCount;
    long _eventsInChunk;
    long _firstEventInChunk;
    long _lastInstruction;
    bool _completed;
    long _lastFlush = Environment.TickCount64;

    public TraceWriter(Stream file, TraceHeader header)
    {
        _file = file;
        var json = header.ToJson();
        Span<byte> prefix = stackalloc byte[16];
        TraceFormat.Magic.CopyTo(prefix);
        BinaryPrimitives.WriteInt32LittleEndian(prefix[8..], TraceFormat.Version);
        BinaryPrimitives.WriteInt32LittleEndian(prefix[12..], json.Length);
        _file.Write(prefix);
        _file.Write(json);
        _file.Flush();
        _worker = new Thread(WriteChunks) { IsBackground = true, Name = "rewind trace writer" };
        _worker.Start();
    }

    /// <summary>Events appended so far: the index the next event will have.</summary>
    public long EventCount => _eventCount;

    /// <summary>Bytes written to the file so far (complete chunks).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Bytes of blob content stored (before compression), which traces of large inputs are mostly made of.</summary>
    public long BlobBytes { get; private set; }

    public void Append(TraceEvent traceEvent)
    {
        EventCodec.Write(_events, traceEvent, _lastInstruction);
        _lastInstruction = traceEvent.Instruction;
        _eventCount++;
        _eventsInChunk++;
        // Full chunks, and at least every half second, so that a recorder killed outright loses little.
        if (_events.Length >= EventChunkBytes || Environment.TickCount64 - _lastFlush >= FlushMilliseconds)
            FlushEvents();
    }

    /// <summary>Stores bytes once by content and returns their hash.</summary>
    public UInt128 StoreBlob(ReadOnlySpan<byte> content)
    {
        var hash = XxHash128.HashToUInt128(content);
        if (_blobs.Add(hash))
        {
            _blobDirectory.Write(hash);
            _blobDirectory.Write((ulong)content.Length);
            if (_blobLength + content.Length > _blobData.Length)
            {
                var larger = GC.AllocateUninitializedArray<byte>(Math.Max(2 * _blobData.Length, _blobLength + content.Length));
                _blobData.AsSpan(0, _blobLength).CopyTo(larger);
                _blobData = larger;
            }
            content.CopyTo(_blobData.AsSpan(_blobLength));
            _blobLength += content.Length;
            BlobBytes += content.Length;
            if (_blobLength >= BlobChunkBytes)
                FlushEvents();
        }
        return hash;
    }

    public bool HasBlob(UInt128 hash) => _blobs.Contains(hash);

    public void WriteKeyframe(Keyframe keyframe)
    {
        FlushEvents();
        keyframe.Write(_record);
        var record = _record.Written.ToArray();
        _record.Clear();
        Enqueue(ChunkKind.Keyframe, () => CompressedPayload([], record));
    }

    /// <summary>Writes everything pending and the End chunk that marks a finished recording.</summary>
    public void Complete(TraceEnd end)
    {
        FlushEvents();
        end.Write(_record);
        var record = _record.Written.ToArray();
        _record.Clear();
        Enqueue(ChunkKind.End, () => record);
        _completed = true;
        Finish();
    }

    /// <summary>Writes what is pending without marking the trace finished (the recording was cut short).</summary>
    public void Flush() => FlushEvents();

    void FlushEvents()
    {
        _lastFlush = Environment.TickCount64;
        FlushBlobs();
        if (_eventsInChunk == 0)
            return;
        // The chunk starts with the index of its first event and the count.
        var events = new byte[2 * VarintWriter.MaxLength + _events.Length];
        var length = VarintWriter.Encode(events, (ulong)_firstEventInChunk);
        length += VarintWriter.Encode(events.AsSpan(length), (ulong)_eventsInChunk);
        _events.Written.CopyTo(events.AsSpan(length));
        length += _events.Length;
        Enqueue(ChunkKind.Events, () => CompressedPayload([], events.AsSpan(0, length)));
        _events.Clear();
        _firstEventInChunk = _eventCount;
        _eventsInChunk = 0;
        // The next chunk's instruction deltas start from zero, so that chunks decode on their own.
        _lastInstruction = 0;
    }

    void FlushBlobs()
    {
        if (_blobLength == 0)
            return;
        // The directory goes first, prefixed by its length, then the compressed contents.
        var prefix = new byte[VarintWriter.MaxLength + _blobDirectory.Length];
        var prefixLength = VarintWriter.Encode(prefix, (ulong)_blobDirectory.Length);
        _blobDirectory.Written.CopyTo(prefix.AsSpan(prefixLength));
        prefixLength += _blobDirectory.Length;
        // The filled buffer goes to the writer thread as it is, and comes back once compressed.
        var data = _blobData;
        var length = _blobLength;
        _blobData = _freeBlobBuffers.TryDequeue(out var free) ? free : NewBlobBuffer();
        _blobLength = 0;
        Enqueue(ChunkKind.Blobs, () =>
        {
            var payload = CompressedPayload(prefix.AsSpan(0, prefixLength), data.AsSpan(0, length));
            _freeBlobBuffers.Enqueue(data);
            return payload;
        });
        _blobDirectory.Clear();
    }

    /// <summary>Room for a whole chunk of blobs (and the one that overflows it) without growing.</summary>
    static byte[] NewBlobBuffer() => GC.AllocateUninitializedArray<byte>(2 * BlobChunkBytes);

    /// <summary>
    /// On the writer thread: <paramref name="prefix"/> then <paramref name="data"/> compressed, in a
    /// buffer that the next chunk reuses. Brotli at quality 1: on incompressible data (random input,
    /// compressed files) it runs several times faster than zlib's fastest level, and it compresses code better.
    /// </summary>
    ReadOnlyMemory<byte> CompressedPayload(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data)
    {
        var capacity = prefix.Length + BrotliEncoder.GetMaxCompressedLength(data.Length);
        if (_payload.Length < capacity)
            _payload = GC.AllocateUninitializedArray<byte>(capacity);
        prefix.CopyTo(_payload);
        if (!BrotliEncoder.TryCompress(data, _payload.AsSpan(prefix.Length), out var written, quality: 1, window: 22))
            throw new InvalidOperationException("Brotli could not compress a chunk");
        return _payload.AsMemory(0, prefix.Length + written);
    }

    /// <summary>Queues a chunk; <paramref name="payload"/> (compression included) runs on the writer thread.</summary>
    void Enqueue(ChunkKind kind, Func<ReadOnlyMemory<byte>> payload)
    {
        if (_failure is { } failure)
            throw new IOException($"cannot write the trace: {failure.Message}", failure);
        _queue.Add((kind, payload));
    }

    void WriteChunks()
    {
        Span<byte> header = stackalloc byte[TraceFormat.ChunkHeaderSize];
        foreach (var (kind, produce) in _queue.GetConsumingEnumerable())
        {
            if (_failure is not null)
                continue;
            try
            {
                var payload = produce().Span;
                BinaryPrimitives.WriteUInt32LittleEndian(header, TraceFormat.ChunkMagic);
                header[4] = (byte)kind;
                header[5] = header[6] = header[7] = 0;
                BinaryPrimitives.WriteInt32LittleEndian(header[8..], payload.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(header[12..], Crc32.HashToUInt32(payload));
                _file.Write(header);
                _file.Write(payload);
                _file.Flush();
                BytesWritten = _file.Position;
            }
            catch (IOException e)
            {
                _failure = e;
            }
        }
    }

    void Finish()
    {
        if (_queue.IsAddingCompleted)
            return;
        _queue.CompleteAdding();
        _worker.Join();
        if (_failure is { } failure)
            throw new IOException($"cannot write the trace: {failure.Message}", failure);
    }

    public void Dispose()
    {
        if (!_completed)
        {
            FlushEvents();
            Finish();
        }
        _file.Dispose();
        _queue.Dispose();
    }
}
