using System.Text.RegularExpressions;

namespace Rewind.Gdb.Tests;

/// <summary>
/// Runs the machine's gdb in batch mode on a script: natively on a program (the ground truth for
/// what gdb shows going forward, and with 'record full' going backward), or connected to a trace
/// through 'rewind debug'. What differs only because of how gdb was connected is left out.
/// </summary>
internal static partial class GdbDriver
{
    /// <summary>
    /// glibc's AVX and AVX-512 string functions, which gdb's 'record full' cannot record: natively
    /// turned off for reverse runs (Rewind's guests never get them: they see a CPU without AVX).
    /// </summary>
    const string NoAvx = "glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX2,-AVX,-EVEX,-BMI2,-RTM";

    /// <summary>gdb on <paramref name="program"/>, stopped at main first (and recording from there with <paramref name="record"/>), then <paramref name="body"/>.</summary>
    public static async Task<string> NativeAsync(string program, string body, bool record = false)
    {
        var prologue = record
            ? $"set environment GLIBC_TUNABLES={NoAvx}\nbreak main\nrun\nrecord\n"
            : "break main\nrun\n";
        var result = await RunGdbAsync(["-nx", "-batch", "-x", Script(prologue + body), program]);
        return Normalize(result);
    }

    /// <summary>gdb connected to <paramref name="trace"/> by 'rewind debug', run to main first, then <paramref name="body"/>.</summary>
    public static async Task<string> ReplayAsync(string trace, string body, IEnumerable<string>? rewindOptions = null, bool toMain = true)
    {
        var result = await GuestRunner.RewindCommandAsync(["debug", trace, .. rewindOptions ?? [], "--", "-nx", "-batch", "-x", Script((toMain ? "break main\ncontinue\n" : "") + body)]);
        Assert.True(result.ExitCode == 0, $"rewind debug failed: {result}");
        return Normalize(result);
    }

    public static async Task<RunResult> RunGdbAsync(IEnumerable<string> arguments)
    {
        var result = await GuestRunner.NativeAsync("gdb", arguments);
        Assert.True(result.ExitCode == 0, $"gdb failed: {result}");
        return result;
    }

    public static string Script(string text)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("rewind-gdb-tests-").FullName, "script.gdb");
        File.WriteAllText(path, "set pagination off\nset width 0\n" + text);
        return path;
    }

    /// <summary>
    /// gdb's output without what depends on the connection: file transfers, thread library notes,
    /// the first stop (native: none; remote: the program's first instruction), detaching and exits.
    /// </summary>
    static string Normalize(RunResult result)
    {
        var lines = (result.StdoutText + result.Stderr).Split('\n')
            .Where(line => !Noise().IsMatch(line))
            .Select(line => line.TrimEnd());
        return string.Join('\n', lines).Trim();
    }

    [GeneratedRegex(@"^(Reading |warning: |\[Thread debugging|Using host libthread_db|rewind: |\[Inferior |\[Detaching|Breakpoint 1 at |0x[0-9a-f]+ in _start \(\))|^$")]
    private static partial Regex Noise();
}
