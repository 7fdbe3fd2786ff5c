using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Rewind.Query.Dx;

namespace Rewind.Query.Tests.Symbols;

/// <summary>
/// dx at a position: registers and memory reads against gdb stopped at the same place of the same
/// program, and the LINQ methods over calls against what calls.c printed.
/// </summary>
public sealed partial class DxStateTests(CallsGuests guests) : IClassFixture<CallsGuests>
{
    /// <summary>gdb, in batch mode, stopped at the first call of add3: register values and the return address at [rsp].</summary>
    static Dictionary<string, ulong> Gdb(string program)
    {
        var info = new ProcessStartInfo("gdb", ["-nx", "-batch", "-ex", "break add3", "-ex", "run", "-ex", "info registers rip rdi rsi rdx", "-ex", "x/1gx $sp", program])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var gdb = Process.Start(info)!;
        var output = gdb.StandardOutput.ReadToEnd();
        gdb.WaitForExit();
        var values = new Dictionary<string, ulong>();
        foreach (Match m in GdbRegister().Matches(output))
            values[m.Groups[1].Value] = ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var stack = GdbStack().Match(output);
        Assert.True(stack.Success && values.Count == 4, $"gdb printed something else:\n{output}");
        values["[rsp]"] = ulong.Parse(stack.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return values;
    }

    [GeneratedRegex(@"^(rip|rdi|rsi|rdx)\s+0x([0-9a-f]+)", RegexOptions.Multiline)]
    private static partial Regex GdbRegister();

    [GeneratedRegex(@"^0x[0-9a-f]+:\s+0x([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex GdbStack();

    [Fact]
    public async Task Registers_and_memory_at_a_position_are_what_gdb_shows_there()
    {
        var (guest, _) = await guests.RecordAsync("calls-static");
        var gdb = Gdb(guest.Program);
        GuestRunner.LoadEngine();
        using var session = TraceSession.Open(guest.Trace);
        var evaluator = new DxEvaluator(session);
        try
        {
            evaluator.Evaluate("@$cursession.TTD.Calls(\"calls-static!add3\")[0].TimeStart.SeekTo()");
            Assert.Equal((Int128)gdb["rip"], evaluator.Evaluate("@$ip"));
            Assert.Equal((Int128)gdb["rip"], evaluator.Evaluate("@rip"));
            Assert.Equal((Int128)gdb["rdi"], evaluator.Evaluate("@rdi"));
            Assert.Equal((Int128)gdb["rsi"], evaluator.Evaluate("@rsi"));
            Assert.Equal((Int128)gdb["rdx"], evaluator.Evaluate("@rdx"));
            Assert.Equal((Int128)gdb["[rsp]"], evaluator.Evaluate("*(unsigned long*)@$sp"));
            Assert.Equal((Int128)(gdb["[rsp]"] & 0xff), evaluator.Evaluate("*(unsigned char*)@rsp"));
            // The current position stays for later expressions; !tt moves it.
            Assert.Equal(true, evaluator.Evaluate("@$curthread.Position == @$cursession.TTD.Calls(\"calls-static!add3\")[0].TimeStart"));
            evaluator.TravelTo(session.Lifetime.Start.ToString());
            Assert.NotEqual((Int128)gdb["rip"], evaluator.Evaluate("@rip"));
            Assert.Throws<DxException>(() => evaluator.Evaluate("*(int*)0"));
            Assert.Throws<DxException>(() => evaluator.Evaluate("*0x1000"));
        }
        finally
        {
            evaluator.Cursor?.Dispose();
        }
    }

    [GeneratedRegex(@"^call fib (\d+) -> (\d+)$", RegexOptions.Multiline)]
    private static partial Regex FibLine();

    [Fact]
    public async Task Linq_methods_over_calls_agree_with_the_program_s_own_account()
    {
        var (guest, output) = await guests.RecordAsync("calls-static");
        var printed = FibLine().Matches(output).Select(m => (N: long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), R: long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();
        GuestRunner.LoadEngine();
        using var session = TraceSession.Open(guest.Trace);
        var evaluator = new DxEvaluator(session);
        const string Fib = "@$cursession.TTD.Calls(\"calls-static!fib\")";
        object? Dx(string rest) => evaluator.Evaluate(Fib + rest);
        try
        {
            Assert.Equal((Int128)printed.Count(p => p.R == 1), Dx(".Count(c => c.ReturnValue == 1)"));
            Assert.Equal((Int128)printed.Max(p => p.N), Dx(".OrderByDescending(c => c.Parameters[0]).First().Parameters[0]"));
            Assert.Equal((Int128)printed.Min(p => p.N), Dx(".OrderBy(c => c.Parameters[0]).First().Parameters[0]"));
            Assert.Equal((Int128)printed.Sum(p => p.N), Dx(".Sum(c => c.Parameters[0])"));
            Assert.Equal((Int128)printed.Max(p => p.R), Dx(".Max(c => c.ReturnValue)"));
            Assert.Equal((Int128)printed.Min(p => p.R), Dx(".Min(c => c.ReturnValue)"));
            Assert.Equal((Int128)printed.Select(p => p.N).Distinct().Count(), Dx(".Select(c => c.Parameters[0]).Distinct().Count()"));
            Assert.Equal((Int128)printed.GroupBy(p => p.N).Count(), Dx(".GroupBy(c => c.Parameters[0]).Count()"));
            Assert.Equal((Int128)printed.GroupBy(p => p.N).Max(g => g.Count()), Dx(".GroupBy(c => c.Parameters[0]).Select(g => g.Count()).Max()"));
            Assert.Equal((Int128)printed.Count, Dx(".GroupBy(c => c.Parameters[0]).Flatten().Count()"));
            Assert.Equal(true, Dx(".Any(c => c.Parameters[0] == 4)"));
            Assert.Equal(false, Dx(".Any(c => c.Parameters[0] == 5)"));
            Assert.Equal(true, Dx(".All(c => c.TimeStart < c.TimeEnd)"));
            Assert.Equal(true, Dx(".Select(c => c.ReturnValue).Contains(3)"));
            Assert.Equal((Int128)printed.Last(p => p.N == 1).R, Dx(".Last(c => c.Parameters[0] == 1).ReturnValue"));
            var error = Assert.Throws<DxException>(() => Dx(".Reverse()"));
            Assert.Contains("'Reverse'", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
        finally
        {
            evaluator.Cursor?.Dispose();
        }
    }
}
