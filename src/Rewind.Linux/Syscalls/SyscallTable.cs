using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>Marks a handler for one syscall; handlers live in one class per family, named after its Linux header.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class SyscallAttribute(SyscallNumber number) : Attribute
{
    public SyscallNumber Number { get; } = number;
}

/// <summary>The six argument registers of a syscall (rdi, rsi, rdx, r10, r8, r9), with typed views.</summary>
public readonly record struct SyscallArgs(ulong A0, ulong A1, ulong A2, ulong A3, ulong A4, ulong A5)
{
    public ulong this[int index] => index switch { 0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, _ => A5 };

    public int Int(int index) => (int)this[index];

    public long Long(int index) => (long)this[index];
}

public delegate long SyscallHandler(GuestProcess process, in SyscallArgs args);

/// <summary>The kernel's name of each syscall number; coverage listings come from here too.</summary>
public static partial class SyscallNames
{
    public static string Name(long number) =>
        number >= 0 && number < Table.Length && Table[number] is { } name ? name : "unknown";

    public static IEnumerable<(int Number, string Name)> All =>
        Table.Select((name, number) => (number, name)).Where(e => e.name is not null).Select(e => (e.number, e.name!));
}

/// <summary>
/// The handler of each syscall number, entered by code that Rewind.Generators writes from the [Syscall]
/// attributes; a number without one is unsupported and answers -ENOSYS.
/// </summary>
public static partial class SyscallTable
{
    static readonly SyscallHandler?[] Handlers = Build();

    public static SyscallHandler? Find(long number) =>
        number >= 0 && number < Handlers.Length ? Handlers[number] : null;

    public static bool IsImplemented(int number) => Find(number) is not null;

    static SyscallHandler?[] Build()
    {
        var handlers = new SyscallHandler?[512];
        EnterAllHandlers(handlers);
        return handlers;
    }

    static partial void EnterAllHandlers(SyscallHandler?[] handlers);
}
