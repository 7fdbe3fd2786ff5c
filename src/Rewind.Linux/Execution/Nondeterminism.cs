using System.Security.Cryptography;

namespace Rewind.Linux.Execution;

/// <summary>
/// Every input that can differ from one run to the next and does not come from a syscall
/// result passes through here: random bytes, clocks, identity. A recorder logs these.
/// </summary>
public class Nondeterminism
{
    public virtual void Random(Span<byte> destination) => RandomNumberGenerator.Fill(destination);

    /// <summary>Value of the time stamp counter for RDTSC.</summary>
    public virtual ulong TimeStampCounter() => (ulong)System.Diagnostics.Stopwatch.GetTimestamp();

    public virtual int ProcessId => System.Environment.ProcessId;

    public virtual (uint Uid, uint Gid) User => (Host.HostIdentity.Uid, Host.HostIdentity.Gid);
}
