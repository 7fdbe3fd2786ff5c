using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;
using Rewind.Trace;
using Rewind.Trace.Positions;

namespace Rewind.Index;

/// <summary>
/// What a trace's queries need to know without replaying it: for every segment (keyframe to
/// keyframe) the memory (64-byte lines) it read, wrote and executed and when, and the instruction counts of the sequencing
/// events that positions are made of. Built once per trace by <see cref="IndexBuilder"/> and kept
/// beside it (TRACE.rwdx); rebuilt when missing, stale (the trace changed) or unreadable. An index
/// read from its file keeps only the segments' bounds in memory and reads a segment's pages when
/// asked for it, so that its memory use does not grow with the trace.
/// </summary>
public sealed class TraceIndex
{
    /// <summary>Bumped on every change to the file layout; other versions are rebuilt.</summary>
    public const int Version = 4;

    static ReadOnlySpan<byte> Magic => "REWINDIX"u8;

    Timeline? _timeline;

    public TraceIndex(TraceIdentity identity, long instructions, IReadOnlyList<long> sequencing, IReadOnlyList<SegmentInfo> segments)
        : this(identity, instructions, sequencing, segments, [.. segments.Select(s => new SegmentInfo(s.Keyframe, s.Start, s.End))])
    {
    }

    internal TraceIndex(TraceIdentity identity, long instructions, IReadOnlyList<long> sequencing, IReadOnlyList<SegmentInfo> segments, IReadOnlyList<SegmentInfo> bounds)
    {
        Identity = identity;
        Instructions = instructions;
        SequencingInstructions = sequencing;
        Segments = segments;
        SegmentBounds = bounds;
    }

    /// <summary>The trace file this index describes.</summary>
    public TraceIdentity Identity { get; }

    /// <summary>Instructions in the trace.</summary>
    public long Instructions { get; }

    /// <summary>Instruction counts of the sequencing events (syscalls, signals, exit), in order.</summary>
    public IReadOnlyList<long> SequencingInstructions { get; }

    /// <summary>The segments with the memory they touched; read from the index file at each access when the index was loaded from one.</summary>
    public IReadOnlyList<SegmentInfo> Segments { get; }

    /// <summary>The segments' keyframes and instructions alone (their page sets empty), kept in memory.</summary>
    public IReadOnlyList<SegmentInfo> SegmentBounds { get; }

    /// <summary>Where the index was read from or saved to; null when it could not be saved (it then lives in memory only).</summary>
    public string? FilePath { get; internal set; }

    /// <summary>Whether this index was built now rather than read from a file.</summary>
    public bool Built { get; internal set; }

    /// <summary>The trace's positions, from the sequencing events (no pass over the events needed).</summary>
    public Timeline Timeline => _timeline ??= new Timeline(SequencingInstructions, Instructions);

    /// <summary>The index file for <paramref name="tracePath"/>: t.rwd gets t.rwdx, anything else NAME.rwdx.</summary>
    public static string PathFor(string tracePath) =>
        tracePath.EndsWith(".rwd", StringComparison.Ordinal) ? tracePath + "x" : tracePath + ".rwdx";

    /// <summary>
    /// The index of the trace at <paramref name="tracePath"/> (open as <paramref name="trace"/>): read from
    /// beside the trace when it is there and current, else built (reporting to <paramref name="progress"/>)
    /// and saved beside the trace, or in the user's cache folder when the trace's folder is read-only.
    /// With <paramref name="rebuild"/> it is built even when a current one exists.
    /// </summary>
    public static TraceIndex Open(string tracePath, TraceReader trace, IProgress<IndexProgress>? progress = null, bool rebuild = false,
        CancellationToken cancellation = default)
    {
        var identity = TraceIdentity.Of(tracePath);
        foreach (var candidate in rebuild ? [] : Candidates(tracePath, identity))
        {
            if (TryLoad(candidate, identity) is { } loaded)
            {
                loaded.FilePath = candidate;
                return loaded;
            }
        }
        var index = IndexBuilder.Build(tracePath, trace, identity, progress, cancellation: cancellation);
        index.Built = true;
        foreach (var candidate in Candidates(tracePath, identity))
        {
            if (index.TrySave(candidate))
            {
                // Read back, so that the segments' pages leave memory.
                index = TryLoad(candidate, identity) ?? index;
                index.FilePath = candidate;
                index.Built = true;
                break;
            }
        }
        return index;
    }

