using Xunit;

namespace Rewind.Trace.Tests;

/// <summary>
/// Stored contents read back as written, whatever the order: in file order (as a replay reads them,
/// with the next chunk prefetched) and scattered over more chunks than the reader caches (as a seek
/// does, so that evicted chunks' memory is reused).
/// </summary>
public sealed class BlobStoreTests : IDisposable
{
    const int BlobBytes = 300_000; // a few blobs per chunk, some chunks end past the 1 MB mark
    const int BlobCount = 200;     // about 60 chunks, more than the reader caches

    readonly string _path = Path.Combine(Path.GetTempPath(), $"rewind-blob-store-{Guid.NewGuid():N}.rwd");
    readonly List<UInt128> _hashes = [];

    public BlobStoreTests()
    {
        var header = new TraceHeader
        {
            Program = "/bin/prog",
            Arguments = ["/bin/prog"],
            Environment = [],
            WorkingDirectory = "/",
            EngineVersion = "test",
            CpuModel = "test",
            StartTime = DateTimeOffset.UnixEpoch,
            ProcessId = 1,
            KeyframeInterval = 1000,
        };
        using var writer = new TraceWriter(File.Create(_path), header);
        var content = new byte[BlobBytes];
        for (var i = 0; i < BlobCount; i++)
        {
            Fill(content, i);
            _hashes.Add(writer.StoreBlob(content));
        }
        writer.Complete(new TraceEnd(0, writer.EventCount, DateTimeOffset.UnixEpoch, 0, []));
    }

    public void Dispose() => File.Delete(_path);

    /// <summary>Contents that differ from blob to blob and compress a little, as file data does.</summary>
    static void Fill(Span<byte> content, int blob)
    {
        var random = new Random(blob);
        random.NextBytes(content[..(content.Length / 2)]);
        content[(content.Length / 2)..].Fill((byte)blob);
    }

    [Fact]
    public void Blobs_read_in_file_order_come_back_as_written()
    {
        using var reader = TraceReader.Open(_path);
        var expected = new byte[BlobBytes];

        for (var i = 0; i < BlobCount; i++)
        {
            Fill(expected, i);
            Assert.True(reader.ReadBlob(_hashes[i]).Span.SequenceEqual(expected), $"blob {i}");
        }
        Assert.Null(reader.Truncation);
    }

    [Fact]
    public void Blobs_read_in_scattered_order_come_back_as_written()
    {
        using var reader = TraceReader.Open(_path);
        var expected = new byte[BlobBytes];

        // 97 is prime to the count: every blob once, with jumps across the whole file.
        for (var k = 0; k < BlobCount; k++)
        {
            var i = k * 97 % BlobCount;
            Fill(expected, i);
            Assert.True(reader.ReadBlob(_hashes[i]).Span.SequenceEqual(expected), $"blob {i}");
        }
    }
}
