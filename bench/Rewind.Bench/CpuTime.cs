using System.Runtime.InteropServices;

namespace Rewind.Bench;

/// <summary>CPU time of child processes, which a wall-clock time on a shared machine does not show.</summary>
internal static partial class CpuTime
{
    const int ChildrenOnly = -1; // RUSAGE_CHILDREN

    /// <summary>
    /// User plus system time, in seconds, of every child process that has ended and been waited for,
    /// with the children they waited for: the difference across one run is that run's CPU time.
    /// </summary>
    public static double OfEndedChildren()
    {
        // struct rusage on x86-64: ru_utime and ru_stime (each seconds, microseconds), then 14 counters.
        Span<long> usage = stackalloc long[18];
        if (getrusage(ChildrenOnly, usage) != 0)
            throw new BenchException($"getrusage failed (errno {Marshal.GetLastPInvokeError()})");
        return usage[0] + usage[1] / 1e6 + usage[2] + usage[3] / 1e6;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrusage(int who, Span<long> usage);
}
