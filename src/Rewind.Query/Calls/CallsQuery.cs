using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Index;
using Rewind.Query.Symbols;
using Rewind.Trace.Positions;

namespace Rewind.Query.Calls;

/// <summary>
/// TTD.Calls: every call of the functions that symbol patterns name, in the order they were made,
/// streamed. Calls are found from the index, without replaying the whole trace: the executions
/// of each function's first instruction (an executions query, with the registers and stack read
/// there), then the executions of their return addresses after them; a return is the first
/// execution of the return address in the same thread with the stack pointer just above the
/// frame. Returns are looked for in batches of calls that grow (1, 4, 16... up to 4096), so the
/// first result comes after two short queries. A call whose return never comes is followed by
/// a replay from the call, with a block hook, to where the stack was unwound past its frame.
/// </summary>
public sealed class CallsQuery : IEnumerable<FunctionCall>
{
    /// <summary>Parameters reported for a function DWARF says nothing about (as TTD).</summary>
    public const int DefaultParameterCount = 4;

    const int MaxBatch = 4096;

    static readonly X86Register[] ParameterRegisters = [X86Register.Rdi, X86Register.Rsi, X86Register.Rdx, X86Register.Rcx, X86Register.R8, X86Register.R9];

    readonly TraceSession _session;
    readonly Dictionary<ulong, (Symbol Symbol, FunctionSignature? Signature)> _functions = [];

    internal CallsQuery(TraceSession session, IReadOnlyList<Symbol> functions)
    {
        _session = session;
        foreach (var function in functions)
            _functions.TryAdd(function.Address, (function, session.Symbols.For(function.Module).Signature(function.Address)));
    }

    /// <summary>The functions the patterns named, by address.</summary>
    public IEnumerable<Symbol> Functions => _functions.Values.Select(f => f.Symbol);

    /// <summary>Also unwinds the caller's stack at each call (<see cref="FunctionCall.CallStack"/>), up to this many frames; 0: no.</summary>
    public int CallStackDepth { get; init; }

    /// <summary>Functions whose first parameter points at a result they store (posix_memalign): the 8 bytes there at the return are <see cref="FunctionCall.StoredResult"/>.</summary>
    public IReadOnlySet<ulong> ResultThroughFirstParameter { get; init; } = new HashSet<ulong>();

    sealed record Entry(long Instruction, int ThreadId, int UniqueThreadId, ulong Function, ulong ReturnAddress, ulong StackPointer, ulong[] Parameters, List<ulong> CallStack);

    sealed record Return(long Instruction, int UniqueThreadId, ulong Address, ulong StackPointer, ulong Value, ulong? Stored);

    public IEnumerator<FunctionCall> GetEnumerator() => Calls().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    IEnumerable<FunctionCall> Calls()
    {
        if (_functions.Count == 0)
            yield break;
        if (CallStackDepth > 0)
        {
            // Unwinding runs on the query's threads; the modules' files are read from the trace here, first.
            foreach (var module in _session.Model.Modules)
                _ = _session.Symbols.For(module).Frames;
        }
        using var entries = new MemoryQuery(_session, _functions.Keys, 0, CaptureEntry).GetEnumerator();
        var batch = new List<Entry>();
        var size = 1;
        var more = true;
        while (more)
        {
            batch.Clear();
            while (batch.Count < size && (more = entries.MoveNext()))
                batch.Add((Entry)entries.Current.Captured!);
            if (batch.Count == 0)
                yield break;
            foreach (var call in Complete(batch))
                yield return call;
            size = Math.Min(size * 4, MaxBatch);
        }
    }

    /// <summary>Finds the returns of a batch of calls (in call order) and yields each call as soon as it and those before it are complete.</summary>
    IEnumerable<FunctionCall> Complete(List<Entry> batch)
    {
        var returns = new Return?[batch.Count];
        var open = batch.Count;
        var next = 0;
        // Where the functions of this batch that store a result through their first parameter store it, by thread and frame.
        var stores = batch.Where(e => ResultThroughFirstParameter.Contains(e.Function) && e.Parameters.Length > 0)
            .GroupBy(e => (e.UniqueThreadId, e.StackPointer + 8)).ToDictionary(g => g.Key, g => g.Last().Parameters[0]);
        var query = new MemoryQuery(_session, batch.Select(e => e.ReturnAddress).Distinct().ToArray(), batch[0].Instruction + 1,
            (replay, instruction) => CaptureReturn(replay, instruction, stores));
        using (var found = query.GetEnumerator())
        {
            while (open > 0 && found.MoveNext())
            {
                var r = (Return)found.Current.Captured!;
                for (var i = next; i < batch.Count; i++)
                {
                    var e = batch[i];
                    if (returns[i] is null && e.Instruction < r.Instruction && e.ReturnAddress == r.Address && e.UniqueThreadId == r.UniqueThreadId && e.StackPointer + 8 == r.StackPointer)
                    {
                        returns[i] = r;
                        open--;
                        break;
                    }
                }
                for (; next < batch.Count && returns[next] is { } done; next++)
                    yield return Call(batch[next], done);
            }
        }
        for (; next < batch.Count; next++)
            yield return returns[next] is { } done ? Call(batch[next], done) : Unreturned(batch[next]);
    }

    FunctionCall Call(Entry e, Return r) => Make(e, _session.Timeline.At(r.Instruction), r.Value, CallEnd.Returned, r.Stored);

