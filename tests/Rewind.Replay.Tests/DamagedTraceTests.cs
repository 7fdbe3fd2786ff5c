using System.Buffers.Binary;
using System.Text.RegularExpressions;

namespace Rewind.Replay.Tests;

/// <summary>Recordings shared by the tests that damage them.</summary>
public sealed class DamageableTraces : IAsyncLifetime, IDisposable
{
    public const long KeyframeInterval = 100_000;

    readonly TempFolder _folder = new();

    public TempFolder Folder => _folder;

    /// <summary>time_random (time and random numbers come from the trace), with a keyframe every 100,000 instructions.</summary>
    public string KeyframesTrace => _folder["time_random.rwd"];
    public RunResult KeyframesRecord { get; private set; } = null!;

    /// <summary>stdin_echo copying 3 MB: the trace's events, stored input and the program's output are spread over many chunks.</summary>
    public string StreamingTrace => _folder["stdin_echo.rwd"];
    public RunResult StreamingRecord { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        KeyframesRecord = await RewindCli.RecordAsync(KeyframesTrace, GuestRunner.Guest("time_random-static"), [],
            options: ["--keyframe-every", KeyframeInterval.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(KeyframesRecord.ExitCode == 0, $"recording time_random: {KeyframesRecord}");

        var random = new Random(2024);
        var input = new byte[3 << 20];
        for (var i = 0; i < input.Length; i++)
            input[i] = i % 64 == 63 ? (byte)'\n' : (byte)('a' + random.Next(26));
        StreamingRecord = await RewindCli.RecordAsync(StreamingTrace, GuestRunner.Guest("stdin_echo-static"), [], new RunSettings { Stdin = input });
        Assert.True(StreamingRecord.ExitCode == 0 && StreamingRecord.Stdout.Length == input.Length, $"recording stdin_echo: exit {StreamingRecord.ExitCode}, {StreamingRecord.Stdout.Length} bytes out");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _folder.Dispose();
}

/// <summary>
/// Damaged traces: a keyframe whose registers were changed (with its checksum fixed, so that only
/// the replay's own checks can notice) is a one-line divergence naming the register; a trace cut
/// short or made of garbage gives a one-line error or a partial result, never a stack trace.
/// </summary>
public sealed partial class DamagedTraceTests(DamageableTraces traces) : IClassFixture<DamageableTraces>
{
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ChangedRegisterInAKeyframeIsADivergenceNamingTheRegister()
    {
        var file = TraceFile.Read(traces.KeyframesTrace);
        var keyframes = file.KeyframeChunks();
        Assert.True(keyframes.Count >= 3, $"the recording has {keyframes.Count} keyframes; the test needs a few");

        // The file put back together unchanged still verifies: the damage below is the only difference.
        var unchanged = traces.Folder["unchanged.rwd"];
        file.Write(unchanged);
        var clean = await RewindCli.ReplayAsync(unchanged);
        Assert.True(clean.ExitCode == 0, $"replay of the rewritten, unchanged trace: {clean}");

        var index = keyframes.Count / 2;
        var keyframe = TraceFile.DecodeKeyframe(file.Chunks[keyframes[index]]);
        var original = keyframe.Register("rbx");
        var pc = keyframe.Register("rip");
        keyframe.Record[keyframe.OffsetOf("rbx")] ^= 0x5a;
        var damaged = keyframe.Register("rbx");
        file.Chunks[keyframes[index]] = TraceFile.EncodeKeyframe(keyframe.Record);
        var path = traces.Folder["damaged-keyframe.rwd"];
        file.Write(path);

        var replay = await RewindCli.ReplayAsync(path, verify: true, new RunSettings { Timeout = Limit });
        var line = RewindCli.AssertOneLineError(replay);
        var match = DivergenceLine().Match(line);
        Assert.True(match.Success, $"not a divergence line: {line}");
        Assert.Equal(keyframe.Instruction, RewindCli.ParseCount(match.Groups[1].Value));
        Assert.Equal(pc, RewindCli.ParseHex(match.Groups[2].Value));
        Assert.EndsWith($": keyframe {index} at instruction {keyframe.Instruction:N0} differs: rbx expected 0x{damaged:x} but was 0x{original:x}", line, StringComparison.Ordinal);

        // Without --verify keyframes are not compared, and the run replays to its end.
        var unverified = await RewindCli.ReplayAsync(path, verify: false);
        Assert.True(unverified.ExitCode == 0, $"replay without --verify: {unverified}");
        Assert.Equal(traces.KeyframesRecord.StdoutText, unverified.StdoutText);
    }

    public static TheoryData<string> Damages() =>
    [
        "truncated at 50%", "truncated at 25%", "truncated at 75%", "last bytes missing", "truncated in the header",
        "empty", "random garbage", "garbage after a valid header", "one byte changed", "missing",
    ];

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task DamagedTraceGivesAOneLineErrorOrAPartialResult(string damage)
    {
        var path = traces.Folder[$"{damage.Replace(' ', '-').Replace('%', 'p')}.rwd"];
        var original = await File.ReadAllBytesAsync(traces.StreamingTrace);
        var headerEnd = 16 + BinaryPrimitives.ReadInt32LittleEndian(original.AsSpan(12));
        var random = new Random(12345);
        byte[] Garbage(int length)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            return bytes;
        }
        byte[]? content = damage switch
        {
            "truncated at 50%" => original[..(original.Length / 2)],
            "truncated at 25%" => original[..(original.Length / 4)],
            "truncated at 75%" => original[..(original.Length * 3 / 4)],
            "last bytes missing" => original[..^5],
            "truncated in the header" => original[..(headerEnd - 7)],
            "empty" => [],
            "random garbage" => Garbage(1 << 20),
            "garbage after a valid header" => [.. original[..headerEnd], .. Garbage(1 << 20)],
            "one byte changed" => ChangeByte(original, original.Length / 2),
            "missing" => null,
            _ => throw new ArgumentException(damage, nameof(damage)),
        };
        if (content is not null)
            await File.WriteAllBytesAsync(path, content);

        var settings = new RunSettings { Timeout = Limit };
        var info = await RewindCli.InfoAsync(path, settings);
        RewindCli.AssertNoCrash(info);
        if (info.ExitCode == 0)
            Assert.Matches(@"the trace is\s+incomplete", info.StdoutText);
        else
            RewindCli.AssertOneLineError(info);

        var replay = await RewindCli.ReplayAsync(path, verify: true, settings);
        RewindCli.AssertNoCrash(replay);
        var full = traces.StreamingRecord.StdoutText;
        if (damage == "last bytes missing" && replay.ExitCode == 0)
        {
            // Only the end marker is damaged: every event is there, so the replay may well be complete.
            Assert.Equal(full, replay.StdoutText);
            return;
        }
        var line = RewindCli.AssertOneLineError(replay);
        // What was replayed is the start of what the program printed.
        Assert.StartsWith(replay.StdoutText, full, StringComparison.Ordinal);

        switch (damage)
        {
            case "truncated at 50%":
                Assert.Equal(0, info.ExitCode);
                Assert.Equal(2, replay.ExitCode);
                Assert.Matches(@"^rewind: replay stopped early: the trace ends at instruction [1-9][\d,]* \(", line);
                Assert.InRange(replay.Stdout.Length, 1, full.Length - 1);
                break;
            case "random garbage":
            case "empty":
                Assert.Equal(1, info.ExitCode);
                Assert.Equal(1, replay.ExitCode);
                Assert.Equal($"rewind: {path}: not a Rewind trace", line);
                break;
            case "missing":
                Assert.Equal(1, replay.ExitCode);
                Assert.Equal($"rewind: {path}: no such file", line);
                break;
        }
    }

    static byte[] ChangeByte(byte[] original, int at)
    {
        var copy = original.ToArray();
        copy[at] ^= 0xff;
        return copy;
    }

    [GeneratedRegex(@"^rewind: replay diverged at instruction ([\d,]+), pc 0x([0-9a-f]+) ")]
    private static partial Regex DivergenceLine();
}
