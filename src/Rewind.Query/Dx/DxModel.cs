using System.Globalization;
using Iced.Intel;
using Rewind.Engine;
using Rewind.Query.Calls;
using Rewind.Query.Heap;
using Rewind.Query.Introspection;
using Rewind.Trace.Positions;

namespace Rewind.Query.Dx;

/// <summary>
/// TTD's object model over a <see cref="TraceSession"/>, as dx objects: @$cursession.TTD.Memory(),
/// @$curprocess.TTD.Lifetime, .Events and .Threads, @$curprocess.Modules, memory accesses,
/// positions with SeekTo(), and the register display a seek prints.
/// </summary>
internal sealed class DxModel(TraceSession session)
{
    public TraceCursor? Cursor { get; private set; }

    public object? Variable(DxVariable variable) => variable.Name switch
    {
        "@$cursession" => CurrentSession(),
        "@$curprocess" => CurrentProcess(),
        "@$curthread" => CurrentThread(),
        _ when RegisterNamed(variable.Name) is { } register => (Int128)At().Register(register),
        _ => throw new DxException($"unknown variable '{variable.Name}': use @$cursession, @$curprocess, @$curthread, a register (@rax, @rip, @$ip, @$sp)", variable.Offset, variable.Length),
    };

    static readonly Dictionary<string, X86Register> Registers = new(StringComparer.Ordinal)
    {
        ["rax"] = X86Register.Rax,
        ["rbx"] = X86Register.Rbx,
        ["rcx"] = X86Register.Rcx,
        ["rdx"] = X86Register.Rdx,
        ["rsi"] = X86Register.Rsi,
        ["rdi"] = X86Register.Rdi,
        ["rbp"] = X86Register.Rbp,
        ["rsp"] = X86Register.Rsp,
        ["r8"] = X86Register.R8,
        ["r9"] = X86Register.R9,
        ["r10"] = X86Register.R10,
        ["r11"] = X86Register.R11,
        ["r12"] = X86Register.R12,
        ["r13"] = X86Register.R13,
        ["r14"] = X86Register.R14,
        ["r15"] = X86Register.R15,
        ["rip"] = X86Register.Rip,
        ["efl"] = X86Register.Eflags,
        ["fsbase"] = X86Register.FsBase,
        ["gsbase"] = X86Register.GsBase,
        ["$ip"] = X86Register.Rip,
        ["$sp"] = X86Register.Rsp,
        ["$csp"] = X86Register.Rsp,
        ["$frame"] = X86Register.Rbp,
    };

    static X86Register? RegisterNamed(string name) => Registers.TryGetValue(name[1..], out var register) ? register : null;

    /// <summary>The cursor registers and memory are read at: where the last SeekTo() left it, else the start of the trace.</summary>
    public TraceCursor At() => Cursor ??= session.SeekTo(session.Lifetime.Start);

    /// <summary>(T*)x: a pointer (shown with the string it points at, for char*); (T)x: the number cut to the type.</summary>
    public object? Cast(DxCast cast, object? operand)
    {
        var value = operand switch
        {
            Int128 n => (ulong)(n & ulong.MaxValue),
            DxObject { Underlying: Int128 address } => (ulong)address,
            _ => throw new DxException($"only numbers and pointers can be cast, not {DxEvaluator.TypeName(operand)}", cast.Operand.Offset, cast.Operand.Length),
        };
        if (cast.Pointers == 0)
            return DxTypes.Convert(value, DxTypes.SizeOf(cast.Type)!.Value, DxTypes.IsSigned(cast.Type));
        return Pointer(value, cast.Type, cast.Pointers);
    }

    DxObject Pointer(ulong address, string type, int pointers)
    {
        var name = $"{type} {new string('*', pointers)}";
        var summary = $"0x{address:x} [Type: {name}]";
        if (pointers == 1 && type == "char" && ReadString(address) is { } text)
            summary = $"0x{address:x} : \"{text}\" [Type: {name}]";
        return new DxObject { Summary = summary, Underlying = (Int128)address, Pointer = (type, pointers) };
    }

