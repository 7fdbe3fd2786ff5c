using System.Buffers.Binary;
using System.IO.Hashing;
using Rewind.Trace;
using Rewind.Trace.Positions;

namespace Rewind.Index;

/// <summary>
/// What a trace's queries need to know without replaying it: for every segment (keyframe to
/// keyframe) the memory (64-byte lines) it read, wrote and executed and when, and the instruction counts of the sequencing
/// events that positions are made of. Built once per trace by <see cref="IndexBuilder"/> and kept
/// beside it (TRACE.rwdx); rebuilt when missing, stale (the trace changed) or unreadable.
/// </summary>
public sealed class TraceIndex
{
    /// <summary>Bumped on every change to the file layout; other versions are rebuilt.</summary>
    public const int Version = 4;

    static ReadOnlySpan<byte> Magic => "REWINDIX"u8;

    Timeline? _timeline;

    public TraceIndex(TraceIdentity identity, long instructions, IReadOnlyList<long> sequencing, IReadOnlyList<SegmentInfo> segments)
    {
        Identity = identity;
        Instructions = instructions;
        SequencingInstructions = sequencing;
        Segments = segments;
    }

    /// <summary>The trace file this index describes.</summary>
    public TraceIdentity Identity { get; }

    /// <summary>Instructions in the trace.</summary>
    public long Instructions { get; }

    /// <summary>Instruction counts of the sequencing events (syscalls, signals, exit), in order.</summary>
    public IReadOnlyList<long> SequencingInstructions { get; }

    public IReadOnlyList<SegmentInfo> Segments { get; }

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
                index.FilePath = candidate;
                break;
            }
        }
        return index;
    }

    static IEnumerable<string> Candidates(string tracePath, TraceIdentity identity)
    {
        yield return PathFor(Path.GetFullPath(tracePath));
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cache))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
                yield break;
            cache = Path.Combine(home, ".cache");
        }
        var name = XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(tracePath)));
        yield return Path.Combine(cache, "rewind", $"{name:x16}-{identity.HeaderHash:x8}.rwdx");
    }

    /// <summary>Reads an index file; null when it is missing, of another version, for another trace or damaged.</summary>
    public static TraceIndex? TryLoad(string path, TraceIdentity identity)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        try
        {
            return Decode(bytes, identity);
        }
        catch (Exception e) when (e is InvalidDataException or IndexOutOfRangeException or ArgumentException or OverflowException or FormatException)
        {
            return null;
        }
    }

    static TraceIndex? Decode(byte[] bytes, TraceIdentity identity)
    {
        const int prefix = 12, trailer = 16;
        if (bytes.Length < prefix + trailer || !bytes.AsSpan(0, 8).SequenceEqual(Magic)
            || BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)) != Version)
            return null;
        var body = bytes.AsSpan(0, bytes.Length - trailer);
        if (XxHash128.HashToUInt128(body) != BinaryPrimitives.ReadUInt128LittleEndian(bytes.AsSpan(bytes.Length - trailer)))
            return null;
        var r = new VarintReader(body[prefix..]);
        var stored = new TraceIdentity((long)r.ReadUnsigned(), (long)r.ReadUnsigned(), r.ReadHash());
        if (stored != identity)
            return null;
        var instructions = (long)r.ReadUnsigned();
        var sequencing = new long[r.ReadInt()];
        long previous = 0;
        for (var i = 0; i < sequencing.Length; i++)
            sequencing[i] = previous += (long)r.ReadUnsigned();
        var segments = new SegmentInfo[r.ReadInt()];
        for (var i = 0; i < segments.Length; i++)
        {
            var (keyframe, start) = (r.ReadInt(), (long)r.ReadUnsigned());
            var end = start + (long)r.ReadUnsigned();
            segments[i] = new SegmentInfo(keyframe, start, end)
            {
                Read = ReadPages(ref r, start),
                Write = ReadPages(ref r, start),
                Execute = ReadPages(ref r, start),
                Accessors = ReadAccessors(ref r),
            };
        }
        if (!r.AtEnd)
            return null;
        return new TraceIndex(identity, instructions, sequencing, segments);
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

    /// <summary>Writes the index to <paramref name="path"/> (through a temporary file, so that readers never see half of it).</summary>
    public bool TrySave(string path)
    {
        var w = new VarintWriter();
        w.WriteRaw(Magic);
        Span<byte> version = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(version, Version);
        w.WriteRaw(version);
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
        w.Write((ulong)Segments.Count);
        foreach (var segment in Segments)
        {
            w.Write((ulong)segment.Keyframe);
            w.Write((ulong)segment.Start);
            w.Write((ulong)segment.Length);
            WritePages(w, segment.Read, segment.Start);
            WritePages(w, segment.Write, segment.Start);
            WritePages(w, segment.Execute, segment.Start);
            WriteAccessors(w, segment.Accessors);
        }
        Span<byte> hash = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128LittleEndian(hash, XxHash128.HashToUInt128(w.Written));
        w.WriteRaw(hash);

        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(temporary, w.Written.ToArray());
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
