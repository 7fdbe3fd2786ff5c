using System.IO.Hashing;
using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Linux.Host;
using Rewind.Linux.Memory;
using Rewind.Linux.Signals;
using Rewind.Linux.Syscalls;
using Rewind.Trace;

namespace Rewind.Linux.Recording;

/// <summary>
/// Records a run: syscalls go to the host through a <see cref="LiveKernel"/>, and everything the
/// host answered (results, bytes written into the guest, changes to the address space and to
/// registers) is logged, together with the program's initial state and periodic keyframes.
/// Replay re-executes the instructions and takes only these answers from the trace.
/// </summary>
public sealed class Recorder : Kernel, IAddressSpaceObserver
{
    /// <summary>Kernel writes at least this long are stored as blobs, once per content.</summary>
    const int InlineWriteLimit = 512;

    readonly TraceWriter _writer;
    readonly long _keyframeInterval;
    readonly LiveKernel _live = new();
    readonly OwnOutput _output = new();
    readonly List<Effect> _effects = [];
    readonly Dictionary<int, Dictionary<ulong, UInt128>> _pageHashes = []; // per pid: each page's hash at the last keyframe
    readonly HashSet<int> _ranSinceKeyframe = [];
    readonly Dictionary<string, long> _filesRead = new(StringComparer.Ordinal);
    readonly HashSet<(ulong Device, ulong Inode, long Size, long Seconds, long Nanoseconds)> _imagesStored = [];
    GuestProcess? _process;

    public Recorder(TraceWriter writer, long keyframeInterval)
    {
        _writer = writer;
        _keyframeInterval = keyframeInterval;
    }

    /// <summary>Syscalls the program made that Rewind does not implement, by name.</summary>
    public SortedSet<string> UnsupportedSyscalls { get; } = new(StringComparer.Ordinal);

    public override void Starting(GuestProcess process)
    {
        _process = process;
        process.Memory.Observer = this;
    }

    public override void Started(GuestProcess process)
    {
        _effects.Add(new RegisterEffect((int)X86Register.Rsp, process.Cpu.Read(X86Register.Rsp)));
        _effects.Add(new RegisterEffect((int)X86Register.Rip, process.Cpu.Read(X86Register.Rip)));
        _effects.Add(new NameEffect(process.Name));
        _writer.Append(new StartEvent(_effects.ToArray()));
        _effects.Clear();
        process.Counter.NextKeyframe = 0;
    }

    public override long Syscall(GuestProcess process, long number, in SyscallArgs args)
    {
        var fsBase = process.Cpu.Read(X86Register.FsBase);
        var gsBase = process.Cpu.Read(X86Register.GsBase);
        var name = process.Name;
        _effects.Clear();

        var result = _live.Syscall(process, number, args);

        if (process.Cpu.Read(X86Register.FsBase) != fsBase)
            _effects.Add(new RegisterEffect((int)X86Register.FsBase, process.Cpu.Read(X86Register.FsBase)));
        if (process.Cpu.Read(X86Register.GsBase) != gsBase)
            _effects.Add(new RegisterEffect((int)X86Register.GsBase, process.Cpu.Read(X86Register.GsBase)));
        if (process.Name != name)
            _effects.Add(new NameEffect(process.Name));
        if (result == 0 && number is (long)SyscallNumber.execve or (long)SyscallNumber.execveat)
        {
            // Replay resets the process first, then maps the new image and starts it where this run did.
            _effects.Insert(0, new ExecEffect(process.ExecutablePath, process.Arguments.ToArray()));
            _effects.Add(new RegisterEffect((int)X86Register.Rsp, process.Cpu.Read(X86Register.Rsp)));
            _effects.Add(new RegisterEffect((int)X86Register.Rip, process.Cpu.Read(X86Register.Rip)));
        }
        if (_live.LastWasUnsupported)
            UnsupportedSyscalls.Add($"{SyscallNames.Name(number)} ({number})");
        if (result > 0 && number is (long)SyscallNumber.write or (long)SyscallNumber.writev && _output.StreamOf(args.Int(0), process.Files.HostFd(args.Int(0))) is { } stream)
            _effects.Add(new OutputEffect(stream));
        if (result > 0 && number is (long)SyscallNumber.read or (long)SyscallNumber.pread64 or (long)SyscallNumber.readv or (long)SyscallNumber.preadv
            && process.Files.Get(args.Int(0))?.Path is { } path)
            _filesRead[path] = _filesRead.GetValueOrDefault(path) + result;
        // The syscall instruction ends its block, so it is the last one counted.
        _writer.Append(new SyscallEvent(process.Instructions - 1, (int)number, result, _live.LastWasUnsupported, _effects.ToArray()));
        _effects.Clear();
        return result;
    }