    /// <summary>A C string at the current position, up to 256 characters; null where memory is not mapped.</summary>
    string? ReadString(ulong address)
    {
        var bytes = new List<byte>();
        Span<byte> one = stackalloc byte[1];
        for (var i = 0; i < 256; i++)
        {
            if (!At().TryReadMemory(address + (ulong)i, one))
                return bytes.Count == 0 ? null : System.Text.Encoding.UTF8.GetString([.. bytes]);
            if (one[0] == 0)
                break;
            bytes.Add(one[0]);
        }
        return string.Concat(System.Text.Encoding.UTF8.GetString([.. bytes]).Select(c => char.IsControl(c) ? '.' : c));
    }

    /// <summary>*p: reads what a pointer points at, in memory at the current position.</summary>
    public object? Dereference(object? operand, DxUnary node)
    {
        if (operand is not DxObject { Underlying: Int128 address, Pointer: var (type, pointers) })
            throw new DxException($"'*' reads through a pointer: cast first, as in *(unsigned long*)0x404028, not {DxEvaluator.TypeName(operand)}", node.Offset, node.Length);
        var size = pointers > 1 ? 8 : DxTypes.SizeOf(type)!.Value;
        if (type == "void" && pointers == 1)
            throw new DxException("'*' cannot read through a void pointer: cast it to a type with a size", node.Offset, node.Length);
        Span<byte> bytes = stackalloc byte[8];
        bytes.Clear();
        var cursor = At();
        if (!cursor.TryReadMemory((ulong)address, bytes[..size]))
            throw new DxException($"memory at 0x{(ulong)address:x} (0x{size:x} bytes) is not mapped at position {cursor.Position}", node.Offset, node.Length);
        var value = BitConverter.ToUInt64(bytes);
        return pointers > 1 ? Pointer(value, type, pointers - 1) : DxTypes.Convert(value, size, DxTypes.IsSigned(type));
    }

    /// <summary>The thread that runs at the current position.</summary>
    DxObject CurrentThread()
    {
        var cursor = At();
        var uniqueId = cursor.Thread.UniqueId;
        var thread = session.Model.Threads.FirstOrDefault(t => t.UniqueId == uniqueId);
        var obj = thread is null ? new DxObject { Summary = $"TID: 0x{cursor.Thread.Tid:X}" } : Thread(thread);
        return obj.Property("Position", () => PositionObject(cursor.Position));
    }

    /// <summary>The address a symbol names (one address, or a one-line error saying why not).</summary>
    public Int128 SymbolAddress(DxSymbol symbol)
    {
        try
        {
            return session.Symbols.ResolveAddress(symbol.Name);
        }
        catch (FormatException e)
        {
            throw new DxException(e.Message, symbol.Offset, symbol.Length);
        }
    }

    DxObject CurrentSession() => new DxObject { Summary = null }
        .Property("TTD", () => new DxObject()
            .Method("Memory", Memory)
            .Method("Calls", Calls)
            .Property("Data", () => new DxObject()
                .Method("Heap", (arguments, call) =>
                {
                    DxEvaluator.Arity(call, arguments, 0);
                    var heap = session.Heap();
                    return new DxCollection(() => heap.Select(e => (object?)HeapObject(e)));
                })));

    DxObject HeapObject(HeapEvent e) => new DxObject()
        .Property("Action", e.Action.ToString())
        .Property("Address", (Int128)e.Address)
        .Property("Size", (Int128)e.Size)
        .Property("PreviousAddress", (Int128)e.PreviousAddress, shown: e.Action == HeapAction.ReAlloc)
        .Property("TimeStart", () => PositionObject(e.TimeStart))
        .Property("TimeEnd", () => PositionObject(e.TimeEnd))
        .Property("ThreadId", (Int128)e.ThreadId)
        .Property("Function", e.Function)
        .Property("CallStack", () => new DxCollection(() => e.CallStack.Select(a => (object?)(session.Symbols.Describe(a, e.TimeStart.Instruction) ?? $"0x{a:x}"))));

