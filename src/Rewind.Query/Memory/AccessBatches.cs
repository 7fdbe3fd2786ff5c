using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Rewind.Query;

/// <summary>
/// The results of one segment, passed from the thread that replays it to the reader in batches
/// through a bounded queue: a replay that runs ahead of the reader waits, so that memory use does
/// not grow with the number of results. The first batch holds one result, so that it is seen at once.
/// </summary>
internal sealed class AccessBatches : IDisposable
{
    const int MaxBatch = 4096;
    const int QueuedBatches = 16;

    readonly BlockingCollection<(MemoryAccess[] Items, int Count)> _queue = new(QueuedBatches);
    readonly CancellationToken _cancellation;
    MemoryAccess[] _batch = new MemoryAccess[1];
    int _count;
    ExceptionDispatchInfo? _failure;

    public AccessBatches(CancellationToken cancellation) => _cancellation = cancellation;

    /// <summary>Adds a result; false when the reader has gone (the query was cancelled). Never throws, as hooks call it.</summary>
    public bool Add(in MemoryAccess access)
    {
        _batch[_count++] = access;
        return _count < _batch.Length || Flush();
    }

    /// <summary>Passes the results so far to the reader, waiting while it is behind; false when it has gone.</summary>
    public bool Flush()
    {
        if (_count == 0)
            return true;
        var full = (_batch, _count);
        _batch = new MemoryAccess[Math.Min(MaxBatch, _batch.Length * 8)];
        _count = 0;
        try
        {
            _queue.Add(full, _cancellation);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false; // completed
        }
    }

    /// <summary>Ends the segment's results; <paramref name="failure"/> is rethrown to the reader.</summary>
    public void Complete(Exception? failure = null)
    {
        if (failure is null)
            Flush();
        else
            _failure = ExceptionDispatchInfo.Capture(failure);
        _queue.CompleteAdding();
    }

    /// <summary>The results in order, as they come; ends when the segment is done.</summary>
    public IEnumerable<MemoryAccess> Read()
    {
        foreach (var (items, count) in _queue.GetConsumingEnumerable(_cancellation))
        {
            for (var i = 0; i < count; i++)
                yield return items[i];
        }
        _failure?.Throw();
    }

    public void Dispose() => _queue.Dispose();
}
