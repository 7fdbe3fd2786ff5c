namespace Rewind.Linux.Tests;

/// <summary>
/// Kernel interfaces that real programs rely on give what they give natively, results and errors alike: each guest
/// program prints what every call returned (tests/guest/kernel_calls.c: FIFOs, extended attributes, scheduling and
/// I/O priorities, memory policies, groups, file times, eventfd).
/// </summary>
public sealed class KernelInterfacesTests
{
    public static TheoryData<string> Programs() => ["kernel_calls-static", "kernel_calls-dynamic", "kernel_calls-pie"];

    [Theory]
    [MemberData(nameof(Programs))]
    public async Task ResultsMatchNative(string guest)
    {
        var program = GuestRunner.Guest(guest);
        var native = await GuestRunner.NativeAsync(program, []);
        var emulated = await GuestRunner.RewindAsync(program, []);
        Assert.Equal(0, native.ExitCode);
        Assert.Equal(native.StdoutText, emulated.StdoutText);
        Assert.Equal(native.Stderr, emulated.Stderr);
        Assert.Equal(native.ExitCode, emulated.ExitCode);
    }
}
