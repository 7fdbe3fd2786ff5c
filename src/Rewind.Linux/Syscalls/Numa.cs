using Rewind.Engine;
using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// numaif.h: memory policies. The guest's memory is one node's (node 0), as on a machine without NUMA: every policy
/// is checked and accepted, and get_mempolicy reports the default policy and node 0.
/// </summary>
internal static partial class Numa
{
    const int ModeDefault = 0, ModePreferred = 1, ModeBind = 2, ModeInterleave = 3, ModeLocal = 4, ModePreferredMany = 5, ModeWeightedInterleave = 6;
    const int ModeFlags = 1 << 15 | 1 << 14 | 1 << 13; // MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES, MPOL_F_NUMA_BALANCING
    const int FlagNode = 1, FlagAddress = 2, FlagMemsAllowed = 4;

    [Syscall(SyscallNumber.get_mempolicy)]
    static long GetPolicy(GuestProcess p, in SyscallArgs a)
    {
        var (mode, nodes, maxNode, address, flags) = (a.A0, a.A1, a.A2, a.A3, a.Int(4));
        if ((flags & ~(FlagNode | FlagAddress | FlagMemsAllowed)) != 0 || (flags & FlagMemsAllowed) != 0 && (flags & (FlagNode | FlagAddress)) != 0)
            return -Errno.EINVAL;
        if ((flags & FlagAddress) != 0 && p.Memory.Find(address) is null)
            return -Errno.EFAULT;
        if ((flags & FlagAddress) == 0 && address != 0)
            return -Errno.EINVAL;
        // With MPOL_F_NODE the mode word receives a node number: 0 either way.
        if (mode != 0 && !p.Memory.TryWrite(mode, ModeDefault))
            return -Errno.EFAULT;
        return nodes == 0 ? 0 : WriteNodes(p, nodes, maxNode, allowed: (flags & FlagMemsAllowed) != 0);
    }

    /// <summary>A nodemask of maxnode bits: node 0 for the allowed set, none for the default policy's.</summary>
    static long WriteNodes(GuestProcess p, ulong address, ulong maxNode, bool allowed)
    {
        if (maxNode == 0)
            return -Errno.EINVAL;
        var words = (maxNode + 63) / 64;
        if (words > 1024)
            return -Errno.EINVAL;
        var mask = new byte[words * 8];
        if (allowed)
            mask[0] = 1;
        return p.Memory.Write(address, mask) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.set_mempolicy)]
    static long SetPolicy(GuestProcess p, in SyscallArgs a) => CheckPolicy(p, a.Int(0), a.A1, a.A2);

    [Syscall(SyscallNumber.mbind)]
    static long Bind(GuestProcess p, in SyscallArgs a)
    {
        var (address, length) = (a.A0, a.A1);
        if ((address & (Memory.AddressSpace.PageSize - 1)) != 0)
            return -Errno.EINVAL;
        var policy = CheckPolicy(p, a.Int(2), a.A3, a.A4);
        if (policy < 0)
            return policy;
        return length == 0 || p.Memory.IsAccessible(address, Memory.AddressSpace.PageUp(length), Protection.None) ? 0 : -Errno.EFAULT;
    }

    [Syscall(SyscallNumber.set_mempolicy_home_node)]
    static long SetHomeNode(GuestProcess p, in SyscallArgs a) => a.A2 == 0 ? 0 : -Errno.EINVAL; // home node 0 only

    /// <summary>A known mode whose nodemask, when one is needed, names node 0 (the only node there is).</summary>
    static long CheckPolicy(GuestProcess p, int modeWithFlags, ulong nodes, ulong maxNode)
    {
        var mode = modeWithFlags & ~ModeFlags;
        if (mode is < ModeDefault or > ModeWeightedInterleave)
            return -Errno.EINVAL;
        if (mode is ModeDefault or ModeLocal)
            return 0;
        if (nodes == 0 || maxNode == 0)
            return mode == ModePreferred ? 0 : -Errno.EINVAL;
        if (!p.Memory.TryRead(nodes, out byte first))
            return -Errno.EFAULT;
        return (first & 1) != 0 ? 0 : -Errno.EINVAL; // a mask of nodes there are not
    }
}
