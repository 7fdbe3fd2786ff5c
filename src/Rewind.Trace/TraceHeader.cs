using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rewind.Trace;

/// <summary>What was recorded, where and with what: written once at the start of the trace.</summary>
public sealed record TraceHeader
{
    public required string Program { get; init; }
    public required IReadOnlyList<string> Arguments { get; init; }
    public required IReadOnlyList<string> Environment { get; init; }
    public required string WorkingDirectory { get; init; }
    public required string EngineVersion { get; init; }
    public required string CpuModel { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    public required int ProcessId { get; init; }
    public required long KeyframeInterval { get; init; }
    public bool Sandboxed { get; init; }

    /// <summary>Instructions a thread ran before another runnable one got its turn (replay follows the recorded switches).</summary>
    public long PreemptAfter { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, TraceJsonContext.Default.TraceHeader);

    public static TraceHeader FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, TraceJsonContext.Default.TraceHeader) ?? throw new InvalidDataException("empty trace header");
}

[JsonSerializable(typeof(TraceHeader))]
internal sealed partial class TraceJsonContext : JsonSerializerContext;
