using System.Globalization;
using System.Text;
using Rewind.Engine;
using Rewind.Linux.Execution;
using Rewind.Linux.Host;
using Rewind.Linux.Memory;
using Rewind.Linux.Signals;
using Rewind.Linux.Syscalls;

namespace Rewind.Linux.Proc;

/// <summary>
/// The contents of the files in /proc/PID for a process of the run (and /proc/PID/task/TID for one of its threads),
/// in the kernel's formats, from the guest's own state. What the guest shares with Rewind's host process (its user,
/// groups, capabilities, terminal, CPUs) comes from Rewind's own /proc/self.
/// </summary>
internal static unsafe class ProcessFiles
{
    public static byte[] Comm(ProcessState process) => Text(process.Name + "\n");

    /// <summary>cmdline and environ: the bytes of the strings on the initial stack, as the program may have changed them.</summary>
    public static byte[] StackStrings(ProcessState process, bool environment)
    {
        var (start, end) = environment
            ? (process.Stack.EnvironmentStart, process.Stack.EnvironmentEnd)
            : (process.Stack.ArgumentsStart, process.Stack.ArgumentsEnd);
        if (process.HasEnded || end <= start || end - start > 1 << 24)
            return [];
        var bytes = new byte[end - start];
        return process.Memory.Peek(start, bytes) ? bytes : [];
    }

    public static byte[] Auxv(ProcessState process) => process.HasEnded ? [] : process.Stack.Auxv;

    public static byte[] Maps(ProcessState process)
    {
        var text = new StringBuilder();
        foreach (var area in process.Memory.Areas)
        {
            var (device, inode) = area.Path is { } path ? FileIdentity(path) : ("00:00", 0UL);
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{area.Start:x8}-{area.End:x8} {Permissions(area.Protection, area.Shared)} {area.FileOffset:x8} {device} {inode} ");
            text.Append(line);
            if ((area.Path ?? area.Label) is { } name)
                text.Append(' ', Math.Max(0, 73 - line.Length)).Append(name);
            text.Append('\n');
        }
        return Text(text.ToString());
    }

    static string Permissions(Protection protection, bool shared) => string.Concat(
        protection.HasFlag(Protection.Read) ? "r" : "-", protection.HasFlag(Protection.Write) ? "w" : "-",
        protection.HasFlag(Protection.Execute) ? "x" : "-", shared ? "s" : "p");

    /// <summary>The "major:minor" device and inode of a mapped file, as maps shows them.</summary>
    static (string Device, ulong Inode) FileIdentity(string path)
    {
        var stat = stackalloc byte[144];
        fixed (byte* bytes = HostSyscall.PathBytes(path.EndsWith(" (deleted)", StringComparison.Ordinal) ? path[..^10] : path))
        {
            if (HostSyscall.Invoke(SyscallNumber.stat, (long)bytes, (long)stat) < 0)
                return ("00:00", 0);
        }
        var device = *(ulong*)stat;
        var major = (device >> 8 & 0xfff) | (device >> 32 & ~0xfffUL);
        var minor = (device & 0xff) | (device >> 12 & ~0xffUL);
        return ($"{major:x2}:{minor:x2}", *(ulong*)(stat + 8));
    }