    public override ulong TimeStampCounter(GuestProcess process, long instruction)
    {
        var value = _live.TimeStampCounter(process, instruction);
        _writer.Append(new TimeStampEvent(instruction, value));
        return value;
    }

    // Arrivals are inputs that replay cannot recompute; deliveries are recomputed and only checked.
    public override void SignalArrived(GuestProcess process, int targetPid, in SignalInfo info, long targetThread)
    {
        _writer.Append(new SignalArrivalEvent(process.Instructions, info.Signal, info.Code, info.SenderPid, info.SenderUid, targetPid, targetThread));
        base.SignalArrived(process, targetPid, info, targetThread);
    }

    public override void SignalHandled(GuestProcess process, in SignalInfo info, ulong pc) =>
        _writer.Append(new SignalEvent(process.Instructions, info.Signal, pc, info.Address, info.Code, Handled: true));
    /// <summary>Switches as the live scheduler decides, and logs the switch so that replay makes the same one.</summary>
    public override bool SwitchDue(GuestProcess process, ulong pc)
    {
        if (process.Scheduler.Due() is not { } next)
            return false;
        var result = next.ResumeResult;
        _writer.Append(new ThreadSwitchEvent(process.Instructions - 1, next.UniqueId, result));
        _ranSinceKeyframe.Add(next.Process.Pid);
        process.SwitchTo(next, pc, result);
        process.Scheduler.Switched();
        return true;
    }

    public override void ThreadCreated(GuestProcess process, GuestThread thread) =>
        _effects.Add(new ThreadCreatedEffect(thread.Tid, thread.UniqueId, thread.Context!));

    public override void ThreadExited(GuestProcess process, GuestThread thread) => _effects.Add(new ThreadExitedEffect(thread.UniqueId));

    public override void ProcessCreated(GuestProcess process, ProcessState child, ulong setTidAt, ulong clearTidAt)
    {
        _effects.Add(new ProcessCreatedEffect(child.Pid, child.CurrentThread.UniqueId, child.CurrentThread.Context!, setTidAt, clearTidAt));
        _pageHashes.Remove(child.Pid); // a pid used before: its pages are all new
    }

    public override void ProcessEnded(GuestProcess process, ProcessState ended)
    {
        // An exit or an exec to the host is a syscall's doing, which replay does not run; a signal's default action replay computes again.
        if (ended.HostPid is not null)
            _effects.Add(new ProcessLeftEffect());
        else if ((ended.WaitStatus!.Value & 0x7f) == 0)
            _effects.Add(new ProcessExitedEffect(ended.WaitStatus.Value));
        base.ProcessEnded(process, ended);
    }

    public override void KeyframeDue(GuestProcess process, ulong pc)
    {
        _writer.WriteKeyframe(TakeKeyframe(process, pc));
        process.Counter.NextKeyframe = process.Instructions + _keyframeInterval;
    }

    public override void Ended(GuestProcess process, ExitStatus status)
    {
        // A fault's instruction never completed; an exit happened at its syscall.
        if (status.Signal is { } signal)
            _writer.Append(new SignalEvent(status.Instructions, (int)signal, status.FaultPc, status.FaultAddress, status.SignalCode));
        else if (status.ExitCode is { } code)
            _writer.Append(new ExitEvent(status.Instructions - 1, code));
        var files = _filesRead.Select(f => new FileRead(f.Key, f.Value)).OrderBy(f => f.Path, StringComparer.Ordinal).ToArray();
        _writer.Complete(new TraceEnd(status.Instructions, _writer.EventCount, DateTimeOffset.UtcNow, StateHash.Of(process), files));
    }

