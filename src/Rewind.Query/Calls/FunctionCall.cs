using Rewind.Query.Symbols;
using Rewind.Trace.Positions;

namespace Rewind.Query.Calls;

/// <summary>How a call's frame was left.</summary>
public enum CallEnd
{
    /// <summary>The function returned to its return address.</summary>
    Returned,
    /// <summary>The stack was unwound past the frame without a return (longjmp, an exception).</summary>
    Unwound,
    /// <summary>The trace ended (the program exited, or its thread or the recording ended) inside the call.</summary>
    NeverReturned,
}

/// <summary>
/// One call of a function, as TTD.Calls reports it: the thread, the call (<see cref="TimeStart"/>,
/// the function's first instruction) and the return (<see cref="TimeEnd"/>, the instruction at the
/// return address), the function and where it returns to, its return value (rax) and its
/// parameters by the System V ABI (rdi, rsi, rdx, rcx, r8, r9, then the stack): as many as DWARF
/// declares, else <see cref="CallsQuery.DefaultParameterCount"/>. A call that never returned has
/// <see cref="TimeEnd"/> where its frame was left and says how in <see cref="End"/>.
/// </summary>
public sealed record FunctionCall
{
#pragma warning disable CA1822 // an instance property, as TTD shows it with each call
    public string EventType => "Call";
#pragma warning restore CA1822

    public required int ThreadId { get; init; }
    public required int UniqueThreadId { get; init; }
    public required Position TimeStart { get; init; }
    public required Position TimeEnd { get; init; }

    /// <summary>module!symbol.</summary>
    public required string Function { get; init; }

    public required ulong FunctionAddress { get; init; }
    public required ulong ReturnAddress { get; init; }

    /// <summary>rax at the return; null when the call did not return.</summary>
    public ulong? ReturnValue { get; init; }

    public required IReadOnlyList<ulong> Parameters { get; init; }

    /// <summary>The declared parameters (names and types) when DWARF has them.</summary>
    public FunctionSignature? Signature { get; init; }

    public required CallEnd End { get; init; }

    /// <summary>The return addresses of the frames that made the call, innermost (<see cref="ReturnAddress"/>) first; filled only when asked for.</summary>
    public IReadOnlyList<ulong> CallStack { get; init; } = [];

    /// <summary>For functions that return a result through their first parameter (posix_memalign), the 8 bytes it points at after the return.</summary>
    public ulong? StoredResult { get; init; }

    /// <summary>rsp at the function's first instruction (the return address is stored there).</summary>
    public required ulong StackPointer { get; init; }
}