    public static byte[] Limits(ProcessState process)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{"Limit",-25} {"Soft Limit",-20} {"Hard Limit",-20} {"Units",-10}\n");
        for (var resource = 0; resource < ResourceLimits.Count; resource++)
        {
            var (name, unit) = ResourceLimits.Descriptions[resource];
            var (soft, hard) = process.Limits[resource];
            text.Append(CultureInfo.InvariantCulture, $"{name,-25} {LimitText(soft),-20} {LimitText(hard),-20} ");
            text.Append(unit.Length == 0 ? "\n" : $"{unit,-10}\n");
        }
        return Text(text.ToString());
    }

    static string LimitText(ulong value) => value == ResourceLimits.Unlimited ? "unlimited" : value.ToString(CultureInfo.InvariantCulture);

    /// <summary>What the memory of a process adds up to, in bytes, as status, stat and statm report it.</summary>
    readonly record struct MemoryUse(ulong Size, ulong Resident, ulong ResidentAnonymous, ulong ResidentFile, ulong ResidentShared,
        ulong Data, ulong Stack, ulong Code, ulong Libraries, ulong StartCode, ulong EndCode, ulong StartData, ulong EndData);

    static MemoryUse Measure(ProcessState process)
    {
        ulong size = 0, resident = 0, anonymous = 0, file = 0, shared = 0, data = 0, stack = 0, code = 0, libraries = 0;
        ulong startCode = 0, endCode = 0, startData = 0, endData = 0;
        foreach (var mapping in process.Memory.Mappings)
        {
            var length = mapping.Length;
            size += length;
            var present = Resident(mapping);
            resident += present;
            if (mapping.Path is not null)
                file += present;
            else if (mapping.Shared)
                shared += present;
            else
                anonymous += present;
            var writable = mapping.Protection.HasFlag(Protection.Write);
            if (mapping.Label == "[stack]")
                stack += length;
            else if (writable && !mapping.Shared)
                data += length;
            if (mapping.Protection.HasFlag(Protection.Execute))
            {
                if (mapping.Path == process.ExecutablePath)
                {
                    code += length;
                    (startCode, endCode) = (startCode == 0 ? mapping.Start : startCode, mapping.End);
                }
                else
                {
                    libraries += length;
                }
            }
            else if (writable && mapping.Path == process.ExecutablePath)
            {
                (startData, endData) = (startData == 0 ? mapping.Start : startData, mapping.End);
            }
        }
        return new MemoryUse(size, resident, anonymous, file, shared, data, stack, code, libraries, startCode, endCode, startData, endData);
    }

    /// <summary>Bytes of a mapping that hold memory: the host pages behind it that are resident.</summary>
    static ulong Resident(Mapping mapping)
    {
        var pages = (int)(mapping.Length / AddressSpace.PageSize);
        var vector = new byte[pages];
        fixed (byte* bytes = vector)
        {
            if (HostSyscall.Invoke(SyscallNumber.mincore, (long)mapping.Host, (long)mapping.Length, (long)bytes) < 0)
                return 0;
        }
        var count = 0UL;
        foreach (var page in vector)
            count += (ulong)(page & 1);
        return count * AddressSpace.PageSize;
    }

    static char StateLetter(GuestProcess machine, ProcessState process, GuestThread? thread)
    {
        if (process.HasEnded)
            return 'Z';
        var running = thread is null ? process == machine.CurrentProcess : thread == machine.CurrentThread;
        return running ? 'R' : 'S';
    }

    static readonly Dictionary<char, string> StateNames = new() { ['R'] = "R (running)", ['S'] = "S (sleeping)", ['Z'] = "Z (zombie)" };

    /// <summary>Signal sets as the kernel prints them: ignored and caught signals of a process.</summary>
    static (ulong Ignored, ulong Caught) Dispositions(ProcessState process)
    {
        ulong ignored = 0, caught = 0;
        for (var signal = 1; signal <= 64; signal++)
        {
            var handler = process.SignalHandlers[signal].Handler;
            if (handler == SignalAction.Ignore)
                ignored |= SignalState.Bit(signal);
            else if (handler != SignalAction.Default)
                caught |= SignalState.Bit(signal);
        }
        return (ignored, caught);
    }

    /// <summary>The blocked mask of a thread (the running thread's is in the process's signal state), and its own pending set.</summary>
    static (ulong Blocked, ulong Pending) ThreadSignals(ProcessState process, GuestThread thread) =>
        (thread == process.CurrentThread ? process.Signals.BlockedMask : thread.SignalMask, thread.PendingSignals.Bits);

    public static byte[] Status(GuestProcess machine, ProcessState process, GuestThread? thread)
    {
        var shown = thread ?? process.Threads.FirstOrDefault() ?? process.CurrentThread;
        var memory = Measure(process);
        var (ignored, caught) = Dispositions(process);
        var (blocked, threadPending) = ThreadSignals(process, shown);
        var uid = machine.Nondeterminism.User.Uid.ToString(CultureInfo.InvariantCulture);
        var gid = machine.Nondeterminism.User.Gid.ToString(CultureInfo.InvariantCulture);
        var highest = process.Files.All.Select(f => f.Key).DefaultIfEmpty(0).Max();
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Name"] = process.Name,
            ["Umask"] = Convert.ToString(process.Umask, 8).PadLeft(4, '0'),
            ["State"] = StateNames[StateLetter(machine, process, thread)],
            ["Tgid"] = Number(process.Pid),
            ["Ngid"] = "0",
            ["Pid"] = Number(shown.Tid),
            ["PPid"] = Number(process.ParentPid),
            ["TracerPid"] = "0",
            ["Uid"] = $"{uid}\t{uid}\t{uid}\t{uid}",
            ["Gid"] = $"{gid}\t{gid}\t{gid}\t{gid}",
            ["FDSize"] = Number((int)Math.Max(64, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)highest + 1))),
            ["Groups"] = string.Join(' ', process.Groups) + " ",
            ["NStgid"] = Number(process.Pid),
            ["NSpid"] = Number(shown.Tid),
            ["NSpgid"] = Number(process.ProcessGroup),
            ["NSsid"] = Number(process.Session),
            ["VmPeak"] = Kilobytes(memory.Size),
            ["VmSize"] = Kilobytes(memory.Size),
            ["VmLck"] = Kilobytes(0),
            ["VmPin"] = Kilobytes(0),
            ["VmHWM"] = Kilobytes(memory.Resident),
            ["VmRSS"] = Kilobytes(memory.Resident),
            ["RssAnon"] = Kilobytes(memory.ResidentAnonymous),
            ["RssFile"] = Kilobytes(memory.ResidentFile),
            ["RssShmem"] = Kilobytes(memory.ResidentShared),
            ["VmData"] = Kilobytes(memory.Data),
            ["VmStk"] = Kilobytes(memory.Stack),
            ["VmExe"] = Kilobytes(memory.Code),
            ["VmLib"] = Kilobytes(memory.Libraries),
            ["VmSwap"] = Kilobytes(0),
            ["Threads"] = Number(process.Threads.Count),
            ["SigPnd"] = Mask(threadPending),
            ["ShdPnd"] = Mask(process.Signals.Pending & ~process.Signals.ThreadPending.Bits),
            ["SigBlk"] = Mask(blocked),
            ["SigIgn"] = Mask(ignored),
            ["SigCgt"] = Mask(caught),
            ["voluntary_ctxt_switches"] = "0",
            ["nonvoluntary_ctxt_switches"] = "0",
        };
        var text = new StringBuilder();
        foreach (var (key, hostValue) in HostStatus.Value)
        {
            // A zombie has no memory left to report.
            if (process.HasEnded && key.StartsWith("Vm", StringComparison.Ordinal) || process.HasEnded && key.StartsWith("Rss", StringComparison.Ordinal))
                continue;
            text.Append(key).Append(":\t").Append(values.GetValueOrDefault(key, hostValue)).Append('\n');
        }
        return Text(text.ToString());
    }

    /// <summary>Rewind's own /proc/self/status as (key, value) lines: the layout, and the fields the guest shares with it.</summary>
    static readonly Lazy<(string Key, string Value)[]> HostStatus = new(() =>
        File.ReadAllLines("/proc/self/status").Select(line => line.Split(":\t", 2)).Where(parts => parts.Length == 2)
            .Select(parts => (parts[0], parts[1])).ToArray());

    /// <summary>Fields of Rewind's own /proc/self/stat that the guest shares: its terminal (tty_nr, tpgid) and flags.</summary>
    static readonly Lazy<string[]> HostStat = new(() =>
    {
        var text = File.ReadAllText("/proc/self/stat");
        return text[(text.LastIndexOf(')') + 2)..].Split(' ');
    });

    public static byte[] Stat(GuestProcess machine, ProcessState process, GuestThread? thread)
    {
        var shown = thread ?? process.Threads.FirstOrDefault() ?? process.CurrentThread;
        var memory = Measure(process);
        var (ignored, caught) = Dispositions(process);
        var (blocked, threadPending) = ThreadSignals(process, shown);
        var host = HostStat.Value; // host[0] is the state: field 3
        var ended = process.HasEnded;
        ulong[] layout = ended ? new ulong[7] :
        [
            memory.StartData, memory.EndData, process.Memory.BrkStart, process.Stack.ArgumentsStart, process.Stack.ArgumentsEnd,
            process.Stack.EnvironmentStart, process.Stack.EnvironmentEnd,
        ];
        var fields = new object[]
        {
            shown.Tid, $"({process.Name})", StateLetter(machine, process, thread), process.ParentPid, process.ProcessGroup, process.Session,
            host[4], host[5], host[6], 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, process.Threads.Count, 0, process.StartTime,
            ended ? 0 : memory.Size, ended ? 0 : memory.Resident / AddressSpace.PageSize, process.Limits[5].Soft,
            ended ? 0 : memory.StartCode, ended ? 0 : memory.EndCode, ended ? 0 : process.Stack.StackPointer, 0, 0,
            (process.Signals.Pending | threadPending) & 0x7fffffff, blocked & 0x7fffffff, ignored & 0x7fffffff, caught & 0x7fffffff,
            0, 0, 0, 17, 0, 0, 0, 0, 0, 0,
        };
        var exitCode = ended ? process.WaitStatus!.Value : 0;
        var text = string.Join(' ', fields.Select(f => Convert.ToString(f, CultureInfo.InvariantCulture)))
            + " " + string.Join(' ', layout) + " " + Number(exitCode) + "\n";
        return Text(text);
    }

    public static byte[] Statm(ProcessState process)
    {
        if (process.HasEnded)
            return Text("0 0 0 0 0 0 0\n");
        var memory = Measure(process);
        ulong Pages(ulong bytes) => bytes / AddressSpace.PageSize;
        return Text(string.Create(CultureInfo.InvariantCulture,
            $"{Pages(memory.Size)} {Pages(memory.Resident)} {Pages(memory.ResidentFile + memory.ResidentShared)} {Pages(memory.Code)} 0 {Pages(memory.Data + memory.Stack)} 0\n"));
    }

    /// <summary>fdinfo/N: the host's lines for the open file (position, flags, and what its kind adds), with the guest's close-on-exec flag.</summary>
    public static byte[] DescriptorInformation(Files.FileDescriptor descriptor)
    {
        const int CloseOnExec = 0x80000;
        string text;
        try
        {
            text = File.ReadAllText($"/proc/self/fdinfo/{descriptor.HostFd}");
        }
        catch (IOException)
        {
            return [];
        }
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("flags:\t", StringComparison.Ordinal))
                continue;
            var flags = Convert.ToInt32(lines[i]["flags:\t".Length..], 8);
            flags = descriptor.CloseOnExec ? flags | CloseOnExec : flags & ~CloseOnExec;
            lines[i] = "flags:\t0" + Convert.ToString(flags, 8);
        }
        return Text(string.Join('\n', lines));
    }

    static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    static string Kilobytes(ulong bytes) => $"{bytes / 1024,8} kB";

    static string Mask(ulong bits) => bits.ToString("x16", CultureInfo.InvariantCulture);

    static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);
}
