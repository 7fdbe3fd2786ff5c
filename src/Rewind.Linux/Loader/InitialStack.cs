using System.Text;
using Rewind.Engine;
using Rewind.Linux.Memory;

namespace Rewind.Linux.Loader;

/// <summary>Builds the stack a new program starts with: argc, argv, envp and the auxiliary vector.</summary>
public static class InitialStack
{
    public const ulong Size = 8 << 20; // RLIMIT_STACK default

    // Auxiliary vector keys (linux/auxvec.h).
    const ulong AtNull = 0, AtPhdr = 3, AtPhent = 4, AtPhnum = 5, AtPagesz = 6, AtBase = 7, AtFlags = 8, AtEntry = 9,
        AtUid = 11, AtEuid = 12, AtGid = 13, AtEgid = 14, AtPlatform = 15, AtHwcap = 16, AtClktck = 17, AtSecure = 23,
        AtRandom = 25, AtHwcap2 = 26, AtExecfn = 31;

    /// <summary>Maps the stack and fills it; returns the initial stack pointer and where it put what.</summary>
    public static InitialStackLayout Build(AddressSpace memory, LoadedImage program, ulong interpreterBase, string execFileName,
        IReadOnlyList<string> arguments, IReadOnlyList<string> environment, ReadOnlySpan<byte> random, Credentials credentials, uint hardwareCapabilities)
    {
        var bottom = AddressSpace.UserTop - Size;
        if (memory.Map(bottom, Size, Protection.Read | Protection.Write, fixedAddress: true, shared: false, label: "[stack]") < 0)
            throw new InvalidOperationException("cannot map the initial stack");

        // Strings and the random bytes go at the top, as the kernel places them.
        var top = AddressSpace.UserTop - 8;
        ulong Push(ReadOnlySpan<byte> bytes)
        {
            top -= (ulong)bytes.Length;
            memory.Write(top, bytes);
            return top;
        }
        ulong PushString(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text + "\0");
            return Push(bytes);
        }

        var execFn = PushString(execFileName);
        var environmentPointers = environment.Reverse().Select(PushString).Reverse().ToArray();
        var environmentStart = top;
        var argumentPointers = arguments.Reverse().Select(PushString).Reverse().ToArray();
        var argumentStart = top;
        var platform = PushString("x86_64");
        top &= ~15UL;
        var randomAddress = Push(random[..16]);

        var auxv = new (ulong Key, ulong Value)[]
        {
            (AtPhdr, program.ProgramHeaders), (AtPhent, 56), (AtPhnum, (ulong)program.ProgramHeaderCount),
            (AtPagesz, AddressSpace.PageSize), (AtBase, interpreterBase), (AtFlags, 0), (AtEntry, program.Entry),
            (AtUid, credentials.Uid), (AtEuid, credentials.Uid), (AtGid, credentials.Gid), (AtEgid, credentials.Gid),
            (AtPlatform, platform), (AtHwcap, hardwareCapabilities), (AtClktck, 100), (AtSecure, 0),
            (AtRandom, randomAddress), (AtHwcap2, 0), (AtExecfn, execFn), (AtNull, 0),
        };

        var words = new List<ulong> { (ulong)arguments.Count };
        words.AddRange(argumentPointers);
        words.Add(0);
        words.AddRange(environmentPointers);
        words.Add(0);
        foreach (var (key, value) in auxv)
        {
            words.Add(key);
            words.Add(value);
        }

        top = (top - (ulong)words.Count * 8) & ~15UL;
        var block = new byte[words.Count * 8];
        for (var i = 0; i < words.Count; i++)
            BitConverter.TryWriteBytes(block.AsSpan(i * 8), words[i]);
        memory.Write(top, block);
        var auxvBytes = block.AsSpan((words.Count - auxv.Length * 2) * 8).ToArray();
        return new InitialStackLayout(top, argumentStart, environmentStart, environmentStart, execFn, auxvBytes);
    }
}

/// <summary>
/// The initial stack as the kernel remembers it for /proc/PID: the stack pointer, where the argument and
/// environment strings lie ([start, end), as cmdline and environ read them), and the auxiliary vector (auxv).
/// </summary>
public sealed record InitialStackLayout(ulong StackPointer, ulong ArgumentsStart, ulong ArgumentsEnd, ulong EnvironmentStart, ulong EnvironmentEnd, byte[] Auxv)
{
    public static readonly InitialStackLayout None = new(0, 0, 0, 0, 0, []);
}

/// <summary>User and group the guest runs as.</summary>
public readonly record struct Credentials(uint Uid, uint Gid);
