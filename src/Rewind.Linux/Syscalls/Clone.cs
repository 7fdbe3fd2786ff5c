using Rewind.Engine;
using Rewind.Linux.Execution;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// linux/sched.h: clone and clone3, for threads (what pthread_create asks for) and processes (fork,
/// vfork, posix_spawn), and the fork and vfork syscalls. A new thread or process starts from the
/// caller's registers, returning 0 from the syscall, on the stack and TLS it was given. A vfork child
/// (CLONE_VM with CLONE_VFORK) gets a copy of the memory, as after fork: what it may do before its
/// exec (set up descriptors, write on its own stack) then cannot reach the parent.
/// </summary>
internal static partial class Clone
{
    const ulong CloneVm = 0x100, CloneFs = 0x200, CloneFiles = 0x400, CloneSighand = 0x800, CloneVfork = 0x4000, CloneThread = 0x10000;
    const ulong CloneSysvsem = 0x40000, CloneSettls = 0x80000, CloneParentSettid = 0x100000, CloneChildCleartid = 0x200000;
    const ulong CloneDetached = 0x400000, CloneChildSettid = 0x1000000;
    const ulong ExitSignalMask = 0xff; // ignored for threads, as Linux ignores it with CLONE_THREAD

    /// <summary>What makes a clone a thread of this process: everything shared.</summary>
    const ulong ThreadFlags = CloneVm | CloneFs | CloneFiles | CloneSighand | CloneThread;

    const ulong SupportedFlags = ThreadFlags | CloneSysvsem | CloneSettls | CloneParentSettid | CloneChildCleartid | CloneDetached | CloneChildSettid;

    /// <summary>What a new process may ask for: a vfork, and the tid and TLS words of its one thread.</summary>
    const ulong ProcessFlags = CloneVm | CloneVfork | CloneSettls | CloneParentSettid | CloneChildCleartid | CloneChildSettid;

    [Syscall(SyscallNumber.clone)]
    static long CloneThreadOrProcess(GuestProcess p, in SyscallArgs a) =>
        Start(p, "clone", a.A0 & ~ExitSignalMask, stackTop: a.A1, parentTid: a.A2, childTid: a.A3, tls: a.A4);

    [Syscall(SyscallNumber.fork)]
    static long ForkProcess(GuestProcess p, in SyscallArgs a) => StartProcess(p, "fork", 0, 0, 0, 0, 0);

    [Syscall(SyscallNumber.vfork)]
    static long VforkProcess(GuestProcess p, in SyscallArgs a) => StartProcess(p, "vfork", CloneVm | CloneVfork, 0, 0, 0, 0);

    /// <summary>clone3(struct clone_args *, size): the same as clone, with the stack given as base and size.</summary>
    [Syscall(SyscallNumber.clone3)]
    static long Clone3(GuestProcess p, in SyscallArgs a)
    {
        const int FirstVersionSize = 64; // CLONE_ARGS_SIZE_VER0: up to and including tls
        if (a.A1 < FirstVersionSize || a.A1 > 4096)
            return -Errno.EINVAL;
        Span<ulong> fields = stackalloc ulong[8];
        for (var i = 0; i < fields.Length; i++)
        {
            if (!p.Memory.TryRead(a.A0 + (ulong)i * 8, out fields[i]))
                return -Errno.EFAULT;
        }
        // fields[1], the pidfd pointer, is used only with CLONE_PIDFD, which is not supported.
        var (flags, childTid, parentTid, exitSignal, stack, stackSize, tls) =
            (fields[0], fields[2], fields[3], fields[4], fields[5], fields[6], fields[7]);
        // Newer fields (set_tid, cgroup) must be zero when this version does not know them.
        for (var offset = (ulong)FirstVersionSize; offset < a.A1; offset += 8)
        {
            if (!p.Memory.TryRead(a.A0 + offset, out ulong extra))
                return -Errno.EFAULT;
            if (extra != 0)
                return Unsupported(p, "clone3", flags, "set_tid or cgroup");
        }
        if (exitSignal > 64)
            return -Errno.EINVAL;
        return Start(p, "clone3", flags, stackTop: stack == 0 ? 0 : stack + stackSize, parentTid, childTid, tls);
    }

