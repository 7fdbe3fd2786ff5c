using System.CommandLine;
using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Linux.Recording;
using Rewind.Trace;

namespace Rewind.Cli.Commands;

/// <summary>rewind record: run a program and write a self-contained trace of the run.</summary>
internal static class RecordCommand
{
    public const long DefaultKeyframeInterval = 50_000_000;

    public static Command Create()
    {
        var guest = new GuestCommandLine();
        var output = new Option<string?>("--output", "-o") { Description = "Trace file to write (default: PROGRAM-N.rwd in the current folder, never overwriting)." };
        var keyframes = new Option<long>("--keyframe-every")
        {
            Description = "Instructions between keyframes (snapshots used to seek and to check replay).",
            DefaultValueFactory = _ => DefaultKeyframeInterval,
        };
        keyframes.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() < 1000)
                result.AddError("--keyframe-every must be at least 1000 instructions");
        });
        var command = new Command("record", "Run a program as 'run' does and record everything needed to replay it exactly, anywhere.");
        guest.AddTo(command);
        command.Options.Add(output);
        command.Options.Add(keyframes);
        command.SetAction(parse =>
        {
            var options = guest.Options(parse, out var sandbox);
            if (options is null)
                return 1;
            using var _ = sandbox;
            var path = parse.GetValue(output) ?? DefaultTracePath(options.Program);
            FileStream file;
            try
            {
                file = new FileStream(path, parse.GetValue(output) is null ? FileMode.CreateNew : FileMode.Create, FileAccess.Write, FileShare.Read);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Diagnostics.Fail($"cannot create {path}: {e.Message}");
            }
            var nondeterminism = new Nondeterminism();
            var header = new TraceHeader
            {
                Program = options.Program,
                Arguments = options.Arguments,
                Environment = options.Environment,
                WorkingDirectory = options.WorkingDirectory,
                EngineVersion = EngineLibrary.Format(EngineLibrary.Version),
                CpuModel = "Rewind virtual x86-64 CPU (Haswell without AVX)",
                StartTime = DateTimeOffset.UtcNow,
                ProcessId = nondeterminism.ProcessId,
                KeyframeInterval = parse.GetValue(keyframes),
                Sandboxed = sandbox is not null,
                PreemptAfter = options.PreemptAfter,
            };
            var status = RecordTo(file, path, header, options, nondeterminism, out var started);
            if (!started)
                File.Delete(path); // the program never ran: a trace of nothing would only be in the way
            return status;
        });
        return command;
    }

    static int RecordTo(FileStream file, string path, TraceHeader header, RunOptions options, Nondeterminism nondeterminism, out bool started)
    {
        using var writer = new TraceWriter(file, header);
        var recorder = new Recorder(writer, header.KeyframeInterval);
        var running = false;
        var status = GuestCommandLine.RunToEnd(
            () =>
            {
                var process = GuestProcess.Start(options, recorder, nondeterminism);
                running = true;
                return process;
            },
            (exit, elapsed) => Diagnostics.Warn($"recorded {exit.Instructions:N0} instructions in {elapsed.TotalSeconds:F2} s to {path} ({writer.BytesWritten / 1e6:F1} MB)"));
        started = running;
        return status;
    }

    /// <summary>PROGRAM-N.rwd in the current folder, with the first N that is free.</summary>
    static string DefaultTracePath(string program)
    {
        var name = Path.GetFileName(program);
        for (var n = 1; ; n++)
        {
            var candidate = $"{name}-{n}.rwd";
            if (!File.Exists(candidate))
                return candidate;
        }
    }
}
