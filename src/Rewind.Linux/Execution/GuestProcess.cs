using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Files;
using Rewind.Linux.Host;
using Rewind.Linux.Loader;
using Rewind.Linux.Memory;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Execution;

/// <summary>
/// One Linux process running on its own engine: address space, descriptors, identity, threads
/// (GuestProcess.Threads.cs), and the run loop. Syscalls are handled inside the engine's syscall
/// hook; faults end the run with the signal Linux would deliver.
/// </summary>
public sealed unsafe partial class GuestProcess : IDisposable
{
    readonly RunOptions _options;
    readonly Kernel _kernel;
    readonly InstructionCounter _counter;
    GCHandle _self;
    ExitStatus? _exit;
    Exception? _hookFailure;
    PendingFault _fault;
    volatile int _terminationRequest;
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
        Memory = new AddressSpace(Cpu);
        _counter = new InstructionCounter(Memory);
        Memory.CodeChanged += (start, end) => Cpu.DropTranslations(start, end);
        FileSystem = options.FileSystem;
        Pid = pid;
        _lastTid = pid;
        // The main thread's tid is the pid; its registers are the engine's from the start.
        CurrentThread = new GuestThread(pid, uniqueId: 1);
        _threads.Add(CurrentThread);
        NextUniqueThreadId = 2;
        Scheduler = new Scheduler(this, options.PreemptAfter);
        ParentPid = Environment.ProcessId;
        Cwd = options.WorkingDirectory;
        CwdFd = -1;
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
            var host = HostSyscall.Invoke(SyscallNumber.fcntl, fd, 1030 /* F_DUPFD_CLOEXEC */, 3);
            if (host >= 0)
                Files.Set(fd, (int)host, null, closeOnExec: false);
        }
    }

    public Cpu Cpu { get; }
    public AddressSpace Memory { get; }
    public FileTable Files { get; } = new();
    public FileSystemView FileSystem { get; }
    public Nondeterminism Nondeterminism { get; }

    public int Pid { get; }
    public int ParentPid { get; }

    /// <summary>Task name (comm): executable base name, at most 15 bytes; prctl(PR_SET_NAME) changes it.</summary>
    public string Name { get; set; } = "";

    /// <summary>Absolute guest path of the running executable (/proc/self/exe).</summary>
    public string ExecutablePath { get; private set; } = "";

    /// <summary>argv as the program received it (after any #! interpreter was inserted).</summary>
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    public string Cwd { get; set; }

    /// <summary>Host O_PATH descriptor of <see cref="Cwd"/>, for *at syscalls relative to AT_FDCWD.</summary>
    public int CwdFd { get; set; }

    public uint Umask { get; set; }

    /// <summary>Instructions executed so far (exact at syscall boundaries).</summary>
    public long Instructions => _counter.Instructions;

    /// <summary>The block counter, which also schedules keyframes.</summary>
    public InstructionCounter Counter => _counter;

    /// <summary>How the program ended, once it has.</summary>
    public ExitStatus? Exited => _exit;

    public SignalState Signals { get; } = new();

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
        ExecutablePath = executablePath;
        Arguments = arguments;
    }

    void Load()
    {
        var path = ProgramLocator.Find(_options.Program, _options.Environment, Cwd)
            ?? throw new GuestStartException(_options.Program.Contains('/') ? $"{_options.Program}: No such file or directory" : $"{_options.Program}: command not found");
        var full = FileSystemView.Absolute(Cwd, path);
        if (Directory.Exists(full))
            throw new GuestStartException($"{path}: Is a directory", 126);
        if (!ProgramLocator.IsExecutable(full))
            throw new GuestStartException($"{path}: Permission denied", 126);
        var arguments = _options.Arguments.ToList();
        var (hostPath, elf) = ReadExecutable(path, arguments);
        ExecutablePath = hostPath;
        Name = TaskName(FileSystemView.Absolute(Cwd, path));
        Arguments = arguments;

        var program = ElfLoader.Map(Memory, ExecutablePath, ExecutablePath, elf, elf.IsDynamic ? ElfLoader.PieBase : 0);
        ulong interpreterBase = 0, entry = program.Entry;
        if (elf.Interpreter is { } interpreterPath)
        {
            var interpreter = Guarded($"{path}: interpreter {interpreterPath}", () =>
            {
                using var stream = File.OpenRead(interpreterPath);
                return ElfImage.Read(stream);
            });
            var loaded = ElfLoader.Map(Memory, interpreterPath, interpreterPath, interpreter, 0);
            interpreterBase = loaded.Base;
            entry = loaded.Entry;
        }
        Memory.InitializeBrk(program.End);

        Span<byte> random = stackalloc byte[16];
        Nondeterminism.Random(random);
        var (uid, gid) = Nondeterminism.User;
        var stack = InitialStack.Build(Memory, program, interpreterBase, path, arguments, _options.Environment,
            random, new Credentials(uid, gid), VirtualCpuid.Features);

        Cpu.Write(X86Register.Rsp, stack);
        Cpu.Write(X86Register.Rip, entry);
    }

    /// <summary>
    /// Opens the program as execve does: an ELF file, or a script whose "#!" line names the
    /// interpreter, which then runs with the script's path inserted into <paramref name="arguments"/>.
    /// </summary>
    (string HostPath, ElfImage Elf) ReadExecutable(string path, List<string> arguments)
    {
        for (var depth = 0; depth < 4; depth++)
        {
            var absolute = FileSystemView.Absolute(Cwd, path);
            var (interpreter, argument, elf) = Guarded(path, () =>
            {
                using var stream = File.OpenRead(absolute);
                if (Shebang.TryRead(stream, out var interpreter, out var argument))
                    return (interpreter, argument, (ElfImage?)null);
                stream.Position = 0;
                return ("", null, ElfImage.Read(stream));
            });
            if (elf is not null)
                return (absolute, elf);
            arguments[0] = path;
            arguments.InsertRange(0, argument is null ? [interpreter] : [interpreter, argument]);
            path = interpreter;
        }
        throw new GuestStartException($"{_options.Program}: too many levels of #! interpreters");
    }

    /// <summary>Runs a step of loading, turning file errors into a one-line <see cref="GuestStartException"/>.</summary>
    static T Guarded<T>(string context, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new GuestStartException($"{context}: {e.Message}", 126);
        }
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
            var error = Cpu.Run(Cpu.Read(X86Register.Rip));
            if (_hookFailure is { } failure)
                ExceptionDispatchInfoThrow(failure);
            if (_exit is not null)
                break;
            if (_pauseRequested)
                return null;
            if (_terminationRequest != 0)
            {
                // Stopped between two blocks: the count is exact and the next block never ran.
                Terminate((Signal)_terminationRequest, 0);
                break;
            }
            if (_exit is null && (_fault.Signal != 0 || error != UcError.Ok))
            {
                // The block was counted whole when entered; the faulting instruction and the
                // ones after it never completed.
                _counter.Instructions -= _counter.CountBetween(Cpu.Read(X86Register.Rip), _counter.BlockEnd);
                Terminate(_fault.Signal != 0 ? _fault.Signal : SignalFor(error), _fault.Address);
            }
        }
        _kernel.Ended(this, _exit!);
        if (_hookFailure is { } late)
            ExceptionDispatchInfoThrow(late);
        return _exit!;
    }

    static void ExceptionDispatchInfoThrow(Exception failure) =>
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();

    static Signal SignalFor(UcError error) => error switch
    {
        UcError.InvalidInstruction => Signal.SIGILL,
        UcError.ReadUnaligned or UcError.WriteUnaligned or UcError.FetchUnaligned => Signal.SIGBUS,
        _ => Signal.SIGSEGV,
    };

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

    /// <summary>Ends the whole program with an exit status (exit_group).</summary>
    public void Exit(int status)
    {
        _exit = new ExitStatus { ExitCode = status & 0xff, Instructions = Instructions };
        Cpu.Stop();
    }

    /// <summary>Ends the program by a signal's default action.</summary>
    public void Terminate(Signal signal, ulong faultAddress)
    {
        _exit = new ExitStatus
        {
            Signal = signal,
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
        if (_exit is null && result == -Errno.ERESTARTSYS)
        {
            // Another thread runs first; this one runs the syscall again later, so RAX keeps its number.
            CurrentThread.RestartAt = Cpu.Read(X86Register.Rip);
        }
        else if (_exit is null)
        {
            Cpu.Write(X86Register.Rax, (ulong)result);
            // The syscall instruction sets RCX to the return address and R11 to RFLAGS.
            Cpu.Write(X86Register.Rcx, Cpu.Read(X86Register.Rip) + 2);
            Cpu.Write(X86Register.R11, Cpu.Read(X86Register.Eflags));
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
        {
            if (!_timeStampHooks.Add(address))
                continue;
            var callback = withProcessorId
                ? (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnTimeStampWithProcessorId
                : (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnTimeStamp;
            Cpu.AddHook(HookType.Code, callback, (void*)GCHandle.ToIntPtr(_self), address, address);
            added = true;
        }
        if (!added)
            return false;
        Cpu.DropTranslations(blockStart, _counter.BlockEnd);
        // Writing RIP leaves the block before it runs; it starts again, translated with the hooks.
        Cpu.Write(X86Register.Rip, blockStart);
        return true;
    }

    readonly HashSet<ulong> _timeStampHooks = [];

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

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static byte OnInvalidMemory(nint engine, int type, ulong address, int size, long value, void* user)
    {
        var self = From(user);
        var kind = (MemoryAccessKind)type;
        // An access to a mapped page that its protection forbids is SIGSEGV too (SEGV_ACCERR).
        self._fault = new PendingFault(Signal.SIGSEGV, address, kind);
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnInterrupt(nint engine, uint number, void* user)
    {
        var self = From(user);
        var signal = number switch
        {
            0 => Signal.SIGFPE,   // #DE divide error
            1 or 3 => Signal.SIGTRAP,
            4 => Signal.SIGSEGV,  // #OF into
            5 => Signal.SIGSEGV,  // #BR bound
            6 => Signal.SIGILL,   // #UD
            16 or 19 => Signal.SIGFPE,
            17 => Signal.SIGBUS,  // #AC
            _ => Signal.SIGSEGV,  // #GP, #PF and software interrupts other than the above
        };
        self._fault = new PendingFault(signal, 0, MemoryAccessKind.Fetch);
        self.Cpu.Stop();
    }

    readonly record struct PendingFault(Signal Signal, ulong Address, MemoryAccessKind Kind);

    public void Dispose()
    {
        Files.Dispose();
        if (CwdFd >= 0)
            HostSyscall.Invoke(SyscallNumber.close, CwdFd);
        Memory.Dispose();
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
