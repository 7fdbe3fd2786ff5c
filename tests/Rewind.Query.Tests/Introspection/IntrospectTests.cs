using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Rewind.Query.Tests.Introspection;

/// <summary>The introspect guests (tests/guest/introspect.c, PIE and non-PIE dynamic), each recorded once.</summary>
public sealed class IntrospectGuests : IDisposable
{
    readonly Dictionary<string, RecordedGuest> _guests = [];

    public RecordedGuest this[string name]
    {
        get
        {
            lock (_guests)
            {
                if (!_guests.TryGetValue(name, out var guest))
                    _guests[name] = guest = new RecordedGuest(name);
                return guest;
            }
        }
    }

    public void Dispose()
    {
        foreach (var guest in _guests.Values)
            guest.Dispose();
    }
}

/// <summary>What introspect.c printed about itself while it was recorded.</summary>
public sealed partial record SelfReport(int Pid, int Tid, string Name, ulong Marker, string MarkerFile, ulong MarkerBase, ulong Puts, string PutsFile, ulong PutsBase)
{
    public static SelfReport Parse(string output)
    {
        var identity = Identity().Match(output);
        var marker = Symbol("marker").Match(output);
        var puts = Symbol("puts").Match(output);
        Assert.True(identity.Success && marker.Success && puts.Success, $"introspect printed something else:\n{output}");
        return new SelfReport(
            int.Parse(identity.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(identity.Groups[2].Value, CultureInfo.InvariantCulture), identity.Groups[3].Value,
            QueryCli.Hex(marker.Groups[1].Value), marker.Groups[2].Value, QueryCli.Hex(marker.Groups[3].Value),
            QueryCli.Hex(puts.Groups[1].Value), puts.Groups[2].Value, QueryCli.Hex(puts.Groups[3].Value));
    }

    static Regex Symbol(string name) => new($@"^{name} address=0x([0-9a-f]+) fname=(\S+) fbase=0x([0-9a-f]+)$", RegexOptions.Multiline);

    [GeneratedRegex(@"^pid=(\d+) tid=(\d+) name=(\S+)$", RegexOptions.Multiline)]
    private static partial Regex Identity();
}

/// <summary>
/// A dynamic program that prints its own pid, tid, task name (after prctl(PR_SET_NAME)) and dladdr
/// results: memorymap, modules, threads and events must agree with every printed value.
/// </summary>
public sealed class IntrospectTests(IntrospectGuests guests) : IClassFixture<IntrospectGuests>
{
    public static readonly TheoryData<string> Variants = ["introspect-pie", "introspect-dynamic"];

    async Task<(RecordedGuest Guest, SelfReport Report)> RecordAsync(string name)
    {
        var guest = guests[name];
        var record = await guest.RecordAsync();
        Assert.Equal(5, record.ExitCode);
        return (guest, SelfReport.Parse(record.StdoutText));
    }