    static long Start(GuestProcess p, string syscall, ulong flags, ulong stackTop, ulong parentTid, ulong childTid, ulong tls) =>
        (flags & CloneThread) != 0
            ? StartThread(p, syscall, flags, stackTop, parentTid, childTid, tls)
            : StartProcess(p, syscall, flags, stackTop, parentTid, childTid, tls);

    static long StartThread(GuestProcess p, string syscall, ulong flags, ulong stackTop, ulong parentTid, ulong childTid, ulong tls)
    {
        if ((flags & ThreadFlags) != ThreadFlags || (flags & ~SupportedFlags) != 0)
            return Unsupported(p, syscall, flags, "a thread must share memory, descriptors and signal actions with its process");

        var context = ChildRegisters(p, stackTop, flags, tls);
        var tid = p.AllocateTid();
        if ((flags & CloneParentSettid) != 0 && !p.Memory.TryWrite(parentTid, tid))
            return -Errno.EFAULT;
        if ((flags & CloneChildSettid) != 0 && !p.Memory.TryWrite(childTid, tid))
            return -Errno.EFAULT;
        var thread = p.AddThread(tid, p.NextUniqueThreadId, context, p.Signals.BlockedMask);
        if ((flags & CloneChildCleartid) != 0)
            thread.ClearChildTid = childTid;
        p.Scheduler.Added();
        return tid;
    }

    /// <summary>
    /// A new process, a copy of the caller (fork), whose one thread returns 0 from the syscall. Its
    /// CLONE_CHILD_SETTID word is written in the child's memory, CLONE_PARENT_SETTID's in the parent's.
    /// </summary>
    static long StartProcess(GuestProcess p, string syscall, ulong flags, ulong stackTop, ulong parentTid, ulong childTid, ulong tls)
    {
        if ((flags & ~ProcessFlags) != 0 || (flags & (CloneVm | CloneVfork)) == CloneVm)
            return Unsupported(p, syscall, flags, "a new process can share neither descriptors nor signal actions, nor memory outside a vfork");
        var context = ChildRegisters(p, stackTop, flags, tls);
        var pid = p.AllocateTid();
        if ((flags & CloneParentSettid) != 0 && !p.Memory.TryWrite(parentTid, pid))
            return -Errno.EFAULT;
        var setTid = (flags & CloneChildSettid) != 0 ? childTid : 0;
        var clearTid = (flags & CloneChildCleartid) != 0 ? childTid : 0;
        if (p.Fork(pid, p.NextUniqueThreadId, context, setTid, clearTid) is null)
            return -Errno.ENOMEM;
        p.Scheduler.Added();
        return pid;
    }

    /// <summary>
    /// The registers a new thread or process starts with: the caller's, returning 0 from the syscall,
    /// on the stack and TLS it was given (when given).
    /// </summary>
    static byte[] ChildRegisters(GuestProcess p, ulong stackTop, ulong flags, ulong tls)
    {
        var context = RegisterFile.Capture(p.Cpu);
        // The syscall hook runs before the instruction completes: the child resumes after it, as the
        // parent does, with RCX and R11 as the syscall instruction sets them.
        var resume = p.Cpu.Read(X86Register.Rip) + 2;
        RegisterFile.Set(context, X86Register.Rax, 0);
        RegisterFile.Set(context, X86Register.Rip, resume);
        RegisterFile.Set(context, X86Register.Rcx, resume);
        RegisterFile.Set(context, X86Register.R11, p.Cpu.Read(X86Register.Eflags));
        if (stackTop != 0)
            RegisterFile.Set(context, X86Register.Rsp, stackTop);
        if ((flags & CloneSettls) != 0)
            RegisterFile.Set(context, X86Register.FsBase, tls);
        return context;
    }

    static long Unsupported(GuestProcess p, string syscall, ulong flags, string why)
    {
        p.Warn($"{syscall} with flags 0x{flags:x} returned ENOSYS: {why}");
        return -Errno.ENOSYS;
    }
}