    /// <summary>TTD.Calls("module!function", ...): the calls of the functions the strings name.</summary>
    object? Calls(IReadOnlyList<object?> arguments, DxCall call)
    {
        if (arguments.Count == 0)
            throw new DxException("Calls() takes one or more functions as strings, such as \"libc.so.6!malloc\"", call.Offset, call.Length);
        var names = new string[arguments.Count];
        for (var i = 0; i < names.Length; i++)
            names[i] = arguments[i] as string ?? throw new DxException("a function is a string such as \"prog!main\" or \"libc!*alloc\"", call.Arguments[i].Offset, call.Arguments[i].Length);
        CallsQuery query;
        try
        {
            query = session.Calls(names);
        }
        catch (FormatException e)
        {
            throw new DxException(e.Message, call.Arguments[0].Offset, call.Arguments[^1].Offset + call.Arguments[^1].Length - call.Arguments[0].Offset);
        }
        return new DxCollection(() => query.Select(c => (object?)CallObject(c)));
    }

    DxObject CallObject(FunctionCall c)
    {
        var obj = new DxObject()
            .Property("EventType", c.EventType)
            .Property("ThreadId", (Int128)c.ThreadId)
            .Property("UniqueThreadId", (Int128)c.UniqueThreadId)
            .Property("TimeStart", () => PositionObject(c.TimeStart))
            .Property("TimeEnd", () => PositionObject(c.TimeEnd))
            .Property("Function", c.Function)
            .Property("FunctionAddress", (Int128)c.FunctionAddress)
            .Property("ReturnAddress", (Int128)c.ReturnAddress)
            .Property("ReturnValue", c.ReturnValue is { } value ? (Int128)value : null, shown: c.ReturnValue is not null)
            .Property("Parameters", () => new DxCollection(() => c.Parameters.Select(p => (object?)(Int128)p)));
        if (c.Signature is { } signature)
            obj.Property("ParameterNames", () => new DxCollection(() => signature.Parameters.Select(p => (object?)$"{p.Type} {p.Name}")));
        if (c.End != CallEnd.Returned)
            obj.Property("End", c.End.ToString());
        return obj;
    }

    object? Memory(IReadOnlyList<object?> arguments, DxCall call)
    {
        if (arguments.Count is not (2 or 3))
            throw new DxException($"Memory() takes a begin address, an end address and a mask such as \"rw\", not {arguments.Count} arguments", call.Offset, call.Length);
        var begin = Address(arguments[0], call.Arguments[0], "begin");
        var end = Address(arguments[1], call.Arguments[1], "end");
        var mask = arguments.Count == 3 ? arguments[2] as string ?? throw new DxException("the mask is a string such as \"rw\"", call.Arguments[2].Offset, call.Arguments[2].Length) : "rw";
        MemoryQuery query;
        try
        {
            query = session.Memory(begin, end, mask);
        }
        catch (FormatException e)
        {
            throw new DxException(e.Message, call.Arguments[^1].Offset, call.Arguments[^1].Length);
        }
        catch (ArgumentException e)
        {
            throw new DxException(e.Message, call.Arguments[0].Offset, call.Arguments[1].Offset + call.Arguments[1].Length - call.Arguments[0].Offset);
        }
        return new DxCollection(() => query.Select(access => (object?)Access(access)));
    }

    static ulong Address(object? value, DxNode node, string what) => value switch
    {
        Int128 n when n >= 0 && n <= ulong.MaxValue => (ulong)n,
        Int128 => throw new DxException($"the {what} address is outside 0 to 0xffffffffffffffff", node.Offset, node.Length),
        _ => throw new DxException($"the {what} address is a number, not {DxEvaluator.TypeName(value)}", node.Offset, node.Length),
    };

