using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Rewind.Linux.Tests;

/// <summary>
/// Multi-threaded programs under 'rewind run' print what they print natively: locked increments of
/// one counter, a producer and a consumer on condition variables, a thread that ends early, timed
/// waits that nobody ends, two threads that block in turn on a pipe between them, a main thread
/// that ends before its worker, a main thread that waits in pause and sigsuspend for its worker's
/// signals. Each
/// runs with the default time slice and with a short one (--preempt) that makes the threads
/// interleave inside their loops and contend for the lock.
/// </summary>
public sealed partial class ThreadsTests(HostFiles files) : IClassFixture<HostFiles>
{
    public static TheoryData<string, string> ThreadPrograms()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in new[] { "threads_counter", "threads_condvar", "threads_exit", "threads_timeout", "threads_pipe", "threads_main_exit", "threads_signal", "threads_tgkill" })
        {
            foreach (var variant in new[] { "static", "dynamic", "pie" })
            {
                data.Add($"{name}-{variant}", "default");
                data.Add($"{name}-{variant}", "997");
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ThreadPrograms))]
    public async Task ThreadedProgramMatchesNative(string program, string preempt)
    {
        var path = GuestRunner.Guest(program);
        var settings = new RunSettings { RewindOptions = preempt == "default" ? [] : ["--preempt", preempt] };
        var native = await GuestRunner.NativeAsync(path, []);
        var emulated = await GuestRunner.RewindAsync(path, [], settings);
        Assert.Equal(0, native.ExitCode);
        // Addresses (a PIE's are random natively) and tids differ between any two runs.
        Assert.Equal(Stable(native.StdoutText), Stable(emulated.StdoutText));
        Assert.Equal(native.Stderr, emulated.Stderr);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }

    /// <summary>Output without what differs from run to run natively: addresses and tids.</summary>
    static string Stable(string output) => RunDependent().Replace(output, "$1 ...");

    [GeneratedRegex(@"^(counter at|thread \d+ tid) .*$", RegexOptions.Multiline)]
    private static partial Regex RunDependent();

    [Fact]
    public async Task ThreadIdsAreDistinctAndFollowTheProcessId()
    {
        var emulated = await GuestRunner.RewindAsync(GuestRunner.Guest("threads_counter-static"), ["100"], new RunSettings { RewindOptions = ["--preempt", "500"] });
        Assert.Equal(0, emulated.ExitCode);
        var tids = Regex.Matches(emulated.StdoutText, @"^thread \d+ tid (\d+)$", RegexOptions.Multiline).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(4, tids.Length);
        Assert.Equal(tids.Length, tids.Distinct().Count());
        Assert.All(tids, tid => Assert.InRange(tid, tids.Min(), tids.Min() + 3));
    }

    [Fact]
    public async Task ParallelSortMatchesNative()
    {
        var input = Path.Combine(files.Root, "shuffled.txt");
        var lines = new StringBuilder();
        for (var i = 0; i < 60_000; i++)
            lines.Append(i * 7919L % 60_013).Append('\n');
        await File.WriteAllTextAsync(input, lines.ToString());
        string[] arguments = ["--parallel=2", "-n", input];
        var native = await GuestRunner.NativeAsync(GuestRunner.Tool("sort"), arguments);
        var emulated = await GuestRunner.RewindAsync(GuestRunner.Tool("sort"), arguments);
        Assert.Equal(0, native.ExitCode);
        Assert.Equal(SHA256.HashData(native.Stdout), SHA256.HashData(emulated.Stdout));
        Assert.Equal(native.Stderr, emulated.Stderr);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }

    [Fact]
    public async Task MultithreadedXzCompressesAsNatively()
    {
        // 256 KiB in blocks of 32 KiB give each of the two worker threads several blocks to compress.
        var input = Path.Combine(files.Root, "log-head.txt");
        await File.WriteAllBytesAsync(input, (await File.ReadAllBytesAsync(files.CompressibleFile))[..(256 << 10)]);
        string[] arguments = ["-T2", "--block-size=32KiB", "-c", input];
        var native = await GuestRunner.NativeAsync(GuestRunner.Tool("xz"), arguments);
        var emulated = await GuestRunner.RewindAsync(GuestRunner.Tool("xz"), arguments);
        Assert.Equal(0, native.ExitCode);
        Assert.Equal(SHA256.HashData(native.Stdout), SHA256.HashData(emulated.Stdout));
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }

    [Fact]
    public async Task DeadlockedThreadsEndTheProgramWithOneWarning()
    {
        // Natively the program hangs; under rewind no thread can run again, which ends it as SIGKILL would.
        var emulated = await GuestRunner.RewindAsync(GuestRunner.Guest("threads_deadlock-dynamic"), []);
        Assert.Equal("both locked\n", emulated.StdoutText);
        Assert.Equal(128 + 9, emulated.ExitCode);
        Assert.StartsWith("rewind: every thread waits for something that only another of them could do (a futex, a child): the program is deadlocked\n", emulated.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", emulated.Stderr, StringComparison.Ordinal);
    }
}