    static IEnumerable<string> Candidates(string tracePath, TraceIdentity identity)
    {
        yield return PathFor(Path.GetFullPath(tracePath));
        if (UserCacheFolder() is not { } cache)
            yield break;
        var name = XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(tracePath)));
        yield return Path.Combine(cache, $"{name:x16}-{identity.HeaderHash:x8}.rwdx");
    }

    /// <summary>Where what is built for a trace goes when the trace's folder is read-only: $XDG_CACHE_HOME/rewind (~/.cache/rewind); null without a home folder.</summary>
    public static string? UserCacheFolder()
    {
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cache))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
                return null;
            cache = Path.Combine(home, ".cache");
        }
        return Path.Combine(cache, "rewind");
    }

    /// <summary>
    /// Reads an index file's header and segment table, after checking the whole file against its hash;
    /// null when it is missing, of another version, for another trace or damaged. The file stays open
    /// for reading segments (replacing it does not disturb this index).
    /// </summary>
    public static TraceIndex? TryLoad(string path, TraceIdentity identity)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        try
        {
            if (Load(file, identity) is { } index)
                return index;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or IndexOutOfRangeException or ArgumentException or OverflowException or FormatException)
        {
        }
        file.Dispose();
        return null;
    }

    const int Prefix = 12, Trailer = 8 + 16;

    static TraceIndex? Load(SafeFileHandle file, TraceIdentity identity)
    {
        var length = RandomAccess.GetLength(file);
        if (length < Prefix + Trailer)
            return null;
        Span<byte> prefix = stackalloc byte[Prefix];
        RandomAccess.Read(file, prefix, 0);
        if (!prefix[..8].SequenceEqual(Magic) || BinaryPrimitives.ReadInt32LittleEndian(prefix[8..]) != Version)
            return null;
        Span<byte> trailer = stackalloc byte[Trailer];
        RandomAccess.Read(file, trailer, length - Trailer);
        var headerStart = BinaryPrimitives.ReadInt64LittleEndian(trailer);
        if (headerStart < Prefix || headerStart > length - Trailer || HashOf(file, length - 16) != BinaryPrimitives.ReadUInt128LittleEndian(trailer[8..]))
            return null;
        var header = ReadAt(file, headerStart, (int)(length - Trailer - headerStart));
        var r = new VarintReader(header);
        var stored = new TraceIdentity((long)r.ReadUnsigned(), (long)r.ReadUnsigned(), r.ReadHash());
        if (stored != identity)
            return null;
        var instructions = (long)r.ReadUnsigned();
        var sequencing = new long[r.ReadInt()];
        long previous = 0;
        for (var i = 0; i < sequencing.Length; i++)
            sequencing[i] = previous += (long)r.ReadUnsigned();
        var bounds = new SegmentInfo[r.ReadInt()];
        var places = new (long Offset, int Length)[bounds.Length];
        for (var i = 0; i < bounds.Length; i++)
        {
            var (keyframe, start) = (r.ReadInt(), (long)r.ReadUnsigned());
            bounds[i] = new SegmentInfo(keyframe, start, start + (long)r.ReadUnsigned());
            places[i] = ((long)r.ReadUnsigned(), r.ReadInt());
            if (places[i].Offset < Prefix || places[i].Offset + places[i].Length > headerStart)
                return null;
        }
        if (!r.AtEnd)
            return null;
        return new TraceIndex(identity, instructions, sequencing, new StoredSegments(file, bounds, places), bounds);
    }

    static UInt128 HashOf(SafeFileHandle file, long length)
    {
        var hash = new XxHash128();
        var buffer = new byte[1 << 16];
        for (long offset = 0; offset < length;)
        {
            var read = RandomAccess.Read(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - offset)), offset);
            if (read <= 0)
                throw new InvalidDataException("the index file ended early");
            hash.Append(buffer.AsSpan(0, read));
            offset += read;
        }
        return hash.GetCurrentHashAsUInt128();
    }

    static byte[] ReadAt(SafeFileHandle file, long offset, int length)
    {
        var bytes = new byte[length];
        for (var done = 0; done < length;)
        {
            var read = RandomAccess.Read(file, bytes.AsSpan(done), offset + done);
            if (read <= 0)
                throw new InvalidDataException("the index file ended early");
            done += read;
        }
        return bytes;
    }

    /// <summary>A segment's pages and accessors, as the file holds them.</summary>
    internal static byte[] Encode(SegmentInfo segment)
    {
        var w = new VarintWriter();
        WritePages(w, segment.Read, segment.Start);
        WritePages(w, segment.Write, segment.Start);
        WritePages(w, segment.Execute, segment.Start);
        WriteAccessors(w, segment.Accessors);
        return w.Written.ToArray();
    }

    static SegmentInfo Decode(SegmentInfo bounds, ReadOnlySpan<byte> bytes)
    {
        var r = new VarintReader(bytes);
        var segment = bounds with
        {
            Read = ReadPages(ref r, bounds.Start),
            Write = ReadPages(ref r, bounds.Start),
            Execute = ReadPages(ref r, bounds.Start),
            Accessors = ReadAccessors(ref r),
        };
        return r.AtEnd ? segment : throw new InvalidDataException($"segment {bounds.Keyframe} of the index is damaged");
    }

    /// <summary>The segments of an index file, each read and decoded when asked for.</summary>
    sealed class StoredSegments(SafeFileHandle file, SegmentInfo[] bounds, (long Offset, int Length)[] places) : IReadOnlyList<SegmentInfo>
    {
        public int Count => bounds.Length;

        public SegmentInfo this[int index] => Decode(bounds[index], ReadAt(file, places[index].Offset, places[index].Length));

        public IEnumerator<SegmentInfo> GetEnumerator()
        {
            for (var i = 0; i < bounds.Length; i++)
                yield return this[i];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Segments held encoded as in the file, a few times smaller than decoded, while an index is built; each decoded when asked for.</summary>
    internal sealed class EncodedSegments(SegmentInfo[] bounds, byte[][] encoded) : IReadOnlyList<SegmentInfo>
    {
        public int Count => bounds.Length;

        public SegmentInfo this[int index] => Decode(bounds[index], encoded[index]);

        public IEnumerator<SegmentInfo> GetEnumerator()
        {
            for (var i = 0; i < bounds.Length; i++)
                yield return this[i];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    static PageSet ReadPages(ref VarintReader r, long segmentStart)
    {
        var (lines, lineChunks) = ReadKeys(ref r);
        var (pages, pageChunks) = ReadKeys(ref r);
        return new PageSet(lines, lineChunks, pages, pageChunks, ReadRanges(ref r, segmentStart));
    }

    static (ulong[] Keys, ulong[] Chunks) ReadKeys(ref VarintReader r)
    {
        var count = r.ReadInt();
        var keys = new ulong[count];
        var chunks = new ulong[count];
        ulong key = 0;
        for (var i = 0; i < count; i++)
        {
            key += r.ReadUnsigned();
            keys[i] = key;
            chunks[i] = r.ReadUnsigned();
        }
        return (keys, chunks);
    }

    static AccessorSet ReadAccessors(ref VarintReader r)
    {
        var pages = new ulong[r.ReadInt()];
        var starts = new int[pages.Length];
        var blocks = new List<(ulong, uint)>();
        ulong page = 0;
        for (var i = 0; i < pages.Length; i++)
        {
            pages[i] = page += r.ReadUnsigned();
            var count = (long)r.ReadUnsigned() - 1;
            starts[i] = count < 0 ? -1 : blocks.Count;
            ulong block = 0;
            for (var j = 0; j < count; j++)
            {
                block += r.ReadUnsigned();
                blocks.Add((block, (uint)r.ReadUnsigned()));
            }
        }
        return new AccessorSet(pages, starts, [.. blocks]);
    }

    /// <summary>Keys as deltas from the previous one; each key's ranges as the gap from the previous range's end (or the segment's start) and a length.</summary>
    static RangeMap ReadRanges(ref VarintReader r, long segmentStart)
    {
        var keys = new ulong[r.ReadInt()];
        var starts = new int[keys.Length + 1];
        var ranges = new List<InstructionRange>();
        ulong key = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = key += r.ReadUnsigned();
            var count = r.ReadInt();
            var end = segmentStart;
            for (var j = 0; j < count; j++)
            {
                var first = end + (long)r.ReadUnsigned();
                var last = first + (long)r.ReadUnsigned();
                ranges.Add(new InstructionRange(first, last));
                end = last + 1;
            }
            starts[i + 1] = ranges.Count;
        }
        return new RangeMap(keys, starts, [.. ranges]);
    }

    /// <summary>
    /// Writes the index to <paramref name="path"/> (through a temporary file, so that readers never see
    /// half of it): the segments, then a header with the segment table, the header's offset and a hash
    /// of all that.
    /// </summary>
    public bool TrySave(string path)
    {
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            {
                var hash = new XxHash128();
                void Write(ReadOnlySpan<byte> bytes)
                {
                    file.Write(bytes);
                    hash.Append(bytes);
                }

                Span<byte> prefix = stackalloc byte[Prefix];
                Magic.CopyTo(prefix);
                BinaryPrimitives.WriteInt32LittleEndian(prefix[8..], Version);
                Write(prefix);
                var places = new (long Offset, int Length)[Segments.Count];
                for (var i = 0; i < Segments.Count; i++)
                {
                    var encoded = Encode(Segments[i]);
                    places[i] = (file.Position, encoded.Length);
                    Write(encoded);
                }
                var headerStart = file.Position;
                var w = new VarintWriter();
                w.Write((ulong)Identity.Size);
                w.Write((ulong)Identity.ModifiedTicks);
                w.Write(Identity.HeaderHash);
                w.Write((ulong)Instructions);
                w.Write((ulong)SequencingInstructions.Count);
                long previous = 0;
                foreach (var instruction in SequencingInstructions)
                {
                    w.Write((ulong)(instruction - previous));
                    previous = instruction;
                }
                w.Write((ulong)SegmentBounds.Count);
                for (var i = 0; i < SegmentBounds.Count; i++)
                {
                    var segment = SegmentBounds[i];
                    w.Write((ulong)segment.Keyframe);
                    w.Write((ulong)segment.Start);
                    w.Write((ulong)segment.Length);
                    w.Write((ulong)places[i].Offset);
                    w.Write((ulong)places[i].Length);
                }
                Write(w.Written);
                Span<byte> position = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(position, headerStart);
                Write(position);
                Span<byte> digest = stackalloc byte[16];
                BinaryPrimitives.WriteUInt128LittleEndian(digest, hash.GetCurrentHashAsUInt128());
                file.Write(digest);
            }
            File.Move(temporary, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
            }
            return false;
        }
    }

    static void WritePages(VarintWriter w, PageSet set, long segmentStart)
    {
        WriteKeys(w, set.Lines, set.LineChunks);
        WriteKeys(w, set.Pages, set.PageChunks);
        WriteRanges(w, set.Stretches, segmentStart);
    }

    static void WriteKeys(VarintWriter w, ReadOnlySpan<ulong> keys, ReadOnlySpan<ulong> chunks)
    {
        w.Write((ulong)keys.Length);
        ulong previous = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            w.Write(keys[i] - previous);
            previous = keys[i];
            w.Write(chunks[i]);
        }
    }

    static void WriteAccessors(VarintWriter w, AccessorSet accessors)
    {
        w.Write((ulong)accessors.PageCount);
        ulong previous = 0;
        foreach (var (page, blocks) in accessors.Entries())
        {
            w.Write(page - previous);
            previous = page;
            // The number of blocks + 1; 0: too many to list.
            w.Write(blocks is null ? 0UL : (ulong)blocks.Count + 1);
            ulong block = 0;
            foreach (var (start, size) in blocks ?? [])
            {
                w.Write(start - block);
                block = start;
                w.Write(size);
            }
        }
    }

    static void WriteRanges(VarintWriter w, RangeMap map, long segmentStart)
    {
        w.Write((ulong)map.Count);
        ulong previous = 0;
        for (var i = 0; i < map.Count; i++)
        {
            w.Write(map.Keys[i] - previous);
            previous = map.Keys[i];
            var ranges = map.RangesOf(i);
            w.Write((ulong)ranges.Length);
            var end = segmentStart;
            foreach (var range in ranges)
            {
                w.Write((ulong)(range.First - end));
                w.Write((ulong)(range.Last - range.First));
                end = range.Last + 1;
            }
        }
    }

    /// <summary>
    /// The segments that touched any byte of [first, last] in one of the ways in <paramref name="uses"/>,
    /// each with the stretches of instructions that did it (sorted; overlapping and adjacent ones merged).
    /// </summary>
    public IEnumerable<(SegmentInfo Segment, IReadOnlyList<InstructionRange> Ranges)> SegmentsTouching(ulong first, ulong last, PageUse uses)
    {
        foreach (var segment in Segments)
        {
            var ranges = new List<InstructionRange>();
            segment.AddWindows(first, last, uses, ranges);
            if (ranges.Count == 0)
                continue;
            InstructionRange.SortAndMerge(ranges);
            yield return (segment, ranges);
        }
    }
}

/// <summary>Which trace file an index belongs to: its size, modification time and a hash of its header.</summary>
public readonly record struct TraceIdentity(long Size, long ModifiedTicks, UInt128 HeaderHash)
{
    public static TraceIdentity Of(string tracePath)
    {
        var info = new FileInfo(tracePath);
        using var file = new FileStream(tracePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var head = new byte[(int)Math.Min(file.Length, 1 << 16)];
        file.ReadExactly(head);
        var length = head.Length >= 16 ? BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(12)) : 0;
        var headerBytes = head.AsSpan(0, (int)Math.Clamp(16L + length, 0, head.Length));
        return new TraceIdentity(info.Length, info.LastWriteTimeUtc.Ticks, XxHash128.HashToUInt128(headerBytes));
    }
}

/// <summary>How far an index build has come.</summary>
public readonly record struct IndexProgress(int SegmentsDone, int Segments, long InstructionsDone, long Instructions);
