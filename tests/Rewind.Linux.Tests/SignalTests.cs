namespace Rewind.Linux.Tests;

/// <summary>
/// Signal programs under 'rewind run' print what they print natively and end with the same status:
/// handlers that siglongjmp out of faults or repair the context (SIGSEGV, SIGILL), timers that interrupt loops and
/// waits, signals sent to oneself, the alternate stack, and default actions (abort, SIGPIPE, int3).
/// Each program checks its own facts (si_addr against the address it computed, the stack it runs
/// on); the native run is the ground truth.
/// </summary>
public sealed class SignalTests
{
    /// <summary>Program (without variant), arguments, and the status it ends with natively.</summary>
    public static readonly TheoryData<string, string, int> Programs = Build();

    static TheoryData<string, string, int> Build()
    {
        (string Name, string Argument, int Status)[] programs =
        [
            ("segv_longjmp", "", 0),
            ("segv_fixup", "", 0),
            ("sigfpe_divide", "", 0),
            ("alarm_loop", "", 0),
            ("raise_siginfo", "", 128 + 15),
            ("altstack", "", 0),
            ("abort", "", 128 + 6),
            ("sigpipe", "", 0),
            ("sigpipe", "die", 128 + 13),
            ("sigsuspend_wait", "", 0),
            ("int3_trap", "", 0),
            ("int3_trap", "die", 128 + 5),
            ("sigill_skip", "", 0),
        ];
        var data = new TheoryData<string, string, int>();
        foreach (var (name, argument, status) in programs)
        {
            foreach (var variant in new[] { "static", "dynamic", "pie" })
                data.Add($"{name}-{variant}", argument, status);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public async Task SignalProgramMatchesNative(string program, string argument, int status)
    {
        var path = GuestRunner.Guest(program);
        string[] arguments = argument.Length == 0 ? [] : [argument];
        var native = await GuestRunner.NativeAsync(path, arguments);
        Assert.Equal(status, native.ExitCode);
        var emulated = await GuestRunner.RewindAsync(path, arguments);
        Assert.Equal(native.StdoutText, emulated.StdoutText);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
        // A signal ends Rewind by the same signal: the shell that started it, not Rewind, names the ending.
        Assert.DoesNotContain(Execution.SignalText.Describe((Execution.Signal)Math.Max(status - 128, 1)), emulated.Stderr, StringComparison.Ordinal);
        if (status <= 128)
            Assert.Equal("", emulated.Stderr);
    }
}
