using System.Diagnostics;
using System.Globalization;

namespace Rewind.Query.Tests.Memory;

/// <summary>
/// The complete read/write list of a range against valgrind's lackey (--trace-mem=yes), which
/// sees every load and store of the native run: " L addr,size", " S addr,size", and " M addr,size"
/// for an instruction that loads and then stores the same bytes (a read, then a write here).
/// </summary>
public sealed class LackeyTests(GlobalsTraces traces) : IClassFixture<GlobalsTraces>
{
    [Fact]
    public async Task ReadsAndWritesOfTheProgramsDataMatchLackey()
    {
        GuestRunner.LoadEngine();
        var (trace, run) = await traces.GetAsync("static");
        // The global, then the program's other data behind it: its access log and counters.
        var (begin, end) = (run.Area, run.Area + 0x800);
        var expected = await LackeyAsync(GuestRunner.Guest("globals_rw-static"), begin, end);
        Assert.True(expected.Count > 100, $"lackey saw only {expected.Count} accesses to the range");

        using var session = TraceSession.Open(trace);
        var observed = session.Memory(begin, end, "rw")
            .Select(a => (a.AccessType == MemoryAccessType.Read ? 'R' : 'W', a.Address, a.Size)).ToList();
        Assert.Equal(expected, observed);
    }

    /// <summary>What lackey saw of [begin, end): one (kind, address, size) per access, M as a read then a write.</summary>
    static async Task<List<(char Kind, ulong Address, int Size)>> LackeyAsync(string program, ulong begin, ulong end)
    {
        var log = Path.Combine(Path.GetTempPath(), $"rewind-lackey-{Guid.NewGuid():N}.txt");
        try
        {
            // valgrind is a launcher script, not an ELF file: found in PATH as the shell would.
            var start = new ProcessStartInfo("valgrind")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "--tool=lackey", "--trace-mem=yes", $"--log-file={log}", program })
                start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"valgrind failed: {await errors}");
            await output;
            var accesses = new List<(char, ulong, int)>();
            foreach (var line in File.ReadLines(log))
            {
                // " L 04a7300,8": a space, the kind, the address in hex, the size.
                if (line.Length < 4 || line[0] != ' ' || line[1] is not ('L' or 'S' or 'M') || line[2] != ' ')
                    continue;
                var comma = line.IndexOf(',', StringComparison.Ordinal);
                var address = ulong.Parse(line.AsSpan(3, comma - 3), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var size = int.Parse(line.AsSpan(comma + 1), CultureInfo.InvariantCulture);
                if (address >= end || address + (ulong)size <= begin)
                    continue;
                if (line[1] is 'L' or 'M')
                    accesses.Add(('R', address, size));
                if (line[1] is 'S' or 'M')
                    accesses.Add(('W', address, size));
            }
            return accesses;
        }
        finally
        {
            File.Delete(log);
        }
    }
}
