namespace Rewind.Linux.Execution;

/// <summary>
/// Every input that can differ from one run to the next and does not come from a syscall
/// result passes through here: random bytes, clocks, identity. A recorder logs these.
/// </summary>
public class Nondeterminism
{
    /// <summary>
    /// Fills <paramref name="destination"/> from the host's getrandom, as the guest's own getrandom would have
    /// (.NET's RandomNumberGenerator would load OpenSSL, a tenth of the start-up time of a short run).
    /// </summary>
    public virtual unsafe void Random(Span<byte> destination)
    {
        fixed (byte* bytes = destination)
        {
            for (var filled = 0; filled < destination.Length;)
            {
                var result = Host.HostSyscall.Invoke(Syscalls.SyscallNumber.getrandom, (long)(bytes + filled), destination.Length - filled);
                if (result < 0 && result != -Errno.EINTR)
                    throw new IOException($"getrandom failed: errno {-result}");
                filled += (int)Math.Max(result, 0);
            }
        }
    }

    /// <summary>Value of the time stamp counter for RDTSC.</summary>
    public virtual ulong TimeStampCounter() => (ulong)System.Diagnostics.Stopwatch.GetTimestamp();

    public virtual int ProcessId => System.Environment.ProcessId;

    public virtual (uint Uid, uint Gid) User => (Host.HostIdentity.Uid, Host.HostIdentity.Gid);
}
