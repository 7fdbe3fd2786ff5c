using Rewind.Linux.Files;
using Rewind.Linux.Host;

namespace Rewind.Linux.Loader;

/// <summary>
/// A program opened as execve opens it, before anything of the running image changes: the ELF
/// file (after following "#!" lines, which put their interpreter in front of the arguments) and
/// its ELF interpreter. Every way it can fail is known here, so that a failed execve leaves the
/// caller running.
/// </summary>
public sealed record ExecutableFile(string HostPath, ElfImage Elf, string? InterpreterPath, ElfImage? Interpreter, IReadOnlyList<string> Arguments)
{
    const int MaxScriptDepth = 4;

    /// <summary>
    /// Opens <paramref name="path"/> (relative to <paramref name="cwd"/>) to run with
    /// <paramref name="arguments"/>. Throws <see cref="ExecutableException"/> with the errno execve gives.
    /// </summary>
    public static ExecutableFile Open(string cwd, string path, IReadOnlyList<string> arguments)
    {
        var argv = arguments.ToList();
        for (var depth = 0; depth < MaxScriptDepth; depth++)
        {
            var absolute = FileSystemView.Absolute(cwd, path);
            if (Directory.Exists(absolute))
                throw new ExecutableException(Errno.EACCES, $"{path}: Is a directory");
            if (!File.Exists(absolute))
                throw new ExecutableException(Errno.ENOENT, $"{path}: No such file or directory");
            if (!Execution.ProgramLocator.IsExecutable(absolute))
                throw new ExecutableException(Errno.EACCES, $"{path}: Permission denied");
            var (interpreter, argument, elf) = Read(path, absolute, stream =>
            {
                if (Shebang.TryRead(stream, out var interpreter, out var argument))
                    return (interpreter, argument, (ElfImage?)null);
                stream.Position = 0;
                return ("", null, ElfImage.Read(stream));
            });
            if (elf is not null)
            {
                var loader = elf.Interpreter is { } loaderPath ? Read($"{path}: interpreter {loaderPath}", loaderPath, ElfImage.Read) : null;
                // The kernel names the files it maps as they are, with every link resolved ($ORIGIN, /proc/PID/exe and maps).
                return new ExecutableFile(Canonical(absolute), elf, elf.Interpreter is { } interpreterPath ? Canonical(interpreterPath) : null, loader, argv);
            }
            if (argv.Count == 0)
                argv.Add(path);
            argv[0] = path;
            argv.InsertRange(0, argument is null ? [interpreter] : [interpreter, argument]);
            path = interpreter;
        }
        throw new ExecutableException(Errno.ELOOP, $"{(arguments.Count > 0 ? arguments[0] : path)}: too many levels of #! interpreters");
    }

    /// <summary>The path with its links resolved, when that still opens it (a deleted file's is only a name).</summary>
    static string Canonical(string path) => HostSyscall.CanonicalPath(path) is var canonical && !canonical.EndsWith(" (deleted)", StringComparison.Ordinal) ? canonical : path;

    /// <summary>Reads a file, turning what goes wrong into the errno execve reports.</summary>
    static T Read<T>(string context, string path, Func<Stream, T> read)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return read(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ExecutableException(Errno.ENOENT, $"{context}: No such file or directory");
        }
        catch (UnauthorizedAccessException)
        {
            throw new ExecutableException(Errno.EACCES, $"{context}: Permission denied");
        }
        catch (InvalidDataException e)
        {
            throw new ExecutableException(Errno.ENOEXEC, $"{context}: {e.Message}");
        }
        catch (IOException e)
        {
            throw new ExecutableException(Errno.EIO, $"{context}: {e.Message}");
        }
    }
}

/// <summary>A program that cannot be executed: the errno execve returns and a one-line reason.</summary>
public sealed class ExecutableException(int errno, string message) : Exception(message)
{
    public int Errno { get; } = errno;
}
