using Rewind.Linux.Execution;
using Rewind.Linux.Files;
using Rewind.Linux.Loader;

namespace Rewind.Linux.Syscalls;

/// <summary>
/// unistd.h's execve and execveat: the process keeps its pid, descriptors (but close-on-exec
/// ones) and signal mask, and runs a new program from its first instruction.
/// </summary>
internal static partial class Exec
{
    /// <summary>Linux's limits: one argument or environment string (MAX_ARG_STRLEN), and all of them together.</summary>
    const int MaxStringLength = 128 * 1024, MaxTotalLength = 2 * 1024 * 1024;

    const int AtEmptyPath = 0x1000, AtSymlinkNoFollow = 0x100;

    [Syscall(SyscallNumber.execve)]
    static long ExecuteProgram(GuestProcess p, in SyscallArgs a) => Execute(p, GuestProcess.AtFdCwd, a.A0, a.A1, a.A2, flags: 0);

    [Syscall(SyscallNumber.execveat)]
    static long ExecuteProgramAt(GuestProcess p, in SyscallArgs a) => Execute(p, a.Int(0), a.A1, a.A2, a.A3, a.Int(4));

    static long Execute(GuestProcess p, int dirFd, ulong pathAddress, ulong argvAddress, ulong envpAddress, int flags)
    {
        if ((flags & ~(AtEmptyPath | AtSymlinkNoFollow)) != 0)
            return -Errno.EINVAL;
        if (p.Memory.ReadString(pathAddress) is not { } path)
            return -Errno.EFAULT;
        string absolute;
        if (path.Length == 0 && (flags & AtEmptyPath) != 0)
        {
            // fexecve: the program is the file the descriptor has open.
            if (p.Files.Get(dirFd) is not { } opened)
                return -Errno.EBADF;
            absolute = opened.Path ?? $"/proc/self/fd/{opened.HostFd}";
        }
        else if (ProcFiles.Find(p, dirFd, path) is { } entry)
        {
            // /proc/self/exe, /dev/fd/N: the host file the entry leads to.
            var located = Proc.ProcView.HostLocation(entry, PathIntent.Lookup, out var host);
            if (located < 0)
                return located;
            absolute = host.DirectoryFd == GuestProcess.AtFdCwd ? host.Path : $"/proc/self/fd/{host.DirectoryFd}/{host.Path}";
        }
        else
        {
            var resolved = p.ResolvePath(dirFd, pathAddress, PathIntent.Lookup, out _, out absolute);
            if (resolved < 0)
                return resolved;
        }
        var total = 0;
        var arguments = ReadStrings(p, argvAddress, ref total);
        var environment = ReadStrings(p, envpAddress, ref total);
        if (arguments is null || environment is null)
            return total > MaxTotalLength ? -Errno.E2BIG : -Errno.EFAULT;

        ExecutableFile program;
        try
        {
            program = ExecutableFile.Open(p.Cwd, absolute, arguments);
        }
        catch (ExecutableException e)
        {
            return -e.Errno;
        }
        if (!p.FollowsChildren && p.CurrentProcess != p.Root)
            return p.LeaveForHost(program.HostPath, program.Arguments, environment);
        p.Exec(path.Length == 0 ? absolute : path, program, environment);
        return 0;
    }

    /// <summary>
    /// A NULL-terminated array of string pointers (a NULL array is empty, as Linux takes it).
    /// Null when it cannot be read or is too long; <paramref name="total"/> counts the bytes so far.
    /// </summary>
    static List<string>? ReadStrings(GuestProcess p, ulong array, ref int total)
    {
        var strings = new List<string>();
        if (array == 0)
            return strings;
        for (var at = array; ; at += 8)
        {
            if (!p.Memory.TryRead(at, out ulong pointer))
                return null;
            if (pointer == 0)
                return strings;
            if (p.Memory.ReadString(pointer, MaxStringLength) is not { } text)
                return null;
            total += text.Length + 1 + 8;
            if (total > MaxTotalLength)
                return null;
            strings.Add(text);
        }
    }
}
