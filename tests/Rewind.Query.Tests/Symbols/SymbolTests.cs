using System.Diagnostics;
using System.Globalization;
using Rewind.Query.Tests.Introspection;
using Rewind.Query.Symbols;

namespace Rewind.Query.Tests.Symbols;

/// <summary>
/// Symbols read from the trace's copy of each file, checked against readelf and nm on the same binary (moved
/// by where the program says add3 runs), against the source for DWARF parameters, and with a
/// stripped program whose symbols come only from a debug file found by build-id.
/// </summary>
public sealed class SymbolTests(CallsGuests guests) : IClassFixture<CallsGuests>
{
    /// <summary>readelf's defined FUNC, IFUNC and OBJECT symbols of .symtab: name, address, kind.</summary>
    static List<(string Name, ulong Address, SymbolKind Kind)> Nm(string binary)
    {
        var info = new ProcessStartInfo("readelf", ["-sW", binary]) { RedirectStandardOutput = true };
        using var readelf = Process.Start(info)!;
        var output = readelf.StandardOutput.ReadToEnd();
        readelf.WaitForExit();
        Assert.Equal(0, readelf.ExitCode);
        var symbols = new List<(string, ulong, SymbolKind)>();
        var inSymtab = false;
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("Symbol table", StringComparison.Ordinal))
                inSymtab = line.Contains("'.symtab'", StringComparison.Ordinal);
            // "   Num:    Value          Size Type    Bind   Vis      Ndx Name"
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!inSymtab || parts.Length < 8 || parts[6] is "UND" or "ABS" || !parts[0].EndsWith(':') || parts[0] == "Num:")
                continue;
            SymbolKind? kind = parts[3] switch { "FUNC" or "IFUNC" => SymbolKind.Function, "OBJECT" => SymbolKind.Object, _ => null };
            var address = ulong.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (kind is { } k && address != 0)
                symbols.Add((parts[7].Split('@')[0], address, k));
        }
        return symbols;
    }

    static TraceSession Open(RecordedGuest guest)
    {
        GuestRunner.LoadEngine();
        return TraceSession.Open(guest.Trace);
    }

    [Theory]
    [MemberData(nameof(CallsGuests.Variants), MemberType = typeof(CallsGuests))]
    public async Task Symbols_of_the_program_are_those_nm_lists_at_their_run_time_addresses(string name)
    {
        var (guest, output) = await guests.RecordAsync(name);
        var nm = Nm(guest.Program);
        var bias = CallsGuests.Add3(output) - nm.Single(s => s.Name == "add3").Address;
        using var session = Open(guest);
        var module = session.Model.Modules.Single(m => m.Path == guest.Program);
        var symbols = session.Symbols.For(module);
        Assert.Null(symbols.Problem);
        var checkedCount = 0;
        foreach (var (symbolName, address, kind) in nm.Where(s => !s.Name.Contains('.', StringComparison.Ordinal)))
        {
            var found = symbols.Symbols.Where(s => s.Name == symbolName && s.Kind == kind).ToList();
            Assert.True(found.Count > 0, $"{symbolName} (readelf: 0x{address:x}) is missing");
            Assert.Contains(address + bias, found.Select(s => s.Address));
            checkedCount++;
        }
        Assert.True(checkedCount > (name.EndsWith("static", StringComparison.Ordinal) ? 1000 : 10), $"only {checkedCount} symbols checked");
        var add3 = CallsGuests.Add3(output);
        Assert.Equal(add3, session.Symbols.ResolveAddress($"{name}!add3"));
        Assert.Equal(add3 + 0x10, session.Symbols.ResolveAddress($"{name}!add3+0x10"));
        Assert.Equal($"{name}!add3+0x4", session.Symbols.Describe(add3 + 4, session.Lifetime.End.Instruction));
        Assert.Contains(session.Symbols.Find($"{name.Split('-')[0]}*!a*3"), s => s.Address == add3);
    }

    [Theory]
    [MemberData(nameof(CallsGuests.Variants), MemberType = typeof(CallsGuests))]
    public async Task Parameters_come_from_dwarf_with_the_names_and_types_of_the_source(string name)
    {
        var (guest, output) = await guests.RecordAsync(name);
        using var session = Open(guest);
        var module = session.Model.Modules.Single(m => m.Path == guest.Program);
        var add3 = session.Symbols.For(module).Signature(CallsGuests.Add3(output))!;
        Assert.Equal("add3", add3.Name);
        Assert.Equal([("a", "long int"), ("b", "long int"), ("c", "long int")], add3.Parameters.Select(p => (p.Name, p.Type)));
        Assert.Equal("long int", add3.ReturnType);
        var seven = session.Symbols.For(module).Signature(session.Symbols.ResolveAddress($"{name}!seven"))!;
        Assert.Equal(["a", "b", "c", "d", "e", "f", "g"], seven.Parameters.Select(p => p.Name));
        var main = session.Symbols.For(module).Signature(session.Symbols.ResolveAddress($"{name}!main"))!;
        Assert.Equal([("argc", "int"), ("argv", "char **")], main.Parameters.Select(p => (p.Name, p.Type)));
    }

    [Fact]
    public async Task A_stripped_program_gets_its_symbols_from_a_debug_file_found_by_build_id()
    {
        var (original, _) = await guests.RecordAsync("calls-dynamic");
        var folder = Directory.CreateTempSubdirectory("rewind-symbols-").FullName;
        try
        {
            var stripped = Path.Combine(folder, "calls-stripped");
            var debug = Path.Combine(folder, "calls.debug");
            Run("objcopy", "--only-keep-debug", original.Program, debug);
            Run("objcopy", "--strip-all", original.Program, stripped);
            var buildId = ReadBuildId(stripped);
            var debugRoot = Path.Combine(folder, "debug");
            Directory.CreateDirectory(Path.Combine(debugRoot, ".build-id", buildId[..2]));
            File.Move(debug, Path.Combine(debugRoot, ".build-id", buildId[..2], buildId[2..] + ".debug"));
            var trace = Path.Combine(folder, "stripped.rwd");
            var record = await GuestRunner.RewindCommandAsync(["record", "-o", trace, "--", stripped], new RunSettings { WorkingDirectory = folder });
            Assert.Equal(0, record.ExitCode);
            var add3 = CallsGuests.Add3(record.StdoutText);

            GuestRunner.LoadEngine();
            using (var without = TraceSession.Open(trace))
            {
                without.DebugDirectories = [Path.Combine(folder, "nowhere")];
                var module = without.Model.Modules.Single(m => m.Path == stripped);
                Assert.DoesNotContain(without.Symbols.For(module).Symbols, s => s.Name == "add3");
                Assert.Contains("stripped", without.Symbols.For(module).Problem);
            }
            using var with = TraceSession.Open(trace);
            with.DebugDirectories = [debugRoot];
            Assert.Equal(add3, with.Symbols.ResolveAddress("calls-stripped!add3"));
            Assert.Equal("b", with.Symbols.For(with.Model.Modules.Single(m => m.Path == stripped)).Signature(add3)!.Parameters[1].Name);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Shared_libraries_have_their_dynamic_symbols_at_their_load_base()
    {
        var (guest, _) = await guests.RecordAsync("calls-dynamic");
        using var session = Open(guest);
        var libc = session.Model.Modules.Single(m => m.Name == "libc.so.6");
        var nm = NmDynamic(libc.Path);
        var symbols = session.Symbols.For(libc);
        foreach (var function in new[] { "malloc", "free", "printf", "longjmp" })
            Assert.Equal(libc.Address + nm[function], session.Symbols.ResolveAddress("libc.so.6!" + function));
        Assert.Equal(libc.Address + nm["malloc"], session.Symbols.ResolveAddress("libc!malloc"));
        Assert.NotEmpty(symbols.Symbols);
    }

    static Dictionary<string, ulong> NmDynamic(string library)
    {
        var info = new ProcessStartInfo("nm", ["-D", "--defined-only", library]) { RedirectStandardOutput = true };
        using var nm = Process.Start(info)!;
        var found = new Dictionary<string, ulong>();
        foreach (var line in nm.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length == 3)
                found.TryAdd(parts[2].Split('@')[0], ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
        nm.WaitForExit();
        return found;
    }

    static void Run(string tool, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardError = true })!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{tool} failed: {errors}");
    }

    /// <summary>The build-id as readelf -n prints it.</summary>
    static string ReadBuildId(string binary)
    {
        var info = new ProcessStartInfo("readelf", ["-n", binary]) { RedirectStandardOutput = true };
        using var readelf = Process.Start(info)!;
        var output = readelf.StandardOutput.ReadToEnd();
        readelf.WaitForExit();
        var line = output.Split('\n').Single(l => l.Contains("Build ID:", StringComparison.Ordinal));
        return line[(line.IndexOf("Build ID:", StringComparison.Ordinal) + 9)..].Trim();
    }
}
