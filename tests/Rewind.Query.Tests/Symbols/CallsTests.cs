using System.Globalization;
using System.Text.RegularExpressions;
using Rewind.Query.Calls;

namespace Rewind.Query.Tests.Symbols;

/// <summary>
/// TTD.Calls against what calls.c printed about each of its calls as it returned: how many,
/// their parameters and results, the order of returns, nesting, and the call that longjmp left.
/// </summary>
public sealed partial class CallsTests(CallsGuests guests) : IClassFixture<CallsGuests>
{
    /// <summary>"call NAME ARGS -> RESULT" lines of one function, in the order they were printed (the order of returns).</summary>
    static List<(long[] Arguments, long Result)> Printed(string output, string name) =>
        CallLine().Matches(output).Where(m => m.Groups[1].Value == name)
            .Select(m => (m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => long.Parse(a, CultureInfo.InvariantCulture)).ToArray(),
                long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)))
            .ToList();

    [GeneratedRegex(@"^call (\w+) ([-0-9 ]+) -> (-?\d+)$", RegexOptions.Multiline)]
    private static partial Regex CallLine();

    [Theory]
    [MemberData(nameof(CallsGuests.Variants), MemberType = typeof(CallsGuests))]
    public async Task Calls_have_the_arguments_results_and_order_the_program_printed(string name)
    {
        var (guest, output) = await guests.RecordAsync(name);
        GuestRunner.LoadEngine();
        using var session = TraceSession.Open(guest.Trace);

        var add3 = session.Calls($"{name}!add3").ToList();
        var printed = Printed(output, "add3");
        Assert.Equal(printed.Count, add3.Count);
        for (var i = 0; i < add3.Count; i++)
        {
            Assert.Equal(printed[i].Arguments.Select(a => (ulong)a), add3[i].Parameters);
            Assert.Equal((ulong)printed[i].Result, add3[i].ReturnValue);
            Assert.Equal(CallEnd.Returned, add3[i].End);
            Assert.True(add3[i].TimeStart < add3[i].TimeEnd);
            Assert.Equal($"{name}!add3", add3[i].Function);
            Assert.Equal(CallsGuests.Add3(output), add3[i].FunctionAddress);
            Assert.Equal("c", add3[i].Signature!.Parameters[2].Name);
        }

        // fib(4) recurses: printed as each call returns, so ordering by return gives the printed order.
        var fib = session.Calls($"{name}!fib").ToList();
        var fibPrinted = Printed(output, "fib");
        Assert.Equal(fibPrinted.Count, fib.Count);
        Assert.Equal(fibPrinted.Select(p => ((ulong)p.Arguments[0], (ulong)p.Result)), fib.OrderBy(c => c.TimeEnd).Select(c => (c.Parameters[0], c.ReturnValue!.Value)));
        Assert.Equal(fib.OrderBy(c => c.TimeStart), fib);
        var outer = fib[0];
        Assert.Equal(4UL, outer.Parameters[0]);
        Assert.All(fib.Skip(1), inner => Assert.True(inner.TimeStart > outer.TimeStart && inner.TimeEnd < outer.TimeEnd, "every inner call lies within fib(4)"));

        // The seventh parameter is passed on the stack.
        var seven = Assert.Single(session.Calls($"{name}!seven"));
        Assert.Equal(Printed(output, "seven").Single().Arguments.Select(a => (ulong)a), seven.Parameters);
        Assert.Equal((ulong)Printed(output, "seven").Single().Result, seven.ReturnValue);

        // longjmp leaves the frame without a return.
        var unwound = Assert.Single(session.Calls($"{name}!leave_by_longjmp"));
        Assert.Equal(CallEnd.Unwound, unwound.End);
        Assert.Null(unwound.ReturnValue);
        Assert.True(unwound.TimeEnd > unwound.TimeStart && unwound.TimeEnd < session.Lifetime.End);
        Assert.Equal(3UL, unwound.Parameters[0]);

        // Several functions at once come in call order.
        var both = session.Calls($"{name}!add3", $"{name}!seven").ToList();
        Assert.Equal(add3.Count + 1, both.Count);
        Assert.Equal(both.OrderBy(c => c.TimeStart), both);
    }

    [Fact]
    public async Task A_pattern_that_names_no_function_is_a_one_line_error()
    {
        var (guest, _) = await guests.RecordAsync("calls-static");
        GuestRunner.LoadEngine();
        using var session = TraceSession.Open(guest.Trace);
        var error = Assert.Throws<FormatException>(() => session.Calls("calls-static!no_such_function"));
        Assert.DoesNotContain('\n', error.Message);
    }
}
