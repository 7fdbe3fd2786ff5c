using Iced.Intel;
using Rewind.Engine;
using Rewind.Index;
using Rewind.Linux.Execution;
using Rewind.Trace.Positions;

namespace Rewind.Query;

/// <summary>One instruction as a debugger shows it: its address, bytes and text (MASM syntax, as WinDbg).</summary>
public sealed record DecodedInstruction(ulong Address, byte[] Bytes, string Text)
{
    public string BytesText => Convert.ToHexStringLower(Bytes);
}

/// <summary>
/// A position in a trace with the machine state there, just before the instruction at that
/// position runs: registers, memory, the instruction. Seeking replays from the nearest keyframe at
/// or before the position (block by block, then the last block with one code hook); stepping
/// forward continues from here, stepping back seeks again.
/// </summary>
public sealed class TraceCursor : IDisposable
{
    readonly TraceSession _session;
    SegmentReplay? _replay;

    internal TraceCursor(TraceSession session) => _session = session;

    public Position Position { get; private set; }

    /// <summary>The thread that runs the instruction at this position.</summary>
    public GuestThread Thread => Replay.Process.CurrentThread;

    /// <summary>The replayed machine at this position: every process and thread of the run, running or not.</summary>
    public GuestProcess Machine => Replay.Process;

    /// <summary>The 0-based count of the instruction about to run.</summary>
    public long Instruction => Position.Instruction;

    SegmentReplay Replay => _replay ?? throw new InvalidOperationException("the cursor has no position yet");

    /// <summary>Moves to <paramref name="position"/>.</summary>
    public void SeekTo(Position position) => SeekTo(position.Instruction);

    /// <summary>Moves to just before instruction <paramref name="instruction"/> runs.</summary>
    public void SeekTo(long instruction)
    {
        var timeline = _session.Timeline;
        if (instruction < 0 || instruction >= timeline.Instructions)
            throw new ArgumentOutOfRangeException(nameof(instruction), $"instruction {instruction} is outside the trace (0 to {timeline.Instructions - 1})");
        var (keyframe, keyframeStart) = KeyframeFor(instruction);
        // Continue the replay we have when it is between the nearest keyframe and the target.
        if (_replay is null || _replay.Instructions > instruction || _replay.Instructions < keyframeStart || _replay.Exited is not null)
        {
            _replay?.Dispose();
            _replay = null;
            _replay = SegmentReplay.Open(_session.Trace, keyframe);
        }
        if (!_replay.RunTo(instruction))
            throw new InvalidOperationException($"the replay ended at instruction {_replay.Instructions} before reaching {instruction}");
        Position = timeline.At(instruction);
    }

    (int Keyframe, long Start) KeyframeFor(long instruction)
    {
        var segments = _session.Index.SegmentBounds;
        var found = (0, 0L);
        for (var k = 0; k < segments.Count && segments[k].Start <= instruction; k++)
            found = (segments[k].Keyframe, segments[k].Start);
        return found;
    }

    /// <summary>Runs <paramref name="count"/> instructions; false when that would pass the end of the trace (the cursor then stays).</summary>
    public bool StepForward(long count = 1)
    {
        var target = Instruction + count;
        if (count < 0 || target >= _session.Timeline.Instructions)
            return false;
        SeekTo(target);
        return true;
    }

    /// <summary>Goes back <paramref name="count"/> instructions (replaying from the nearest keyframe); false before the start.</summary>
    public bool StepBack(long count = 1)
    {
        var target = Instruction - count;
        if (count < 0 || target < 0)
            return false;
        SeekTo(target);
        return true;
    }

    public ulong Register(X86Register register) => Replay.Cpu.Read(register);

    public UInt128 Xmm(int index) => Replay.Cpu.ReadXmm(index);

    /// <summary>Reads guest memory at this position; false when any byte is unmapped.</summary>
    public bool TryReadMemory(ulong address, Span<byte> destination) => Replay.Process.Memory.Peek(address, destination);

    /// <summary>Reads guest memory at this position; an unmapped byte is an <see cref="ArgumentException"/>.</summary>
    public byte[] ReadMemory(ulong address, int length)
    {
        var bytes = new byte[length];
        if (!TryReadMemory(address, bytes))
            throw new ArgumentException($"memory at 0x{address:x} (0x{length:x} bytes) is not mapped at position {Position}");
        return bytes;
    }

    /// <summary>The instruction about to run (at RIP).</summary>
    public DecodedInstruction CurrentInstruction() => Disassemble(Register(X86Register.Rip));

    /// <summary>Decodes the instruction at <paramref name="address"/> as memory holds it at this position.</summary>
    public DecodedInstruction Disassemble(ulong address)
    {
        var bytes = new byte[15];
        var available = bytes.Length;
        while (available > 0 && !TryReadMemory(address, bytes.AsSpan(0, available)))
            available--;
        if (available == 0)
            return new DecodedInstruction(address, [], "??");
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(bytes, 0, available), address);
        decoder.Decode(out var instruction);
        var output = new StringOutput();
        var formatter = new MasmFormatter();
        formatter.Options.FirstOperandCharIndex = 0;
        formatter.Options.MemorySizeOptions = MemorySizeOptions.Always;
        formatter.Format(instruction, output);
        return new DecodedInstruction(address, bytes[..instruction.Length], output.ToString());
    }

    public void Dispose()
    {
        _replay?.Dispose();
        _replay = null;
    }
}