    FunctionCall Make(Entry e, Position end, ulong? value, CallEnd how, ulong? stored = null)
    {
        var (symbol, signature) = _functions[e.Function];
        return new FunctionCall
        {
            ThreadId = e.ThreadId,
            UniqueThreadId = e.UniqueThreadId,
            TimeStart = _session.Timeline.At(e.Instruction),
            TimeEnd = end,
            Function = symbol.FullName,
            FunctionAddress = e.Function,
            ReturnAddress = e.ReturnAddress,
            ReturnValue = value,
            Parameters = e.Parameters,
            Signature = signature,
            End = how,
            CallStack = e.CallStack,
            StackPointer = e.StackPointer,
            StoredResult = stored,
        };
    }

    /// <summary>A call whose return address never ran again in its frame: a replay from the call finds where its frame was left.</summary>
    FunctionCall Unreturned(Entry e)
    {
        var left = FrameExit.Find(_session, e.Instruction, e.UniqueThreadId, e.StackPointer);
        var last = _session.Timeline.Instructions - 1;
        return left is { } at
            ? Make(e, _session.Timeline.At(at), null, CallEnd.Unwound)
            : Make(e, _session.Timeline.At(Math.Max(e.Instruction, last)), null, CallEnd.NeverReturned);
    }

    int ParameterCount(ulong function) => _functions[function].Signature is { } signature ? signature.Parameters.Count : DefaultParameterCount;

    Entry CaptureEntry(SegmentReplay replay, long instruction)
    {
        var cpu = replay.Cpu;
        var memory = replay.Process.Memory;
        var function = cpu.Read(X86Register.Rip);
        var rsp = cpu.Read(X86Register.Rsp);
        ulong? Read(ulong address)
        {
            Span<byte> bytes = stackalloc byte[8];
            return memory.Peek(address, bytes) ? BitConverter.ToUInt64(bytes) : null;
        }
        var parameters = new ulong[ParameterCount(function)];
        for (var i = 0; i < parameters.Length; i++)
            parameters[i] = i < ParameterRegisters.Length ? cpu.Read(ParameterRegisters[i]) : Read(rsp + 8 * (ulong)(i - ParameterRegisters.Length + 1)) ?? 0;
        var returnAddress = Read(rsp) ?? 0;
        var stack = new List<ulong>();
        if (CallStackDepth > 0)
        {
            var registers = new ulong?[CallFrameTable.Registers];
            registers[CallFrameTable.Rsp] = rsp;
            registers[CallFrameTable.Rbp] = cpu.Read(X86Register.Rbp);
            registers[3] = cpu.Read(X86Register.Rbx);
            registers[12] = cpu.Read(X86Register.R12);
            registers[13] = cpu.Read(X86Register.R13);
            registers[14] = cpu.Read(X86Register.R14);
            registers[15] = cpu.Read(X86Register.R15);
            registers[CallFrameTable.ReturnAddress] = function;
            stack = _session.Symbols.CallStack(registers, instruction, Read, CallStackDepth);
        }
        var thread = replay.Process.CurrentThread;
        return new Entry(instruction, thread.Tid, (int)thread.UniqueId, function, returnAddress, rsp, parameters, stack);
    }

    static Return CaptureReturn(SegmentReplay replay, long instruction, Dictionary<(int, ulong), ulong> stores)
    {
        var thread = (int)replay.Process.CurrentThread.UniqueId;
        var rsp = replay.Cpu.Read(X86Register.Rsp);
        ulong? stored = null;
        Span<byte> bytes = stackalloc byte[8];
        if (stores.TryGetValue((thread, rsp), out var at) && replay.Process.Memory.Peek(at, bytes))
            stored = BitConverter.ToUInt64(bytes);
        return new Return(instruction, thread, replay.Cpu.Read(X86Register.Rip), rsp, replay.Cpu.Read(X86Register.Rax), stored);
    }

    /// <summary>
    /// Where a frame was left without a return: a replay from the call with a hook on every block,
    /// stopping at the first block of the call's thread that runs with the stack pointer above the
    /// frame (a longjmp's target). Null when that never happens before the trace ends.
    /// </summary>
    static unsafe class FrameExit
    {
        sealed class Watch(SegmentReplay replay, long thread, ulong frame)
        {
            public SegmentReplay Replay { get; } = replay;
            public long Thread { get; } = thread;
            public ulong Frame { get; } = frame;
            public long? Left { get; set; }
        }

        public static long? Find(TraceSession session, long call, int thread, ulong frame)
        {
            var keyframe = 0;
            foreach (var segment in session.Index.SegmentBounds)
            {
                if (segment.Start <= call)
                    keyframe = segment.Keyframe;
            }
            using var replay = SegmentReplay.Open(session.Trace, keyframe);
            if (!replay.RunTo(call + 1))
                return null;
            var watch = new Watch(replay, thread, frame);
            var handle = GCHandle.Alloc(watch);
            var hook = replay.Cpu.AddHook(HookType.Block, (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnBlock, (void*)GCHandle.ToIntPtr(handle));
            try
            {
                replay.DropTranslatedCode();
                replay.Process.Run();
                return watch.Left;
            }
            finally
            {
                replay.Cpu.RemoveHook(hook);
                handle.Free();
            }
        }

        [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
        static void OnBlock(nint engine, ulong address, uint size, void* user)
        {
            var watch = Unsafe.As<Watch>(GCHandle.FromIntPtr((nint)user).Target!);
            var process = watch.Replay.Process;
            if (watch.Left is null && process.CurrentThread.UniqueId == watch.Thread && watch.Replay.Cpu.Read(X86Register.Rsp) > watch.Frame)
            {
                watch.Left = process.Counter.BlockFirst;
                process.Pause();
            }
        }
    }
}