    DxObject Access(MemoryAccess access)
    {
        var obj = new DxObject()
            .Property("EventType", access.EventType)
            .Property("ThreadId", (Int128)access.ThreadId)
            .Property("UniqueThreadId", (Int128)access.UniqueThreadId)
            .Property("TimeStart", () => PositionObject(access.TimeStart))
            .Property("TimeEnd", () => PositionObject(access.TimeEnd))
            .Property("AccessType", access.AccessType.ToString())
            .Property("IP", (Int128)access.IP)
            .Property("Address", (Int128)access.Address)
            .Property("Size", (Int128)access.Size)
            .Property("Value", (Int128)access.Value)
            .Property("InstrCount", (Int128)access.InstrCount, shown: false);
        if (access.OverwrittenValue is { } overwritten)
            obj.Property("OverwrittenValue", (Int128)overwritten);
        return obj;
    }

    public DxObject PositionObject(Position position) => new DxObject { Summary = $"{position} [Time Travel]", Underlying = position }
        .Property("Sequence", (Int128)position.Sequence)
        .Property("Steps", (Int128)position.Steps)
        .Property("InstrCount", (Int128)position.Instruction, shown: false)
        .Method("SeekTo", (arguments, call) =>
        {
            DxEvaluator.Arity(call, arguments, 0);
            return SeekTo(position);
        });

    DxObject TimeRange(Position start, Position end) => new DxObject { Summary = $"[{start}, {end}]" }
        .Property("MinPosition", () => PositionObject(start))
        .Property("MaxPosition", () => PositionObject(end));

