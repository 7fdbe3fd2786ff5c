namespace Rewind.Trace;

/// <summary>
/// A snapshot for seeking and for divergence checks: registers, the mapping list and the pages
/// whose contents changed since the previous keyframe (each kept once in the blob store), and
/// the process state that instructions alone do not rebuild: the program break, the task name and
/// the signal state (handlers, mask, alternate stack, pending signals, kept as the runtime encodes it).
/// <paramref name="Registers"/> are the running thread's (<paramref name="CurrentThread"/>, a unique
/// id); <paramref name="Threads"/> lists every thread, with the saved registers and signal mask of those not running.
/// The top level is the running process; <paramref name="OtherProcesses"/> are the others that have not ended,
/// each a keyframe of its own (at the same position, with no further processes), whose registers are those
/// of the thread that runs when it runs again and whose changed pages count from its own previous keyframe.
/// </summary>
public sealed record Keyframe(
    long Instruction,
    long EventIndex,
    byte[] Registers,
    ulong BrkStart,
    ulong Brk,
    string Name,
    IReadOnlyList<MappingRecord> Mappings,
    IReadOnlyList<PageRecord> ChangedPages,
    byte[] Signals,
    long CurrentThread,
    IReadOnlyList<ThreadRecord> Threads,
    ProcessIdentity Process,
    IReadOnlyList<Keyframe> OtherProcesses)
{
    internal void Write(VarintWriter w)
    {
        w.Write((ulong)Instruction);
        w.Write((ulong)EventIndex);
        WriteProcess(w);
        w.Write((ulong)OtherProcesses.Count);
        foreach (var other in OtherProcesses)
            other.WriteProcess(w);
    }

    void WriteProcess(VarintWriter w)
    {
        w.Write((ulong)Process.Pid);
        w.Write((ulong)Process.ParentPid);
        w.Write((ulong)Process.ProcessGroup);
        w.Write((ulong)Process.Session);
        w.Write(Process.ExecutablePath);
        w.Write(Registers);
        w.Write(BrkStart);
        w.Write(Brk);
        w.Write(Name);
        w.Write((ulong)Mappings.Count);
        foreach (var m in Mappings)
        {
            w.Write(m.Start);
            w.Write(m.End);
            w.Write((ulong)m.Protection);
            w.Write(m.Shared ? 1UL : 0UL);
            w.Write(m.Path);
            w.Write(m.FileOffset);
            w.Write(m.Label);
        }
        w.Write((ulong)ChangedPages.Count);
        foreach (var page in ChangedPages)
        {
            w.Write(page.Address);
            w.Write(page.Blob);
        }
        w.Write(Signals);
        w.Write((ulong)CurrentThread);
        w.Write((ulong)Threads.Count);
        foreach (var thread in Threads)
        {
            w.Write((ulong)thread.Tid);
            w.Write((ulong)thread.UniqueId);
            w.Write(thread.Registers);
            w.Write(thread.SignalMask);
        }
    }

    internal static Keyframe Read(ref VarintReader r)
    {
        var (instruction, eventIndex) = ((long)r.ReadUnsigned(), (long)r.ReadUnsigned());
        var running = ReadProcess(ref r, instruction, eventIndex);
        var others = new Keyframe[r.ReadInt()];
        for (var i = 0; i < others.Length; i++)
            others[i] = ReadProcess(ref r, instruction, eventIndex);
        return running with { OtherProcesses = others };
    }

    static Keyframe ReadProcess(ref VarintReader r, long instruction, long eventIndex)
    {
        var identity = new ProcessIdentity(r.ReadInt(), r.ReadInt(), r.ReadInt(), r.ReadInt(), r.ReadString() ?? "");
        var registers = r.ReadBytes();
        var (brkStart, brk, name) = (r.ReadUnsigned(), r.ReadUnsigned(), r.ReadString() ?? "");
        var mappings = new MappingRecord[r.ReadInt()];
        for (var i = 0; i < mappings.Length; i++)
            mappings[i] = new MappingRecord(r.ReadUnsigned(), r.ReadUnsigned(), r.ReadInt(), r.ReadUnsigned() != 0, r.ReadString(), r.ReadUnsigned(), r.ReadString());
        var pages = new PageRecord[r.ReadInt()];
        for (var i = 0; i < pages.Length; i++)
            pages[i] = new PageRecord(r.ReadUnsigned(), r.ReadHash());
        var signals = r.ReadBytes();
        var current = (long)r.ReadUnsigned();
        var threads = new ThreadRecord[r.ReadInt()];
        for (var i = 0; i < threads.Length; i++)
            threads[i] = new ThreadRecord(r.ReadInt(), (long)r.ReadUnsigned(), r.ReadBytes(), r.ReadUnsigned());
        return new Keyframe(instruction, eventIndex, registers, brkStart, brk, name, mappings, pages, signals, current, threads, identity, []);
    }

    /// <summary>This keyframe's process and the others, the running one first.</summary>
    public IEnumerable<Keyframe> AllProcesses => OtherProcesses.Prepend(this);
}

/// <summary>Who a process in a keyframe is: pid, parent, process group, session, and the program it runs.</summary>
public readonly record struct ProcessIdentity(int Pid, int ParentPid, int ProcessGroup, int Session, string ExecutablePath);

public readonly record struct MappingRecord(ulong Start, ulong End, int Protection, bool Shared, string? Path, ulong FileOffset, string? Label);

public readonly record struct PageRecord(ulong Address, UInt128 Blob);

/// <summary>
/// A thread at a keyframe; <paramref name="Registers"/> is empty for the running thread (its registers
/// are the keyframe's), and its <paramref name="SignalMask"/> is the one in the keyframe's signal state.
/// </summary>
public readonly record struct ThreadRecord(int Tid, long UniqueId, byte[] Registers, ulong SignalMask);
