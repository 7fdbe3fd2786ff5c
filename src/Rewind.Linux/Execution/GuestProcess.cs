using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Files;
using Rewind.Linux.Host;
using Rewind.Linux.Loader;
using Rewind.Linux.Memory;
using Rewind.Linux.Signals;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Execution;

/// <summary>
/// The guest: the processes of a run (GuestProcess.Processes.cs) on one engine, their threads
/// (GuestProcess.Threads.cs), and the run loop. One thread of one process runs at a time; the
/// process-level properties here (Memory, Files, Pid...) are the running process's. Syscalls are
/// handled inside the engine's syscall hook; signals, faults' included, are delivered between two
/// runs of the engine (GuestProcess.Signals.cs).
/// </summary>
public sealed unsafe partial class GuestProcess : IDisposable
{
    readonly RunOptions _options;
    readonly Kernel _kernel;
    readonly InstructionCounter _counter;
    GCHandle _self;
    ExitStatus? _exit;
    Exception? _hookFailure;
    volatile int _terminationRequest;
    readonly byte[] _initialRegisters; // what execve resets the registers to
    bool _imageReplaced; // the current syscall was a successful execve
    bool _pauseRequested;

    GuestProcess(RunOptions options, Kernel kernel, Nondeterminism nondeterminism, int pid)
    {
        _options = options;
        _kernel = kernel;
        Nondeterminism = nondeterminism;
        Cpu = Cpu.Create(X86CpuModel.Haswell);
        // As Linux does at boot: CR4.OSFXSR and OSXMMEXCPT. Without OSFXSR the engine's fxsave
        // and fxrstor skip the XMM registers, and ld.so's lazy binding would lose arguments.
        Cpu.Write(X86Register.Cr4, Cpu.Read(X86Register.Cr4) | 1 << 9 | 1 << 10);
        // The floating-point state a new Linux process starts with: x87 at 64-bit precision, all
        // exceptions masked (FNINIT's 0x37f), and MXCSR's default 0x1f80.
        Cpu.Write(X86Register.Fpcw, 0x37f);
        Cpu.Write(X86Register.Mxcsr, 0x1f80);
        _initialRegisters = RegisterFile.Capture(Cpu);
        _counter = new InstructionCounter((address, code) => Memory.Peek(address, code));
        FileSystem = options.FileSystem;
        _lastPid = pid;
        // The first process's parent is Rewind's own (the shell that started it), as if it had been started directly.
        _current = new ProcessState(pid, (int)HostSyscall.Invoke(SyscallNumber.getppid), NewAddressSpace(), new FileTable(), options.WorkingDirectory);
        _current.Files.Limit = _current.Limits.OpenFilesLimit;
        _current.Memory.Attach();
        _processes.Add(_current);
        // The main thread's tid is the pid; its registers are the engine's from the start.
        _current.CurrentThread = new GuestThread(pid, uniqueId: 1, _current);
        _current.Threads.Add(_current.CurrentThread);
        NextUniqueThreadId = 2;
        Scheduler = new Scheduler(this, options.PreemptAfter);
    }

    /// <summary>Connects the host side of a live process: working directory, umask, stdin, stdout, stderr.</summary>
    void ConnectHost()
    {
        // The guest starts with Rewind's own umask; reading it means setting it, so set it back.
        Umask = (uint)HostSyscall.Invoke(SyscallNumber.umask, 0x12);
        HostSyscall.Invoke(SyscallNumber.umask, Umask);
        var cwd = HostSyscall.OpenDirectory(Cwd);
        if (cwd < 0)
            throw new GuestStartException($"{Cwd}: cannot enter the working directory (errno {-cwd})");
        CwdFd = (int)cwd;
        for (var fd = 0; fd < 3; fd++)
        {
            var host = HostSyscall.Duplicate(fd);
            if (host >= 0)
                Files.Set(fd, (int)host, null, closeOnExec: false);
        }
    }

    public Cpu Cpu { get; }
    public FileSystemView FileSystem { get; }
    public Nondeterminism Nondeterminism { get; }

