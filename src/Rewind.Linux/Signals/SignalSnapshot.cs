using Rewind.Linux.Execution;

namespace Rewind.Linux.Signals;

/// <summary>
/// The signal state a keyframe keeps, since instructions alone do not rebuild it: installed
/// actions, the blocked mask, the alternate stack and the pending signals. Timers are not kept:
/// replay takes their expirations from the trace.
/// </summary>
public static class SignalSnapshot
{
    public static byte[] Capture(ProcessState process)
    {
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        for (var signal = 1; signal <= 64; signal++)
        {
            var action = process.SignalHandlers[signal];
            w.Write(action.Handler);
            w.Write(action.Flags);
            w.Write(action.Restorer);
            w.Write(action.Mask);
        }
        var state = process.Signals;
        w.Write(state.BlockedMask);
        w.Write(state.AlternateStack.Pointer);
        w.Write(state.AlternateStack.Flags);
        w.Write(state.AlternateStack.Size);
        WritePending(w, state.ProcessPending().ToList());
        // Then each thread's own (tgkill), by unique id.
        var threads = process.Threads.Where(t => t.PendingSignals.Bits != 0).ToList();
        w.Write(threads.Count);
        foreach (var thread in threads)
        {
            w.Write(thread.UniqueId);
            WritePending(w, thread.PendingSignals.All().ToList());
        }
        w.Flush();
        return stream.ToArray();
    }

    static void WritePending(BinaryWriter w, List<SignalInfo> pending)
    {
        w.Write(pending.Count);
        foreach (var info in pending)
        {
            w.Write(info.Signal);
            w.Write(info.Code);
            w.Write(info.Address);
            w.Write(info.SenderPid);
            w.Write(info.SenderUid);
            w.Write(info.Trap);
            w.Write(info.ErrorCode);
            w.Write(info.Status);
        }
    }

    static SignalInfo[] ReadPending(BinaryReader r)
    {
        var pending = new SignalInfo[r.ReadInt32()];
        for (var i = 0; i < pending.Length; i++)
            pending[i] = new SignalInfo(r.ReadInt32(), r.ReadInt32(), r.ReadUInt64(), r.ReadInt32(), r.ReadUInt32(), r.ReadInt32(), r.ReadUInt64(), r.ReadInt32());
        return pending;
    }

    /// <summary>
    /// Sets the process's signal state from <paramref name="bytes"/>, its threads' own pending signals included (the
    /// threads must exist); malformed bytes are an <see cref="InvalidDataException"/>.
    /// </summary>
    public static void Restore(ProcessState process, byte[] bytes)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            for (var signal = 1; signal <= 64; signal++)
                process.SignalHandlers[signal] = new SignalAction(r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64());
            var blocked = r.ReadUInt64();
            var stack = (r.ReadUInt64(), r.ReadInt32(), r.ReadUInt64());
            process.Signals.Set(blocked, stack, ReadPending(r));
            for (var count = r.ReadInt32(); count > 0; count--)
            {
                var uniqueId = r.ReadInt64();
                var thread = process.Threads.Find(t => t.UniqueId == uniqueId)
                    ?? throw new InvalidDataException($"the keyframe has signals pending for thread #{uniqueId}, which it does not list");
                thread.PendingSignals.Clear();
                foreach (var info in ReadPending(r))
                    thread.PendingSignals.Raise(info);
            }
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new InvalidDataException("the keyframe's signal state is malformed", e);
        }
    }
}