    /// <summary>
    /// Registers of every thread, the mapping list and every page whose contents changed since the last keyframe,
    /// of the running process and of every other one that has not ended.
    /// </summary>
    Keyframe TakeKeyframe(GuestProcess process, ulong pc)
    {
        var running = Snapshot(process, process.CurrentProcess, RegisterFile.Capture(process.Cpu, pc));
        var others = process.Processes.Where(p => p != process.CurrentProcess && !p.IsGone)
            .Select(p => Snapshot(process, p, p.CurrentThread.Context!)).ToArray();
        foreach (var pid in _pageHashes.Keys.Where(pid => process.FindProcess(pid) is not { IsGone: false }).ToList())
            _pageHashes.Remove(pid);
        // The running process goes on running after the keyframe.
        _ranSinceKeyframe.Clear();
        _ranSinceKeyframe.Add(process.CurrentProcess.Pid);
        return running with { OtherProcesses = others };
    }

    Keyframe Snapshot(GuestProcess machine, ProcessState process, byte[] registers)
    {
        var known = _pageHashes.GetValueOrDefault(process.Pid) ?? [];
        var changed = new List<PageRecord>();
        // A process that has not run since the last keyframe changed none of its pages: no need to hash them again.
        if (process != machine.CurrentProcess && _pageHashes.ContainsKey(process.Pid) && !_ranSinceKeyframe.Contains(process.Pid))
            return Describe(machine, process, registers, changed);
        var current = new Dictionary<ulong, UInt128>(known.Count);
        foreach (var mapping in process.Memory.Mappings)
        {
            var untouched = mapping.MayHaveChanged ? UntouchedPages.In(mapping) : default;
            for (var page = mapping.Start; page < mapping.End; page += AddressSpace.PageSize)
            {
                if (!mapping.MayHaveChanged && known.TryGetValue(page, out var hash))
                {
                    current[page] = hash;
                    continue;
                }
                // An untouched page is not read at all: reading would map the zero page there, and it would look touched.
                var zero = !untouched.IsEmpty && untouched[(int)((page - mapping.Start) / AddressSpace.PageSize)];
                hash = zero ? ZeroPageHash : PageHash(mapping, page);
                current[page] = hash;
                if (!known.TryGetValue(page, out var previous) || previous != hash)
                    changed.Add(new PageRecord(page, zero ? StoreZeroPage() : StorePage(mapping, page)));
            }
            mapping.MayHaveChanged = mapping.Protection.HasFlag(Protection.Write);
        }
        _pageHashes[process.Pid] = current;
        return Describe(machine, process, registers, changed);
    }

    Keyframe Describe(GuestProcess machine, ProcessState process, byte[] registers, List<PageRecord> changed) =>
        new(
            machine.Instructions, _writer.EventCount, registers, process.Memory.BrkStart, process.Memory.Brk, process.Name,
            process.Memory.Areas.Select(m => new MappingRecord(m.Start, m.End, (int)m.Protection, m.Shared, m.Path, m.FileOffset, m.Label)).ToArray(),
            changed, SignalSnapshot.Capture(process),
            process.CurrentThread.UniqueId,
            process.Threads.Select(t => new ThreadRecord(t.Tid, t.UniqueId, t == process.CurrentThread ? [] : t.Context!, t.SignalMask)).ToArray(),
            new ProcessIdentity(process.Pid, process.ParentPid, process.ProcessGroup, process.Session, process.ExecutablePath), []);

    static unsafe ReadOnlySpan<byte> PageBytes(Mapping mapping, ulong page) =>
        new(mapping.Host + (page - mapping.Start), (int)AddressSpace.PageSize);

    static UInt128 PageHash(Mapping mapping, ulong page) => XxHash128.HashToUInt128(PageBytes(mapping, page));

    static readonly UInt128 ZeroPageHash = XxHash128.HashToUInt128(UntouchedPages.ZeroPage);

    UInt128 StorePage(Mapping mapping, ulong page) => _writer.StoreBlob(PageBytes(mapping, page));

    // Stored once; later untouched pages only name it, instead of hashing 4 KB of zeros each.
    UInt128 StoreZeroPage() => _writer.HasBlob(ZeroPageHash) ? ZeroPageHash : _writer.StoreBlob(UntouchedPages.ZeroPage);

    // ---- what the kernel side did to memory ----

