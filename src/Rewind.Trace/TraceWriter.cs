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
    readonly BlockingCollection<(ChunkKind Kind, Func<byte[]> Payload)> _queue = new(boundedCapacity: 16);
    readonly Thread _worker;
    readonly HashSet<UInt128> _blobs = [];
    readonly VarintWriter _events = new();
    readonly VarintWriter _blobDirectory = new();
    MemoryStream _blobData = NewBlobBuffer();
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
            _blobData.Write(content);
            BlobBytes += content.Length;
            if (_blobData.Length >= BlobChunkBytes)
                FlushEvents();
        }
        return hash;
    }

    public bool HasBlob(UInt128 hash) => _blobs.Contains(hash);

    public void WriteKeyframe(Keyframe keyframe)
    {
        FlushEvents();
        var w = new VarintWriter();
        keyframe.Write(w);
        var record = w.Written.ToArray();
        Enqueue(ChunkKind.Keyframe, () => Compress(record));
    }

    /// <summary>Writes everything pending and the End chunk that marks a finished recording.</summary>
    public void Complete(TraceEnd end)
    {
        FlushEvents();
        var w = new VarintWriter();
        end.Write(w);
        var record = w.Written.ToArray();
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
        var w = new VarintWriter();
        w.Write((ulong)_firstEventInChunk);
        w.Write((ulong)_eventsInChunk);
        w.WriteRaw(_events.Written);
        var events = w.Written.ToArray();
        Enqueue(ChunkKind.Events, () => Compress(events));
        _events.Clear();
        _firstEventInChunk = _eventCount;
        _eventsInChunk = 0;
        // The next chunk's instruction deltas start from zero, so that chunks decode on their own.
        _lastInstruction = 0;
    }

    void FlushBlobs()
    {
        if (_blobData.Length == 0)
            return;
        var directory = _blobDirectory.Written.ToArray();
        // The filled buffer goes to the writer thread as it is; new blobs go to a fresh one.
        var data = _blobData;
        _blobData = NewBlobBuffer();
        Enqueue(ChunkKind.Blobs, () =>
        {
            var w = new VarintWriter();
            w.Write(directory);
            w.WriteRaw(Compress(data.GetBuffer().AsSpan(0, (int)data.Length)));
            return w.Written.ToArray();
        });
        _blobDirectory.Clear();
    }

    /// <summary>Room for a whole chunk of blobs (and the one that overflows it) without growing.</summary>
    static MemoryStream NewBlobBuffer() => new(2 * BlobChunkBytes);

    /// <summary>
    /// Brotli at quality 1: on incompressible data (random input, compressed files) it runs
    /// several times faster than zlib's fastest level, and it compresses code better.
    /// </summary>
    internal static byte[] Compress(ReadOnlySpan<byte> data)
    {
        var output = new byte[BrotliEncoder.GetMaxCompressedLength(data.Length)];
        if (!BrotliEncoder.TryCompress(data, output, out var written, quality: 1, window: 22))
            throw new InvalidOperationException("Brotli could not compress a chunk");
        return output.AsSpan(0, written).ToArray();
    }

    /// <summary>Queues a chunk; <paramref name="payload"/> (compression included) runs on the writer thread.</summary>
    void Enqueue(ChunkKind kind, Func<byte[]> payload)
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
                var payload = produce();
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
        _blobData.Dispose();
    }
}