    // The running process's state (see ProcessState for what each is).
    public AddressSpace Memory => _current.Memory;
    public FileTable Files => _current.Files;
    public int Pid => _current.Pid;
    public int ParentPid => _current.ParentPid;
    public string Name { get => _current.Name; set => _current.Name = value; }
    public string ExecutablePath => _current.ExecutablePath;
    public IReadOnlyList<string> Arguments => _current.Arguments;
    public string Cwd { get => _current.Cwd; set => _current.Cwd = value; }
    public int CwdFd { get => _current.CwdFd; set => _current.CwdFd = value; }
    public uint Umask { get => _current.Umask; set => _current.Umask = value; }
    public SignalState Signals => _current.Signals;
    public SignalHandlers SignalHandlers => _current.SignalHandlers;

    /// <summary>Instructions executed so far (exact at syscall boundaries).</summary>
    public long Instructions => _counter.Instructions;

    /// <summary>The block counter, which also schedules keyframes.</summary>
    public InstructionCounter Counter => _counter;

    /// <summary>How the program ended, once it has.</summary>
    public ExitStatus? Exited => _exit;

    /// <summary>
    /// Loads the program, ready to run, with its syscalls answered by <paramref name="kernel"/>
    /// (the host when null). Throws <see cref="GuestStartException"/> with a one-line reason.
    /// </summary>
    public static GuestProcess Start(RunOptions options, Kernel? kernel = null, Nondeterminism? nondeterminism = null)
    {
        nondeterminism ??= new Nondeterminism();
        kernel ??= new LiveKernel();
        var process = new GuestProcess(options, kernel, nondeterminism, nondeterminism.ProcessId);
        try
        {
            process.ConnectHost();
            process.InstallHooks();
            kernel.Starting(process);
            process.Load();
            kernel.Started(process);
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A process with an empty address space and no host connections, whose state the caller
    /// (replay) sets from a trace before running it.
    /// </summary>
    public static GuestProcess CreateEmpty(RunOptions options, Kernel kernel, int pid)
    {
        var process = new GuestProcess(options, kernel, new Nondeterminism(), pid);
        process.InstallHooks();
        return process;
    }

    /// <summary>Sets the identity a trace recorded.</summary>
    public void SetIdentity(string name, string executablePath, IReadOnlyList<string> arguments)
    {
        Name = name;
        _current.ExecutablePath = executablePath;
        _current.Arguments = arguments;
    }

    void Load()
    {
        var path = ProgramLocator.Find(_options.Program, _options.Environment, Cwd)
            ?? throw new GuestStartException(_options.Program.Contains('/') ? $"{_options.Program}: No such file or directory" : $"{_options.Program}: command not found");
        ExecutableFile program;
        try
        {
            program = ExecutableFile.Open(Cwd, path, _options.Arguments);
        }
        catch (ExecutableException e)
        {
            // As a shell reports it: a program that is not there is 127, one that cannot run 126.
            throw new GuestStartException(e.Message, e.Errno == Errno.ENOENT ? 127 : 126);
        }
        LoadImage(path, program, _options.Environment);
    }

    /// <summary>Maps <paramref name="program"/> and its ELF interpreter, and builds the initial stack, as execve does.</summary>
    void LoadImage(string path, ExecutableFile program, IReadOnlyList<string> environment)
    {
        _current.ExecutablePath = program.HostPath;
        Name = TaskName(FileSystemView.Absolute(Cwd, path));
        _current.Arguments = program.Arguments;

        var image = ElfLoader.Map(Memory, ExecutablePath, ExecutablePath, program.Elf, program.Elf.IsDynamic ? ElfLoader.PieBase : 0);
        ulong interpreterBase = 0, entry = image.Entry;
        if (program.Interpreter is { } interpreter)
        {
            var loaded = ElfLoader.Map(Memory, program.InterpreterPath!, program.InterpreterPath!, interpreter, 0);
            interpreterBase = loaded.Base;
            entry = loaded.Entry;
        }
        Memory.InitializeBrk(image.End);

        Span<byte> random = stackalloc byte[16];
        Nondeterminism.Random(random);
        var (uid, gid) = Nondeterminism.User;
        var stack = InitialStack.Build(Memory, image, interpreterBase, path, program.Arguments, environment,
            random, new Credentials(uid, gid), VirtualCpuid.Features);
        _current.Stack = stack;

        Cpu.Write(X86Register.Rsp, stack.StackPointer);
        Cpu.Write(X86Register.Rip, entry);
    }

    /// <summary>
    /// Replaces the running program with <paramref name="program"/>, as a successful execve does
    /// (<paramref name="path"/> as the caller named it): the old image goes, close-on-exec
    /// descriptors close, and the new image starts with a fresh stack and fresh registers.
    /// </summary>
    public void Exec(string path, ExecutableFile program, IReadOnlyList<string> environment)
    {
        foreach (var (fd, descriptor) in Files.All.ToArray())
        {
            if (descriptor.CloseOnExec)
                Files.Close(fd);
        }
        StartNewImage(program.HostPath, program.Arguments);
        foreach (var area in Memory.Areas.ToArray())
            Memory.Unmap(area.Start, area.End - area.Start);
        LoadImage(path, program, environment);
        // Called from the syscall hook, after which the engine moves RIP past the 2-byte syscall instruction.
        Cpu.Write(X86Register.Rip, Cpu.Read(X86Register.Rip) - SyscallInstructionLength);
    }

    const ulong SyscallInstructionLength = 2;

    /// <summary>
    /// What execve resets before the new image is mapped, in a live run and in replay alike: the
    /// other threads end, registers and FPU state are as a new process has them, signal handlers back to their defaults,
    /// and the hooks placed on the old code.
    /// </summary>
    public void StartNewImage(string executablePath, IReadOnlyList<string> arguments)
    {
        EndOtherThreads();
        RegisterFile.Restore(Cpu, _initialRegisters);
        // The mask and pending signals stay; the alternate stack was in the old image.
        SignalHandlers.ResetForExec();
        Signals.AlternateStack = (0, SignalState.AlternateStackDisabled, 0);
        RemoveTimeStampHooks();
        _current.TimeStampReads.Clear();
        CurrentThread.ClearChildTid = 0;
        _current.ExecutablePath = executablePath;
        _current.Arguments = arguments;
        _imageReplaced = true;
    }

    static string TaskName(string path)
    {
        var name = System.IO.Path.GetFileName(path);
        return name.Length > 15 ? name[..15] : name;
    }

    // ---- running ----

    /// <summary>
    /// Runs the program until it exits or a signal ends it, or until <see cref="Pause"/> is called
    /// (then null: calling Run again continues from there).
    /// </summary>
    public ExitStatus? Run()
    {
        _pauseRequested = false;
        while (_exit is null)
        {
            if (!SwitchAwayFromEnded() || _exit is not null)
                break;
            if (_pendingSwitch is { } pending)
            {
                _pendingSwitch = null;
                SwitchProcess(pending.Thread, pending.Result);
                if (_pauseRequested)
                    return null;
            }
            DeliverPendingSignals();
            if (_exit is not null)
                break;
            if (_current.IsGone)
                continue; // a signal's default action ended it
            var error = Cpu.Run(Cpu.Read(X86Register.Rip));
            if (_hookFailure is { } failure)
                ExceptionDispatchInfoThrow(failure);
            if (_exit is not null)
                break;
            if (_pendingSwitch is not null || _current.IsGone)
            {
                // Stopped on purpose: another process runs next.
                _stoppedForSignals = false;
                continue;
            }
            if (_pauseRequested)
                return null;
            if (_terminationRequest != 0)
            {
                // Stopped between two blocks: the count is exact and the next block never ran.
                Terminate((Signal)_terminationRequest, 0);
                break;
            }
            if (_exit is null && (_fault.Signal != 0 || error != UcError.Ok || StoppedWithoutReason()))
                TakeFault(error);
        }
        var running = _processes.Count(p => p != Root && !p.IsGone);
        if (running > 0 && _exit!.EndOfTrace is null)
            Warn($"{running} other {(running == 1 ? "process was" : "processes were")} still running when the first one ended; the run ends with it");
        _kernel.Ended(this, _exit!);
        if (_hookFailure is { } late)
            ExceptionDispatchInfoThrow(late);
        return _exit!;
    }

    static void ExceptionDispatchInfoThrow(Exception failure) =>
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();

    /// <summary>
    /// Ends the program as if <paramref name="signal"/> had been sent to it (the user pressed
    /// Ctrl-C, or Rewind itself was told to stop). Safe to call from any thread.
    /// </summary>
    public void RequestTermination(Signal signal)
    {
        _terminationRequest = (int)signal;
        Cpu.Stop();
    }

    /// <summary>Makes <see cref="Run"/> return before the next instruction; for hooks on the engine's thread.</summary>
    public void Pause()
    {
        _pauseRequested = true;
        Cpu.Stop();
    }

    /// <summary>Stops the run without an exit status: replay reached the end of a trace that was cut short.</summary>
    public void Halt(string reason)
    {
        _exit = new ExitStatus { EndOfTrace = reason, Instructions = Instructions };
        Cpu.Stop();
    }

    /// <summary>Ends the running process with an exit status (exit_group); the first process's end ends the run.</summary>
    public void Exit(int status)
    {
        if (_current != Root)
        {
            EndProcess(WaitStatuses.Exited(status));
            return;
        }
        _exit = new ExitStatus { ExitCode = status & 0xff, Instructions = Instructions };
        Cpu.Stop();
    }

    /// <summary>
    /// Ends the running process by a signal's default action; <paramref name="code"/> is its si_code.
    /// The first process's end ends the run (a termination asked for from outside ends the run whichever process runs).
    /// </summary>
    public void Terminate(Signal signal, ulong faultAddress, int code = 0)
    {
        if (_current != Root && _terminationRequest == 0)
        {
            EndProcess(WaitStatuses.Signaled(signal, SignalText.DefaultActionOf((int)signal) == DefaultAction.Core));
            return;
        }
        _exit = new ExitStatus
        {
            Signal = signal,
            SignalCode = code,
            FaultPc = Cpu.Read(X86Register.Rip),
            FaultAddress = faultAddress,
            Instructions = Instructions,
        };
        Cpu.Stop();
    }

    public void Warn(string message) => _options.Warn?.Invoke(message);

    // ---- hooks ----

    void InstallHooks()
    {
        _self = GCHandle.Alloc(this);
        var user = (void*)GCHandle.ToIntPtr(_self);
        _counter.Attach(Cpu);
        _counter.KeyframeDue = OnKeyframeDue;
        _counter.SwitchDue = OnSwitchDue;
        _counter.TimeStampReadsFound = OnTimeStampReadsFound;
        _counter.Interrupted = OnInterrupted;
        Cpu.AddInstructionHook(HookedInstruction.Syscall, (delegate* unmanaged[Cdecl]<nint, void*, void>)&OnSyscall, user);
        Cpu.AddInstructionHook(HookedInstruction.Cpuid, (delegate* unmanaged[Cdecl]<nint, void*, int>)&OnCpuid, user);
        Cpu.AddHook(HookType.MemInvalid, (delegate* unmanaged[Cdecl]<nint, int, ulong, int, long, void*, byte>)&OnInvalidMemory, user);
        Cpu.AddHook(HookType.Interrupt, (delegate* unmanaged[Cdecl]<nint, uint, void*, void>)&OnInterrupt, user);
    }

    static GuestProcess From(void* user) => Unsafe.As<GuestProcess>(GCHandle.FromIntPtr((nint)user).Target!);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnSyscall(nint engine, void* user)
    {
        var self = From(user);
        try
        {
            self.HandleSyscall();
        }
        catch (Exception e)
        {
            self._hookFailure = e;
            self.Cpu.Stop();
        }
    }

    void HandleSyscall()
    {
        var number = (long)Cpu.Read(X86Register.Rax);
        var args = new SyscallArgs(Cpu.Read(X86Register.Rdi), Cpu.Read(X86Register.Rsi), Cpu.Read(X86Register.Rdx),
            Cpu.Read(X86Register.R10), Cpu.Read(X86Register.R8), Cpu.Read(X86Register.R9));
        CurrentThread.RestartAt = null;
        var result = _kernel.Syscall(this, number, args);
        if (_imageReplaced)
        {
            // The new image starts with the registers execve set, all but RSP and RIP zero.
            _imageReplaced = false;
            return;
        }
        if (_exit is null && result == -Errno.ERESTARTSYS)
        {
            // Another thread runs first; this one runs the syscall again later, so RAX keeps its number.
            CurrentThread.RestartAt = Cpu.Read(X86Register.Rip);
        }
        else if (_exit is null)
        {
            Cpu.Write(X86Register.Rax, (ulong)result);
            // The syscall instruction sets RCX to the return address and R11 to RFLAGS.
            Cpu.Write(X86Register.Rcx, Cpu.Read(X86Register.Rip) + SyscallInstructionLength);
            Cpu.Write(X86Register.R11, Cpu.Read(X86Register.Eflags));
            AfterSyscall(number, args, result);
        }
    }

    /// <summary>Runs hook work that may throw: a failure stops the engine and is rethrown by <see cref="Run"/>.</summary>
    void Guard(Action work)
    {
        try
        {
            work();
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    void OnKeyframeDue(ulong pc) => Guard(() => _kernel.KeyframeDue(this, pc));

    /// <summary>
    /// For code running inside an engine hook: stops the run and makes <see cref="Run"/> throw
    /// <paramref name="failure"/>, since an exception must not cross the native hook boundary.
    /// </summary>
    public void Fail(Exception failure)
    {
        _hookFailure ??= failure;
        Cpu.Stop();
    }

    /// <summary>
    /// New code reads the time stamp counter: hook those instructions and translate the block again,
    /// so that the value comes from the kernel (and so from the trace in replay).
    /// </summary>
    bool OnTimeStampReadsFound(ulong blockStart, IReadOnlyList<(ulong Address, int Length, bool WithProcessorId)> reads)
    {
        var added = false;
        foreach (var (address, _, withProcessorId) in reads)
            added |= _current.TimeStampReads.TryAdd(address, withProcessorId) && AddTimeStampHook(address, withProcessorId);
        if (!added)
            return false;
        Cpu.DropTranslations(blockStart, _counter.BlockEnd);
        // Writing RIP leaves the block before it runs; it starts again, translated with the hooks.
        Cpu.Write(X86Register.Rip, blockStart);
        return true;
    }

    bool AddTimeStampHook(ulong address, bool withProcessorId)
    {
        var callback = withProcessorId
            ? (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnTimeStampWithProcessorId
            : (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnTimeStamp;
        _timeStampHooks.Add(Cpu.AddHook(HookType.Code, callback, (void*)GCHandle.ToIntPtr(_self), address, address));
        return true;
    }

    /// <summary>The hooks are on addresses of the running process's code: another process or image has other code there.</summary>
    void RemoveTimeStampHooks()
    {
        foreach (var hook in _timeStampHooks)
            Cpu.RemoveHook(hook);
        _timeStampHooks.Clear();
    }

    readonly List<nuint> _timeStampHooks = [];

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnTimeStamp(nint engine, ulong address, uint size, void* user) => From(user).ReadTimeStamp(address, size, withProcessorId: false);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnTimeStampWithProcessorId(nint engine, ulong address, uint size, void* user) => From(user).ReadTimeStamp(address, size, withProcessorId: true);

    void ReadTimeStamp(ulong address, uint size, bool withProcessorId) => Guard(() =>
    {
        // The block was counted whole on entry; the rest of it runs again as a new block after
        // the jump below and is counted then.
        var after = (ulong)_counter.CountBetween(address + size, _counter.BlockEnd);
        var index = Instructions - (long)after - 1;
        var value = _kernel.TimeStampCounter(this, index);
        _counter.Instructions -= (long)after;
        Cpu.Write(X86Register.Rax, value & 0xffff_ffff);
        Cpu.Write(X86Register.Rdx, value >> 32);
        if (withProcessorId)
            Cpu.Write(X86Register.Rcx, 0); // IA32_TSC_AUX: CPU 0
        Cpu.Write(X86Register.Rip, address + size);
    });

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int OnCpuid(nint engine, void* user)
    {
        var cpu = From(user).Cpu;
        var (eax, ebx, ecx, edx) = VirtualCpuid.Query((uint)cpu.Read(X86Register.Rax), (uint)cpu.Read(X86Register.Rcx));
        cpu.Write(X86Register.Rax, eax);
        cpu.Write(X86Register.Rbx, ebx);
        cpu.Write(X86Register.Rcx, ecx);
        cpu.Write(X86Register.Rdx, edx);
        return 1; // skip the engine's own CPUID
    }

    public void Dispose()
    {
        foreach (var process in _processes)
            process.Release();
        Cpu.Dispose();
        _counter.Dispose();
        if (_self.IsAllocated)
            _self.Free();
    }
}

/// <summary>The program could not be started (not found, not an ELF file, no interpreter).</summary>
public sealed class GuestStartException(string message, int status = 127) : Exception(message)
{
    /// <summary>The status a shell returns for this failure: 127 not found, 126 found but not runnable.</summary>
    public int Status { get; } = status;
}
