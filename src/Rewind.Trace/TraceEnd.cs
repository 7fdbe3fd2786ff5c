namespace Rewind.Trace;

/// <summary>Written last by a recording that finished: totals, the hash of the final state, and the files whose data the program read.</summary>
public sealed record TraceEnd(long Instructions, long Events, DateTimeOffset EndTime, UInt128 StateHash, IReadOnlyList<FileRead> FilesRead)
{
    internal void Write(VarintWriter w)
    {
        w.Write((ulong)Instructions);
        w.Write((ulong)Events);
        w.WriteSigned(EndTime.ToUnixTimeMilliseconds());
        w.Write(StateHash);
        w.Write((ulong)FilesRead.Count);
        foreach (var file in FilesRead)
        {
            w.Write(file.Path);
            w.Write((ulong)file.Bytes);
        }
    }

    internal static TraceEnd Read(ref VarintReader r)
    {
        var (instructions, events, end, state) = ((long)r.ReadUnsigned(), (long)r.ReadUnsigned(), DateTimeOffset.FromUnixTimeMilliseconds(r.ReadSigned()), r.ReadHash());
        var files = new FileRead[r.ReadInt()];
        for (var i = 0; i < files.Length; i++)
            files[i] = new FileRead(r.ReadString() ?? "", (long)r.ReadUnsigned());
        return new TraceEnd(instructions, events, end, state, files);
    }
}

/// <summary>A file the program read with read() and how many bytes; the bytes themselves are in the trace.</summary>
public readonly record struct FileRead(string Path, long Bytes);
