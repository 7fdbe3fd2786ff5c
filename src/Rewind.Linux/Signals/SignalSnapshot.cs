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
        var pending = state.PendingSignals().ToList();
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
        w.Flush();
        return stream.ToArray();
    }

    /// <summary>Sets the process's signal state from <paramref name="bytes"/>; malformed bytes are an <see cref="InvalidDataException"/>.</summary>
    public static void Restore(ProcessState process, byte[] bytes)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            for (var signal = 1; signal <= 64; signal++)
                process.SignalHandlers[signal] = new SignalAction(r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64());
            var blocked = r.ReadUInt64();
            var stack = (r.ReadUInt64(), r.ReadInt32(), r.ReadUInt64());
            var pending = new SignalInfo[r.ReadInt32()];
            for (var i = 0; i < pending.Length; i++)
                pending[i] = new SignalInfo(r.ReadInt32(), r.ReadInt32(), r.ReadUInt64(), r.ReadInt32(), r.ReadUInt32(), r.ReadInt32(), r.ReadUInt64(), r.ReadInt32());
            process.Signals.Set(blocked, stack, pending);
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new InvalidDataException("the keyframe's signal state is malformed", e);
        }
    }
}
