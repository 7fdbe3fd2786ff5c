using System.Buffers;
using Rewind.Engine;
using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// Hands a guest buffer to a host operation: directly when the buffer lies in one mapping (the
/// common case, no copy), else through a bounce buffer. Guest permissions are checked first, so
/// a bad pointer is EFAULT before anything is consumed from a pipe or file.
/// </summary>
internal static unsafe class GuestBuffer
{
    const ulong BounceLimit = 64 << 20;

    public delegate long HostOperation(byte* buffer, ulong length);

    /// <summary>Runs <paramref name="operation"/>, which fills a buffer, and delivers its result bytes into guest memory.</summary>
    public static long Into(GuestProcess p, ulong address, ulong length, HostOperation operation)
    {
        if (length == 0)
            return operation(null, 0);
        if (!p.Memory.IsAccessible(address, length, Protection.Write))
            return -Errno.EFAULT;
        var direct = p.Memory.HostPointer(address, length, Protection.Write);
        if (direct != null)
        {
            var written = operation(direct, length);
            if (written > 0)
                p.Memory.NoteKernelWrite(address, (ulong)written);
            return written;
        }
        length = Math.Min(length, BounceLimit);
        var bounce = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            fixed (byte* buffer = bounce)
            {
                var result = operation(buffer, length);
                if (result > 0)
                    p.Memory.Write(address, bounce.AsSpan(0, (int)result));
                return result;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bounce);
        }
    }

    /// <summary>Runs <paramref name="operation"/> on the guest bytes at [address, address+length).</summary>
    public static long From(GuestProcess p, ulong address, ulong length, HostOperation operation)
    {
        if (length == 0)
            return operation(null, 0);
        if (!p.Memory.IsAccessible(address, length, Protection.Read))
            return -Errno.EFAULT;
        var direct = p.Memory.HostPointer(address, length, Protection.Read);
        if (direct != null)
            return operation(direct, length);
        length = Math.Min(length, BounceLimit);
        var bounce = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            p.Memory.Read(address, bounce.AsSpan(0, (int)length));
            fixed (byte* buffer = bounce)
                return operation(buffer, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bounce);
        }
    }

    /// <summary>A fixed-size structure the kernel fills: runs the host call on a local copy and writes it out.</summary>
    public static long Struct(GuestProcess p, ulong address, int size, HostOperation operation)
    {
        if (!p.Memory.IsAccessible(address, (ulong)size, Protection.Write))
            return -Errno.EFAULT;
        var local = stackalloc byte[size];
        var result = operation(local, (ulong)size);
        if (result >= 0)
            p.Memory.Write(address, new ReadOnlySpan<byte>(local, size));
        return result;
    }

    /// <summary>Reads an iovec array: (base, length) pairs.</summary>
    public static (ulong Base, ulong Length)[]? IoVectors(GuestProcess p, ulong address, int count)
    {
        if (count < 0 || count > 1024)
            return null;
        var vectors = new (ulong, ulong)[count];
        for (var i = 0; i < count; i++)
        {
            if (!p.Memory.TryRead(address + (ulong)i * 16, out ulong iovBase) || !p.Memory.TryRead(address + (ulong)i * 16 + 8, out ulong iovLength))
                return null;
            vectors[i] = (iovBase, iovLength);
        }
        return vectors;
    }
}
