using System.IO.Hashing;
using Rewind.Engine;
using Rewind.Linux.Memory;

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
            // Untouched pages are zeros: hashed as such without reading them, which would map a page at each.
            var untouched = UntouchedPages.In(mapping);
            for (var i = 0; i < untouched.Length; i++)
                hash.Append(untouched[i] ? UntouchedPages.ZeroPage : new ReadOnlySpan<byte>(mapping.Host + (ulong)i * AddressSpace.PageSize, (int)AddressSpace.PageSize));
        }
        return hash.GetCurrentHashAsUInt128();
    }
}