    void IAddressSpaceObserver.Mapped(Mapping mapping, ulong fileBytes, int hostFd)
    {
        if (hostFd >= 0 && mapping.Path is { } path && mapping.Protection.HasFlag(Protection.Execute))
            StoreImage(path, hostFd);
        var pages = new List<UInt128>();
        for (var page = mapping.Start; page < mapping.Start + fileBytes; page += AddressSpace.PageSize)
            pages.Add(StorePage(mapping, page));
        _effects.Add(new MapEffect(mapping.Start, mapping.Length, (int)mapping.Protection, mapping.Shared, mapping.Path, mapping.FileOffset, mapping.Label, pages));
    }

    /// <summary>Files larger than this are not stored whole (their mapped pages still are): symbols then come from those pages alone.</summary>
    const long MaxImageBytes = 256L << 20;

    /// <summary>
    /// Stores the whole file of an executable mapping, once per file (device, inode, size and
    /// modification time): symbol tables, debug information and section headers lie outside the
    /// parts the loader maps. Pages that are mapped too are stored once, as their content is the same.
    /// </summary>
    unsafe void StoreImage(string path, int hostFd)
    {
        var stat = stackalloc byte[144];
        if (HostSyscall.Invoke(SyscallNumber.fstat, hostFd, (long)stat) < 0)
            return;
        var size = *(long*)(stat + 48);
        if (size <= 0 || size > MaxImageBytes || !_imagesStored.Add((*(ulong*)stat, *(ulong*)(stat + 8), size, *(long*)(stat + 88), *(long*)(stat + 96))))
            return;
        var page = new byte[AddressSpace.PageSize];
        var pages = new UInt128[(size + page.Length - 1) / page.Length];
        fixed (byte* buffer = page)
        {
            for (var i = 0; i < pages.Length; i++)
            {
                var read = HostSyscall.Invoke(SyscallNumber.pread64, hostFd, (long)buffer, page.Length, (long)i * page.Length);
                page.AsSpan((int)Math.Max(0, read)).Clear();
                pages[i] = _writer.StoreBlob(page);
            }
        }
        _effects.Add(new ImageEffect(path, (ulong)size, pages));
    }

    void IAddressSpaceObserver.Unmapped(ulong address, ulong length) => _effects.Add(new UnmapEffect(address, length));

    void IAddressSpaceObserver.ProtectionChanged(ulong address, ulong length, Protection protection) =>
        _effects.Add(new ProtectEffect(address, length, (int)protection));

    void IAddressSpaceObserver.Remapped(ulong oldAddress, ulong oldLength, ulong newLength, ulong newAddress) =>
        _effects.Add(new RemapEffect(oldAddress, oldLength, newLength, newAddress));

    void IAddressSpaceObserver.BrkInitialized(ulong start) => _effects.Add(new InitBrkEffect(start));

    void IAddressSpaceObserver.BrkSet(ulong requested) => _effects.Add(new BrkEffect(requested));

    void IAddressSpaceObserver.Discarded(ulong address, ulong length)
    {
        _effects.Add(new DiscardEffect(address, length));
        // Discarded pages of a file mapping read back as the file: replay gets those bytes as a write.
        for (var at = address; at < address + length;)
        {
            var mapping = _process!.Memory.Find(at)!;
            var end = Math.Min(mapping.End, address + length);
            if (mapping.Path is not null)
                ((IAddressSpaceObserver)this).KernelWrote(at, end - at);
            at = end;
        }
    }

    unsafe void IAddressSpaceObserver.KernelWrote(ulong address, ulong length)
    {
        var memory = _process!.Memory;
        // A large write within one mapping (a read into a buffer) is stored straight from guest memory.
        if (length >= InlineWriteLimit && memory.HostPointer(address, length, Protection.None) is var host && host != null)
        {
            _effects.Add(new MemoryBlobWrite(address, _writer.StoreBlob(new ReadOnlySpan<byte>(host, (int)length)), (int)length));
            return;
        }
        var bytes = new byte[length];
        memory.Peek(address, bytes);
        _effects.Add(length < InlineWriteLimit
            ? new MemoryWrite(address, bytes)
            : new MemoryBlobWrite(address, _writer.StoreBlob(bytes), bytes.Length));
    }
}
