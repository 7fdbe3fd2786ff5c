using System.Globalization;
using System.Text.RegularExpressions;
using Rewind.Query.Tests.Introspection;

namespace Rewind.Query.Tests.MemoryMap;

/// <summary>
/// memorymap on a trace of several processes (tests/guest/processes.c, whose second child execs
/// hello-static): each line carries the process that ran it. The child's pid comes from the program's
/// own output (the parent prints what fork returned); the exec'd image from the path it was given.
/// </summary>
public sealed partial class ProcessesMemoryMapTests
{
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
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [GeneratedRegex(@"^forked (\d+)$", RegexOptions.Multiline)]
    private static partial Regex ForkedPid();
}
