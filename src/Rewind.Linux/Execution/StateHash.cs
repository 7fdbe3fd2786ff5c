using System.IO.Hashing;
using Rewind.Engine;

namespace Rewind.Linux.Execution;

/// <summary>
/// One hash of the whole guest state: registers (of every thread), the mapping list and every mapped byte. Equal
/// hashes at the end of a recording and of its replay mean the replay reached the same state.
/// </summary>
public static unsafe class StateHash
{
    public static UInt128 Of(GuestProcess process)
    {
        var hash = new XxHash128();
        hash.Append(RegisterFile.Capture(process.Cpu));
        foreach (var thread in process.Threads)
            hash.Append(thread.Context ?? []);
        Span<ulong> header = stackalloc ulong[3];
        foreach (var area in process.Memory.Areas)
        {
            header[0] = area.Start;
            header[1] = area.End;
            header[2] = (ulong)area.Protection;
            hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(header));
        }
        foreach (var mapping in process.Memory.Mappings)
        {
            for (var offset = 0UL; offset < mapping.Length; offset += 1 << 20)
                hash.Append(new ReadOnlySpan<byte>(mapping.Host + offset, (int)Math.Min(1UL << 20, mapping.Length - offset)));
        }
        return hash.GetCurrentHashAsUInt128();
    }
}
