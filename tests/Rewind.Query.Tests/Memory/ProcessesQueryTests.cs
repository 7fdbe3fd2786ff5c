using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Rewind.Query.Tests.Introspection;

namespace Rewind.Query.Tests.Memory;

/// <summary>
/// Queries on a trace of several processes (tests/guest/processes.c, whose second child execs
/// hello-static). memorymap: each line carries the process that ran it; the child's pid comes from the
/// program's own output (the parent prints what fork returned), the exec'd image from the path it was
/// given; the events list each child's exit. Memory: a global that parent and child each set in their own
/// address space, at the address the program prints.
/// </summary>
public sealed partial class ProcessesQueryTests
{
    [Fact]
    public async Task Memory_lists_each_process_own_accesses_in_execution_order()
    {
        var folder = Directory.CreateTempSubdirectory("rewind-query-tests-").FullName;
        try
        {
            var trace = Path.Combine(folder, "run.rwd");
            var record = await GuestRunner.RewindCommandAsync(["record", "-o", trace, "--", GuestRunner.Guest("processes-static"), GuestRunner.Guest("hello-static"), "10", "show"],
                new RunSettings { WorkingDirectory = folder });
            Assert.True(record.ExitCode == 0, $"recording: {record}");
            Assert.Contains("marker in the parent after the child set its own: 1\n", record.StdoutText, StringComparison.Ordinal);
            var marker = ulong.Parse(MarkerAddress().Match(record.StdoutText).Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

            var accesses = (await QueryCli.JsonLinesAsync("memory", trace, $"0x{marker:x}", $"0x{marker + 4:x}", "rw"))
                .Select(o => (Type: o.GetProperty("AccessType").GetString(), Value: o.GetProperty("Value").GetString(), Thread: o.GetProperty("UniqueThreadId").GetInt64()))
                .ToArray();
            // The parent sets 1 before the fork, the child sets its copy to 2, the parent prints its own, still 1.
            Assert.Equal(3, accesses.Length);
            Assert.Equal(("Write", "0x1", 1L), accesses[0]);
            Assert.Equal(("Write", "0x2"), (accesses[1].Type, accesses[1].Value));
            Assert.NotEqual(1L, accesses[1].Thread);
            Assert.Equal(("Read", "0x1", 1L), accesses[2]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [GeneratedRegex(@"^marker at 0x([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex MarkerAddress();

    [Fact]
    public async Task Each_instruction_shows_its_own_process_and_the_exec_changes_name_and_image()
    {
        var folder = Directory.CreateTempSubdirectory("rewind-query-tests-").FullName;
        try
        {
            var program = GuestRunner.Guest("processes-static");
            var hello = GuestRunner.Guest("hello-static");
            var trace = Path.Combine(folder, "run.rwd");
            // Few lines through the pipe: a short trace, whose every line the test reads.
            var record = await GuestRunner.RewindCommandAsync(["record", "-o", trace, "--", program, hello, "10"], new RunSettings { WorkingDirectory = folder });
            Assert.True(record.ExitCode == 0, $"recording: {record}");
            var child = int.Parse(ForkedPid().Match(record.StdoutText).Groups[1].Value, CultureInfo.InvariantCulture);

            var lines = MemoryMapLine.ParseAll(await QueryCli.OutputAsync("memorymap", trace));
            var root = lines[0].Pid;
            Assert.NotEqual(root, child);
            // The parent's own instructions, with its own image.
            Assert.Contains(lines, l => l.Pid == root && l.Process == "processes-stati" && l.ImagePath == program);
            // The child ran the parent's code under its own pid until its exec, then hello-static's.
            var childLines = lines.Where(l => l.Pid == child).ToArray();
            Assert.Contains(childLines, l => l.Process == "processes-stati" && l.ImagePath == program);
            var afterExec = childLines.SkipWhile(l => l.Process != "hello-static").ToArray();
            Assert.NotEmpty(afterExec);
            Assert.All(afterExec, l => Assert.Equal("hello-static", l.Process));
            Assert.All(afterExec, l => Assert.Equal(child, l.Tid));
            Assert.Equal(hello, afterExec[0].ImagePath);
            // No line of hello-static under another pid, and instruction counts run on across processes.
            Assert.All(lines.Where(l => l.Process == "hello-static"), l => Assert.Equal(child, l.Pid));
            Assert.Equal(Enumerable.Range(0, lines.Length).Select(i => (long)i), lines.Select(l => l.InstructionCount));

            // The events list the child's exit (hello-static returns 3) and, last, the first process's.
            var exits = (await QueryCli.JsonLinesAsync("events", trace)).Where(e => e.GetProperty("Type").GetString() == "ProcessExit")
                .Select(e => (Pid: e.GetProperty("ProcessId").GetInt32(), Code: e.GetProperty("ExitCode").GetInt32())).ToArray();
            Assert.Contains((child, 3), exits);
            Assert.Equal((root, 0), exits[^1]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [GeneratedRegex(@"^forked (\d+)$", RegexOptions.Multiline)]
    private static partial Regex ForkedPid();
}
