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
/// process name is the task name (comm) at that instruction, the tid the running thread's.
/// </summary>
public sealed class MemoryMapPlugin : IReplayPlugin, IDisposable
{
    readonly MemoryMapArguments _arguments;
    readonly MemoryMapLineWriter _writer;
    readonly long[] _nameFrom;
    readonly string[] _names;
    readonly int _pid;
    byte[] _processPart = [];
    int _processPartName = -1;
    int _processPartTid = -1;
    readonly byte[][] _imageParts;
    readonly byte[] _unknownImage = Encoding.UTF8.GetBytes(" image_name=(unknown) image_path=(unknown) image_base=(unknown)\n");
    ModuleMap.Cursor _modules;
    ReplaySession? _session;
    BlockInstructions? _everyInstruction;
    int _name;
    long _nameUntil;
    long _last = -1;
    readonly long _end;

    public MemoryMapPlugin(TraceModel model, MemoryMapArguments arguments, Stream output)
    {
        _arguments = arguments;
        _end = model.Timeline.Instructions;
        _writer = new MemoryMapLineWriter(output);
        _modules = model.ModuleMap.CreateCursor();
        _pid = model.Process.Id;
        _nameFrom = model.Process.Names.Select(n => n.FromInstruction).ToArray();
        _names = model.Process.Names.Select(n => n.Name).ToArray();
        _imageParts = model.Modules.Select(m => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $" image_name={m.Name} image_path={m.Path} image_base=0x{m.Address:x}\n"))).ToArray();
        SeekName(0);
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
        if (_arguments.ReportsEverything)
        {
            _everyInstruction = new BlockInstructions(session.Process, OnInstructions);
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
        if (instruction >= _nameUntil || instruction < _nameFrom[_name])
            SeekName(instruction);
        var module = _modules.Find(pc, instruction);
        _writer.Write(pc, instruction, ProcessPart(), module < 0 ? _unknownImage : _imageParts[module]);
        if (_writer.Failure is not null)
            _session?.Process.Pause(); // nowhere to write: stop the replay
    }

    /// <summary>Every instruction, a block at a time: the same lines as <see cref="OnInstruction"/> for each.</summary>
    void OnInstructions(long first, ulong[] pcs, int count)
    {
        count = (int)Math.Min(count, _end - first);
        for (var i = 0; i < count; i++)
        {
            var instruction = first + i;
            if (instruction >= _nameUntil || instruction < _nameFrom[_name])
                SeekName(instruction);
            var module = _modules.Find(pcs[i], instruction);
            _writer.Write(pcs[i], instruction, ProcessPart(), module < 0 ? _unknownImage : _imageParts[module]);
        }
        if (_writer.Failure is not null)
            _session?.Process.Pause(); // nowhere to write: stop the replay
    }

    /// <summary>" process=NAME pid=P tid=T in_kernel=false" for the current name and running thread, made again only when one changes.</summary>
    byte[] ProcessPart()
    {
        var tid = _session?.Process.Tid ?? _pid;
        if (tid != _processPartTid || _name != _processPartName)
        {
            _processPart = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $" process={_names[_name]} pid={_pid} tid={tid} in_kernel=false"));
            (_processPartTid, _processPartName) = (tid, _name);
        }
        return _processPart;
    }

    void SeekName(long instruction)
    {
        var index = Array.BinarySearch(_nameFrom, instruction);
        _name = Math.Max(0, index >= 0 ? index : ~index - 1);
        _nameUntil = _name + 1 < _nameFrom.Length ? _nameFrom[_name + 1] : long.MaxValue;
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
