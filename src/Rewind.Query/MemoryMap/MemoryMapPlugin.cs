using System.Globalization;
using System.Text;
using Rewind.Linux.Execution;
using Rewind.Query.Introspection;
using Rewind.Query.Plugins;
using Rewind.Replay;

namespace Rewind.Query.MemoryMap;

/// <summary>
/// PANDA's memorymap on a replay: for each reported instruction, the line
/// <c>pc=0x.. instr_count=N process=NAME pid=P tid=T in_kernel=false image_name=.. image_path=.. image_base=0x..</c>
/// with <c>(unknown)</c> for the image when the pc is in no module. Which instructions: every
/// execution of a pc in <see cref="MemoryMapArguments.Pcs"/> (only those addresses are
/// instrumented), each count in <see cref="MemoryMapArguments.InstructionCounts"/> (only the block
/// holding it is instrumented), both when both are given (an instruction that matches both is
/// reported once), and every instruction when neither is. Lines come in execution order, for the
/// instructions the trace counts (0 to its instruction count - 1): an instruction that faulted and
/// ended the program never completed and is not reported (its pc is in the Exception event). The
/// process, pid and tid are those of the thread that ran the instruction (the task name as it was
/// then), and the image comes from that process's mappings at that moment (see <see cref="ImageLookup"/>).
/// </summary>
public sealed class MemoryMapPlugin : IReplayPlugin, IDisposable
{
    readonly MemoryMapArguments _arguments;
    readonly MemoryMapLineWriter _writer;
    byte[] _processPart = [];
    GuestThread? _processPartThread;
    string? _processPartName;
    ImageLookup? _images;
    ReplaySession? _session;
    BlockInstructions? _everyInstruction;
    long _last = -1;
    readonly long _end;

    public MemoryMapPlugin(TraceModel model, MemoryMapArguments arguments, Stream output)
    {
        _arguments = arguments;
        _end = model.Timeline.Instructions;
        _writer = new MemoryMapLineWriter(output);
    }

    /// <summary>Makes the plugin from PANDA-style arguments (pcs, instr_counts); malformed lists are a <see cref="FormatException"/>.</summary>
    public static IReplayPlugin Create(IReadOnlyDictionary<string, string> arguments, PluginContext context)
    {
        var parsed = MemoryMapArguments.Parse(arguments.GetValueOrDefault("pcs"), arguments.GetValueOrDefault("instr_counts"));
        if (parsed.ReportsEverything)
            context.Warn(AllInstructionsWarning);
        return new MemoryMapPlugin(context.Model, parsed, context.Output);
    }

    public const string AllInstructionsWarning = "memorymap: neither pcs nor instr_counts given: all instructions will be reported";

    /// <summary>Lines written so far.</summary>
    public long Lines => _writer.Lines;

    /// <summary>Why the output could not be written, if it could not (the replay was then paused).</summary>
    public IOException? Failure => _writer.Failure;

    public void Attach(ReplaySession session)
    {
        _session = session;
        _images = new ImageLookup(session.Process);
        if (_arguments.ReportsEverything)
        {
            _everyInstruction = new(session.Process, pc => new BlockOwner(ProcessPart(), _images.PartFor(pc)), OnInstructions);
            return;
        }
        if (_arguments.Pcs.Count > 0)
            session.WatchAddresses(_arguments.Pcs, OnInstruction);
        if (_arguments.InstructionCounts.Count > 0)
            session.WatchInstructions(_arguments.InstructionCounts, OnInstruction);
    }

    /// <summary>Called before each reported instruction runs, in execution order (twice for one that matches a pc and a count).</summary>
    void OnInstruction(long instruction, ulong pc, int length)
    {
        if (instruction == _last || instruction >= _end)
            return;
        _last = instruction;
        _writer.Write(pc, instruction, ProcessPart(), _images!.PartFor(pc));
        if (_writer.Failure is not null)
            _session?.Process.Pause(); // nowhere to write: stop the replay
    }

    /// <summary>Every instruction, a block at a time: the same lines as <see cref="OnInstruction"/> for each.</summary>
    void OnInstructions(long first, ulong[] pcs, int count, BlockOwner ranBy)
    {
        count = (int)Math.Min(count, _end - first);
        for (var i = 0; i < count; i++)
            _writer.Write(pcs[i], first + i, ranBy.Process, ranBy.Image);
        if (_writer.Failure is not null)
            _session?.Process.Pause(); // nowhere to write: stop the replay
    }

    /// <summary>" process=NAME pid=P tid=T in_kernel=false" for the running thread and its process's name, made again only when one changes.</summary>
    byte[] ProcessPart()
    {
        var process = _session!.Process;
        if (process.CurrentThread != _processPartThread || !ReferenceEquals(process.Name, _processPartName))
        {
            _processPart = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $" process={process.Name} pid={process.Pid} tid={process.Tid} in_kernel=false"));
            (_processPartThread, _processPartName) = (process.CurrentThread, process.Name);
        }
        return _processPart;
    }

    public void Finish(ExitStatus? ending)
    {
        _everyInstruction?.Flush(Math.Min(_end, _session?.Process.Instructions ?? _end));
        _writer.Flush();
        if (_writer.Failure is { } failure)
            throw new IOException(failure.Message, failure);
    }

    public void Dispose()
    {
        _everyInstruction?.Dispose();
        _writer.Dispose();
    }
}
