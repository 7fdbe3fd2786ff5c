using System.Runtime.InteropServices;

namespace Rewind.Linux.Host;

/// <summary>
/// Starts a program as a host process with posix_spawn, for a child that leaves the trace at its exec
/// (--no-follow-children): with the guest's descriptors at the guest's numbers, its working directory,
/// blocked mask and ignored signals, and nothing else of Rewind's.
/// </summary>
internal static unsafe partial class HostSpawn
{
    // glibc's posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336: room for either.
    const int OpaqueSize = 512;
    const short SetSignalDefaults = 0x04, SetSignalMask = 0x08;

    [LibraryImport("libc", EntryPoint = "posix_spawn")]
    private static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addchdir_np")]
    private static partial int posix_spawn_file_actions_addchdir_np(void* actions, byte* path);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    private static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    private static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    private static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    private static partial int posix_spawnattr_setsigmask(void* attributes, ulong* mask);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    private static partial int posix_spawnattr_setsigdefault(void* attributes, ulong* signals);

    /// <summary>
    /// Starts <paramref name="path"/> with <paramref name="descriptors"/> (guest number, host descriptor);
    /// signals in <paramref name="defaults"/> start with their default action, those in <paramref name="blocked"/>
    /// blocked. Returns the host pid, or a negative errno.
    /// </summary>
    public static long Start(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, string workingDirectory,
        IEnumerable<(int GuestFd, int HostFd)> descriptors, ulong blocked, ulong defaults)
    {
        var actions = NativeMemory.AllocZeroed(OpaqueSize);
        var attributes = NativeMemory.AllocZeroed(OpaqueSize);
        var strings = new List<nint>();
        var moved = new List<int>();
        try
        {
            // Each call returns 0 or an error number, which the exec then fails with.
            var error = posix_spawn_file_actions_init(actions);
            if (error == 0)
                error = posix_spawnattr_init(attributes);
            // Out of the way first (above every guest number), so that no dup2 overwrites a descriptor still to be placed.
            var placed = descriptors.ToList();
            var above = placed.Count == 0 ? 0 : placed.Max(d => d.GuestFd) + 1;
            foreach (var (guestFd, hostFd) in placed)
            {
                if (error != 0)
                    break;
                var high = HostSyscall.Duplicate(hostFd, Math.Max(above, 3));
                if (high < 0)
                    return high;
                moved.Add((int)high);
                error = posix_spawn_file_actions_adddup2(actions, (int)high, guestFd);
            }
            if (error == 0)
                error = posix_spawn_file_actions_addchdir_np(actions, Utf8(workingDirectory, strings));
            if (error == 0)
                error = posix_spawnattr_setflags(attributes, SetSignalDefaults | SetSignalMask);
            if (error == 0)
                error = posix_spawnattr_setsigmask(attributes, &blocked);
            if (error == 0)
                error = posix_spawnattr_setsigdefault(attributes, &defaults);
            if (error != 0)
                return -error;

            var argv = Vector(arguments, strings);
            var envp = Vector(environment, strings);
            int pid;
            error = posix_spawn(&pid, Utf8(path, strings), actions, attributes, argv, envp);
            return error != 0 ? -error : pid;
        }
        finally
        {
            foreach (var fd in moved)
                HostSyscall.Invoke(Syscalls.SyscallNumber.close, fd);
            _ = posix_spawn_file_actions_destroy(actions);
            _ = posix_spawnattr_destroy(attributes);
            NativeMemory.Free(actions);
            NativeMemory.Free(attributes);
            foreach (var pointer in strings)
                NativeMemory.Free((void*)pointer);
        }
    }

    static byte* Utf8(string text, List<nint> allocations)
    {
        var bytes = HostSyscall.PathBytes(text);
        var copy = (byte*)NativeMemory.Alloc((nuint)bytes.Length);
        bytes.CopyTo(new Span<byte>(copy, bytes.Length));
        allocations.Add((nint)copy);
        return copy;
    }

    /// <summary>A NULL-terminated array of C strings.</summary>
    static byte** Vector(IReadOnlyList<string> items, List<nint> allocations)
    {
        var vector = (byte**)NativeMemory.AllocZeroed((nuint)(items.Count + 1) * (nuint)sizeof(byte*));
        allocations.Add((nint)vector);
        for (var i = 0; i < items.Count; i++)
            vector[i] = Utf8(items[i], allocations);
        return vector;
    }
}
