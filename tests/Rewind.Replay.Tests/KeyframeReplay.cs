using Rewind.Trace;

namespace Rewind.Replay.Tests;

/// <summary>Replay from a keyframe, as the index and queries start theirs, checked against the recording's end.</summary>
public static class KeyframeReplay
{
    /// <summary>
    /// Replays <paramref name="reader"/> from keyframe <paramref name="keyframe"/> with every later keyframe verified;
    /// <paramref name="restored"/> checks the state the keyframe restored before anything runs. The replay must end at
    /// the recording's instruction count with its final state hash.
    /// </summary>
    public static void AssertReachesTheRecordedEnd(TraceReader reader, int keyframe, Action<ReplaySession>? restored = null)
    {
        using var session = ReplaySession.Open(reader, verify: true, fromKeyframe: keyframe, leaveTraceOpen: true);
        restored?.Invoke(session);
        var ending = session.Run();
        Assert.NotNull(ending);
        Assert.Equal(reader.End!.Instructions, ending.Instructions);
        Assert.Equal(reader.End.StateHash, session.Kernel.FinalStateHash);
    }
}