    /// <summary>A path with symbolic links resolved, for comparing what dladdr and the trace say.</summary>
    static string RealPath(string path, string directory)
    {
        var full = Path.GetFullPath(path, directory);
        var resolved = "/";
        foreach (var part in full.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(resolved, part);
            var target = new FileInfo(next).LinkTarget;
            resolved = target is null ? next : RealPath(target, resolved);
        }
        return resolved;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Memorymap_at_the_programs_and_libcs_functions_agrees_with_dladdr_pid_tid_and_name(string name)
    {
        var (guest, self) = await RecordAsync(name);
        Assert.Equal("introspected", self.Name);
        var output = await QueryCli.OutputAsync("memorymap", guest.Trace, "--pcs", $"0x{self.Marker:x}-0x{self.Puts:x}");
        var lines = MemoryMapLine.ParseAll(output);

        Assert.Single(lines, l => l.Pc == self.Marker); // main calls marker once
        Assert.Contains(lines, l => l.Pc == self.Puts);
        foreach (var line in lines)
        {
            var (file, fileBase) = line.Pc == self.Marker ? (self.MarkerFile, self.MarkerBase) : (self.PutsFile, self.PutsBase);
            Assert.Equal($"0x{fileBase:x}", line.ImageBase);
            Assert.Equal(RealPath(file, guest.Folder), RealPath(line.ImagePath, guest.Folder));
            Assert.Equal(Path.GetFileName(line.ImagePath), line.ImageName);
            Assert.Equal(self.Pid, line.Pid);
            Assert.Equal(self.Tid, line.Tid);
            Assert.Equal(self.Name, line.Process); // after the rename
            Assert.False(line.InKernel);
        }
        Assert.Equal(lines.OrderBy(l => l.InstructionCount), lines);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task The_first_instruction_runs_in_the_interpreter_under_the_executables_name(string name)
    {
        var (guest, _) = await RecordAsync(name);
        var line = MemoryMapLine.Parse((await QueryCli.OutputAsync("memorymap", guest.Trace, "--instr-counts", "0")).Trim());
        Assert.Equal(0, line.InstructionCount);
        Assert.Equal(name[..Math.Min(15, name.Length)], line.Process); // the executable's base name (comm: 15 characters at most), before prctl
        Assert.StartsWith("ld-linux", line.ImageName, StringComparison.Ordinal);
        var interpreter = (await QueryCli.JsonLinesAsync("modules", guest.Trace)).Single(m => m.GetProperty("Name").GetString() == line.ImageName);
        Assert.Equal(line.ImageBase, interpreter.GetProperty("Address").GetString());
        var address = QueryCli.Hex(line.ImageBase);
        Assert.InRange(line.Pc, address, address + interpreter.GetProperty("Size").GetUInt64() - 1);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Modules_list_the_program_and_libc_at_the_bases_dladdr_reports(string name)
    {
        var (guest, self) = await RecordAsync(name);
        var modules = await QueryCli.JsonLinesAsync("modules", guest.Trace);
        var program = modules.Single(m => m.GetProperty("Name").GetString() == name);
        var libc = modules.Single(m => m.GetProperty("Name").GetString() == "libc.so.6");

        Assert.Equal($"0x{self.MarkerBase:x}", program.GetProperty("Address").GetString());
        Assert.Equal(RealPath(self.MarkerFile, guest.Folder), RealPath(program.GetProperty("Path").GetString()!, guest.Folder));
        Assert.Equal("0:0", program.GetProperty("Loaded").GetString()); // mapped by the kernel at the start
        Assert.Equal($"0x{self.PutsBase:x}", libc.GetProperty("Address").GetString());
        Assert.Equal(self.PutsFile, libc.GetProperty("Path").GetString());
        Assert.Equal(JsonValueKind.Null, libc.GetProperty("Unloaded").ValueKind);
        Assert.InRange(self.Puts, self.PutsBase, self.PutsBase + libc.GetProperty("Size").GetUInt64() - 1);
        Assert.InRange(self.Marker, self.MarkerBase, self.MarkerBase + program.GetProperty("Size").GetUInt64() - 1);

        // At the start only the program and its interpreter are loaded; libc from its load on.
        var atStart = (await QueryCli.JsonLinesAsync("modules", guest.Trace, "--at", "0:0")).Select(m => m.GetProperty("Name").GetString()).ToArray();
        Assert.Contains(name, atStart);
        Assert.DoesNotContain("libc.so.6", atStart);
        Assert.Equal(2, atStart.Length);
        var atLoad = await QueryCli.JsonLinesAsync("modules", guest.Trace, "--at", libc.GetProperty("Loaded").GetString()!);
        Assert.Contains(atLoad, m => m.GetProperty("Name").GetString() == "libc.so.6");
        var atEnd = await QueryCli.JsonLinesAsync("modules", guest.Trace, "--at", "100%");
        Assert.Equal(modules.Length, atEnd.Length);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Threads_and_events_agree_with_the_program(string name)
    {
        var (guest, self) = await RecordAsync(name);
        var thread = Assert.Single(await QueryCli.JsonLinesAsync("threads", guest.Trace));
        Assert.Equal(1, thread.GetProperty("UniqueId").GetInt32());
        Assert.Equal(self.Tid, thread.GetProperty("Id").GetInt32());
        Assert.Equal("0:0", thread.GetProperty("Lifetime").GetProperty("Start").GetString());

        var events = await QueryCli.JsonLinesAsync("events", guest.Trace);
        var types = events.Select(e => e.GetProperty("Type").GetString()!).ToArray();
        Assert.Equal("ThreadCreated", types[0]);
        Assert.Equal(["ThreadTerminated", "ProcessExit"], types[^2..]);
        Assert.Equal(5, events[^1].GetProperty("ExitCode").GetInt32()); // what main returned
        Assert.Equal(thread.GetProperty("Lifetime").GetProperty("End").GetString(), events[^2].GetProperty("Position").GetString());
        var libcLoad = Assert.Single(events, e => e.GetProperty("Type").GetString() == "ModuleLoaded"
            && e.GetProperty("Module").GetProperty("Name").GetString() == "libc.so.6");
        Assert.Equal($"0x{self.PutsBase:x}", libcLoad.GetProperty("Module").GetProperty("Address").GetString());
        Assert.Equal(libcLoad.GetProperty("Module").GetProperty("Loaded").GetString(), libcLoad.GetProperty("Position").GetString());
        Assert.DoesNotContain("Exception", types);

        // The table form shows the same events.
        var table = await QueryCli.OutputAsync("events", guest.Trace);
        Assert.Contains("ProcessExit", table, StringComparison.Ordinal);
        Assert.Contains("libc.so.6", table, StringComparison.Ordinal);
    }
}
