using Xunit;

namespace Rewind.Linux.Tests;

public class GeneratedCodeTests
{
    [Fact]
    public async Task Syscall_table_code_is_what_the_generator_makes_of_syscalls_tbl()
    {
        var generated = Path.GetTempFileName();
        try
        {
            var run = await GuestRunner.NativeAsync("bash", [Path.Combine(GuestRunner.RepoRoot, "tools", "gen-syscalls.sh"), generated]);
            Assert.Equal(0, run.ExitCode);

            var committed = Path.Combine(GuestRunner.RepoRoot, "src", "Rewind.Linux", "Syscalls", "SyscallNumber.g.cs");
            Assert.True(File.ReadAllText(committed) == File.ReadAllText(generated),
                "SyscallNumber.g.cs is out of date: run tools/gen-syscalls.sh");
        }
        finally
        {
            File.Delete(generated);
        }
    }

    [Fact]
    public void Syscall_table_matches_the_kernel_numbers_the_host_headers_give()
    {
        // The table is data; the host's own unistd_64.h is an independent source for the numbers.
        var header = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
        if (!File.Exists(header))
            return;
        var fromHeader = File.ReadLines(header)
            .Where(line => line.StartsWith("#define __NR_", StringComparison.Ordinal))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(parts => parts[1]["__NR_".Length..], parts => int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
        var table = File.ReadLines(Path.Combine(GuestRunner.RepoRoot, "src", "Rewind.Linux", "Syscalls", "syscalls.tbl"))
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[1], parts => int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture));

        foreach (var (name, number) in table)
        {
            if (fromHeader.TryGetValue(name, out var expected))
                Assert.True(expected == number, $"{name}: table says {number}, the kernel header {expected}");
        }
    }
}
