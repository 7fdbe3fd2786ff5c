namespace Rewind.Replay.Tests;

/// <summary>
/// Guest programs that push the address space to its edges (code unmapped or made unexecutable while it
/// is translated, a break past the end of memory, a write through a read-only shared file mapping, a TLS
/// base that is no user address) end as they do natively, recorded, and replayed with --verify. Before,
/// several of them took Rewind itself down.
/// </summary>
public sealed class AddressSpaceEdgeTests
{
    public static TheoryData<string, bool> Programs() => new()
    {
        { "unmap_running_code", false },
        { "protect_running_code", false },
        { "brk_limits", false },
        { "mprotect_shared_readonly", true },
        { "arch_prctl_limits", false },
    };

    [Theory]
    [MemberData(nameof(Programs))]
    public async Task RecordingAndReplayEndAsTheNativeRun(string name, bool takesScratchFile)
    {
        using var folder = new TempFolder();
        var program = GuestRunner.Guest($"{name}-static");
        string[] arguments = takesScratchFile ? [folder["scratch"]] : [];
        var native = await GuestRunner.NativeAsync(program, arguments);
        Assert.True(native.ExitCode == 0, $"native: {native}");

        var trace = folder["run.rwd"];
        var record = await RewindCli.RecordAsync(trace, program, arguments, options: ["--keyframe-every", "20000"]);
        Assert.True(record.ExitCode == 0, $"recording: {record}");
        Assert.Equal(native.StdoutText, record.StdoutText);

        var replay = await RewindCli.ReplayAsync(trace, verify: true);
        Assert.True(replay.ExitCode == 0, $"replaying: {replay}");
        Assert.Equal(native.StdoutText, replay.StdoutText);
    }
}