    public Position ResolvePosition(string text, DxNode node)
    {
        try
        {
            return session.Resolve(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
        {
            throw new DxException(e.Message, node.Offset, node.Length);
        }
    }

    DxObject CurrentProcess()
    {
        var model = session.Model;
        var (start, end) = session.Lifetime;
        return new DxObject { Summary = $"{model.Process.InitialName} ({model.Process.Id})" }
            .Property("Name", model.Process.InitialName)
            .Property("Id", (Int128)model.Process.Id)
            .Property("Modules", () => new DxCollection(() => model.Modules.Select(m => (object?)Module(m))))
            .Property("Threads", () => new DxCollection(() => model.Threads.Select(t => (object?)Thread(t))))
            .Property("TTD", () => new DxObject()
                .Property("Lifetime", () => TimeRange(start, end))
                .Property("Events", () => new DxCollection(() => model.Events.Select(e => (object?)Event(e))))
                .Property("Threads", () => new DxCollection(() => model.Threads.Select(t => (object?)Thread(t)))));
    }

    DxObject Module(ModuleInfo module) => new DxObject { Summary = module.Path }
        .Property("Name", module.Name)
        .Property("BaseAddress", (Int128)module.Address)
        .Property("Size", (Int128)module.Size)
        .Property("Path", module.Path)
        .Property("Loaded", () => PositionObject(module.Loaded))
        .Property("Unloaded", () => module.Unloaded is { } unloaded ? PositionObject(unloaded) : null, shown: module.Unloaded is not null);

    DxObject Thread(ThreadInfo thread) => new DxObject { Summary = $"UID: {thread.UniqueId}, TID: 0x{thread.Id:X}" }
        .Property("UniqueId", (Int128)thread.UniqueId)
        .Property("Id", (Int128)thread.Id)
        .Property("Lifetime", () => TimeRange(thread.Lifetime.Start, thread.Lifetime.End))
        .Property("ActiveTime", () => TimeRange(thread.ActiveTime.Start, thread.ActiveTime.End));

    DxObject Event(TimelineEvent e)
    {
        var obj = new DxObject { Summary = $"{e.Type} at {e.Position}" }
            .Property("Type", e.Type.ToString())
            .Property("Position", () => PositionObject(e.Position));
        if (e.Thread is { } thread)
            obj.Property("Thread", () => Thread(thread));
        if (e.Module is { } module)
            obj.Property("Module", () => Module(module));
        if (e.Exception is { } exception)
        {
            obj.Property("Exception", () => new DxObject { Summary = exception.Name }
                .Property("Name", exception.Name)
                .Property("Code", (Int128)exception.Code)
                .Property("ProgramCounter", (Int128)exception.ProgramCounter)
                .Property("Address", (Int128)exception.Address)
                .Property("SignalCode", (Int128)exception.SignalCode)
                .Property("Handled", exception.Handled ? "true" : "false"));
        }
        if (e.ProcessId is { } pid)
            obj.Property("ProcessId", (Int128)pid);
        if (e.ExitCode is { } code)
            obj.Property("ExitCode", (Int128)code);
        return obj;
    }

    public DxText TravelTo(string position) => SeekTo(ResolvePosition(position, new DxString(position, 0, position.Length)));

    /// <summary>Moves the session's cursor to <paramref name="position"/> and describes the state there as WinDbg does.</summary>
    DxText SeekTo(Position position)
    {
        if (Cursor is null)
            Cursor = session.SeekTo(position);
        else
            Cursor.SeekTo(position);
        return new DxText(RegisterDisplay(Cursor, session));
    }

    /// <summary>
    /// WinDbg's display after a time-travel seek: the position, the x64 registers, the flags by
    /// name, the segment registers (Linux user mode's: cs 0x33, ss 0x2b, others 0), then the
    /// instruction at rip with its address, bytes, disassembly and the memory operand it reads or writes.
    /// </summary>
    public static IReadOnlyList<string> RegisterDisplay(TraceCursor cursor, TraceSession session)
    {
        string R(X86Register register) => cursor.Register(register).ToString("x16", CultureInfo.InvariantCulture);
        // The engine does not model IF; Linux runs user code with interrupts enabled, as a debugger shows.
        var flags = cursor.Register(X86Register.Eflags) | 0x200;
        var pid = session.Trace.Header.ProcessId.ToString("x", CultureInfo.InvariantCulture);
        var tid = cursor.Thread.Tid.ToString("x", CultureInfo.InvariantCulture);
        var lines = new List<string>
        {
            $"({pid}.{tid}): Break instruction exception - code 80000003 (first/second chance not available)",
            $"Time Travel Position: {cursor.Position}",
            $"rax={R(X86Register.Rax)} rbx={R(X86Register.Rbx)} rcx={R(X86Register.Rcx)}",
            $"rdx={R(X86Register.Rdx)} rsi={R(X86Register.Rsi)} rdi={R(X86Register.Rdi)}",
            $"rip={R(X86Register.Rip)} rsp={R(X86Register.Rsp)} rbp={R(X86Register.Rbp)}",
            $" r8={R(X86Register.R8)}  r9={R(X86Register.R9)} r10={R(X86Register.R10)}",
            $"r11={R(X86Register.R11)} r12={R(X86Register.R12)} r13={R(X86Register.R13)}",
            $"r14={R(X86Register.R14)} r15={R(X86Register.R15)}",
            $"{"iopl=" + ((flags >> 12) & 3).ToString(CultureInfo.InvariantCulture),-15}{FlagNames(flags)}",
            $"cs=0033  ss=002b  ds=0000  es=0000  fs=0000  gs=0000             efl={flags & 0xffffffff:x8}",
        };
        var rip = cursor.Register(X86Register.Rip);
        if (session.Symbols.Describe(rip, cursor.Instruction) is { } where)
            lines.Add(where + ":");
        var instruction = cursor.CurrentInstruction();
        var space = instruction.Text.IndexOf(' ', StringComparison.Ordinal);
        var text = space < 0 ? instruction.Text : $"{instruction.Text[..space],-7} {instruction.Text[(space + 1)..]}";
        lines.Add($"{Address(rip)} {instruction.BytesText,-15} {text}{MemoryOperand(cursor, instruction)}");
        return lines;
    }

    /// <summary>A 64-bit address as WinDbg writes it: 00000000`004011d6.</summary>
    public static string Address(ulong address) => $"{address >> 32:x8}`{address & 0xffffffff:x8}";

    /// <summary>WinDbg's flag names: overflow, direction, interrupt, sign, zero, auxiliary carry, parity, carry.</summary>
    public static string FlagNames(ulong flags)
    {
        bool Set(int bit) => (flags & (1UL << bit)) != 0;
        return string.Join(' ',
            Set(11) ? "ov" : "nv", Set(10) ? "dn" : "up", Set(9) ? "ei" : "di", Set(7) ? "ng" : "pl",
            Set(6) ? "zr" : "nz", Set(4) ? "ac" : "na", Set(2) ? "pe" : "po", Set(0) ? "cy" : "nc");
    }

    /// <summary>" ds:00000000`004a7300=1122334455667788" for an instruction with an explicit memory operand.</summary>
    static string MemoryOperand(TraceCursor cursor, DecodedInstruction decoded)
    {
        if (decoded.Bytes.Length == 0)
            return "";
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(decoded.Bytes), decoded.Address);
        decoder.Decode(out var instruction);
        if (instruction.Mnemonic is Mnemonic.Lea or Mnemonic.Nop)
            return "";
        for (var operand = 0; operand < instruction.OpCount; operand++)
        {
            if (instruction.GetOpKind(operand) != OpKind.Memory)
                continue;
            var address = instruction.GetVirtualAddress(operand, 0, (register, _, _) => RegisterValue(cursor, register));
            var size = Math.Min(instruction.MemorySize.GetSize(), 16);
            var segment = instruction.MemorySegment.ToString().ToLowerInvariant();
            var bytes = new byte[Math.Max(size, 1)];
            var value = size > 0 && cursor.TryReadMemory(address, bytes)
                ? string.Concat(bytes.Reverse().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)))
                : "????????";
            return $" {segment}:{Address(address)}={value}";
        }
        return "";
    }

    static ulong RegisterValue(TraceCursor cursor, Register register)
    {
        if (register == Register.None)
            return 0;
        if (register == Register.FS)
            return cursor.Register(X86Register.FsBase);
        if (register == Register.GS)
            return cursor.Register(X86Register.GsBase);
        if (register is Register.ES or Register.CS or Register.SS or Register.DS)
            return 0;
        if (register == Register.RIP)
            return cursor.Register(X86Register.Rip);
        var full = register.GetFullRegister();
        var value = full switch
        {
            Register.RAX => cursor.Register(X86Register.Rax),
            Register.RBX => cursor.Register(X86Register.Rbx),
            Register.RCX => cursor.Register(X86Register.Rcx),
            Register.RDX => cursor.Register(X86Register.Rdx),
            Register.RSI => cursor.Register(X86Register.Rsi),
            Register.RDI => cursor.Register(X86Register.Rdi),
            Register.RBP => cursor.Register(X86Register.Rbp),
            Register.RSP => cursor.Register(X86Register.Rsp),
            Register.R8 => cursor.Register(X86Register.R8),
            Register.R9 => cursor.Register(X86Register.R9),
            Register.R10 => cursor.Register(X86Register.R10),
            Register.R11 => cursor.Register(X86Register.R11),
            Register.R12 => cursor.Register(X86Register.R12),
            Register.R13 => cursor.Register(X86Register.R13),
            Register.R14 => cursor.Register(X86Register.R14),
            Register.R15 => cursor.Register(X86Register.R15),
            _ => 0UL,
        };
        return register.GetSize() switch
        {
            4 => value & 0xffffffff,
            2 => value & 0xffff,
            1 => value & 0xff,
            _ => value,
        };
    }
}
