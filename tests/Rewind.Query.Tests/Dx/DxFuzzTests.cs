using System.Diagnostics;
using System.Globalization;
using Rewind.Query.Dx;
using Rewind.Query.Tests.Symbols;
using Xunit.Abstractions;

namespace Rewind.Query.Tests.Dx;

/// <summary>
/// A seeded mutation fuzz of the dx parser and evaluator on a real trace: expressions from a corpus
/// of valid ones, cut, spliced, repeated and sprinkled with tokens, each parsed, evaluated and
/// shown. Every one must end, within a time limit, in a value or in one of the one-line errors the
/// command prints; any other exception is a bug, and a stack overflow ends the test run.
/// REWIND_DX_FUZZ_SECONDS and REWIND_DX_FUZZ_SEED run it longer or with another seed (nightly:
/// REWIND_DX_FUZZ_SECONDS=3600 dotnet test tests/Rewind.Query.Tests --filter DxFuzzTests).
/// </summary>
public sealed class DxFuzzTests(CallsGuests guests, ITestOutputHelper output) : IClassFixture<CallsGuests>
{
    static readonly string[] Corpus =
    [
        "@$cursession.TTD.Memory(calls-static!add3, calls-static!add3+1, \"e\")",
        "@$cursession.TTD.Memory(calls-static!add3, calls-static!add3 + 1, \"e\").Where(m => m.Value == 0x53 || m.Size > 1).Count()",
        "@$cursession.TTD.Memory(0x401000, 0x401010, \"rwe\")[0].TimeStart.SeekTo()",
        "@$curprocess.TTD.Lifetime.MaxPosition.Sequence + 0x10 * (3 - 1) % 7",
        "@$curprocess.TTD.Events.Select(e => e.Type).First()",
        "@$curprocess.TTD.Threads[0].Lifetime",
        "@$curprocess.Modules.Where(m => m.Name == \"calls-static\").Select(m => m.BaseAddress).Last()",
        "@$cursession.TTD.Memory(&add3, &add3 + 4, \"e\").Skip(1).Take(2)",
        "(1 + 2) * -3 == -9 && !(\"a\" != \"a\")",
        "@$curprocess.TTD.Events.Where(e => e.Position > \"0:10\").Count()",
        "00000000`00401000 + 0n10",
        "*(unsigned long*)@$sp + *(char*)@rdi + (int)@rax",
        "(char*)*(unsigned long*)(@rsp + 8)",
        "@$cursession.TTD.Calls(\"calls-static!fib\").GroupBy(c => c.Parameters[0]).OrderBy(g => g.Key).Flatten().Sum(c => c.ReturnValue)",
    ];

    static readonly string[] Pieces =
    [
        "(", ")", "[", "]", ".", ",", "=>", "==", "!=", "<", ">=", "&&", "||", "!", "-", "+", "*", "/", "%", "\"", "@$", "@$cursession",
        "0x", "0n", "`", "m", " ", "x => x", "Count()", "Where(", "SeekTo()", "TimeStart", "(unsigned long*)", "(char)", "@rip", "@$curthread", "Max(", "GroupBy(x => x)", "!add3", "calls-static!", "&", "*", "?", "0xffffffffffffffff",
        "99999999999999999999999999999999999999999", "\\", "\u00e9", "\0",
    ];

    [Fact]
    public async Task Mutated_expressions_end_in_a_value_or_a_one_line_error()
    {
        var (guest, _) = await guests.RecordAsync("calls-static");
        GuestRunner.LoadEngine();
        using var session = TraceSession.Open(guest.Trace);
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("REWIND_DX_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 12;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("REWIND_DX_FUZZ_SEED"), CultureInfo.InvariantCulture, out var given) ? given : 20261202;
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        var evaluator = new DxEvaluator(session);
        var (tried, values, errors) = (0, 0, 0);
        try
        {
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                var text = Mutate(random);
                tried++;
                var run = Task.Run(() => Evaluate(evaluator, text));
                if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))) != run)
                    Assert.Fail($"seed {seed}: no answer after 30 s to: {Shorten(text)}");
                var (failure, isValue) = await run;
                if (failure is not null)
                    Assert.Fail($"seed {seed}: {failure.GetType().Name} ({failure.Message}) for: {Shorten(text)}\n{failure.StackTrace}");
                if (isValue)
                    values++;
                else
                    errors++;
            }
        }
        finally
        {
            evaluator.Cursor?.Dispose();
        }
        output.WriteLine($"seed {seed}: {tried} expressions in {clock.Elapsed.TotalSeconds:F1} s, {values} values, {errors} errors");
        Assert.True(tried > 50, $"only {tried} expressions in {seconds} s");
    }

    /// <summary>No failure when the expression gave a value or an error the command shows in one line; else the exception.</summary>
    static (Exception? Failure, bool Value) Evaluate(DxEvaluator evaluator, string text)
    {
        try
        {
            var value = evaluator.Evaluate(text);
            foreach (var _ in DxFormatter.Format(text, value, recursion: 2).Take(300))
            {
            }
            return (null, true);
        }
        catch (DxException e)
        {
            return (e.Message.Contains('\n', StringComparison.Ordinal) ? e : null, false);
        }
        catch (Exception e) when (e.GetType() == typeof(ArgumentException) || e.GetType() == typeof(FormatException) || e.GetType() == typeof(InvalidOperationException))
        {
            // What the dx command prints as a one-line error (an empty range, an unmapped read).
            return (e.Message.Contains('\n', StringComparison.Ordinal) ? e : null, false);
        }
        catch (Exception e)
        {
            return (e, false);
        }
    }

    static string Shorten(string text) => text.Length <= 400 ? text : $"{text[..400]}... ({text.Length} characters)";

    static string Mutate(Random random)
    {
        var text = Corpus[random.Next(Corpus.Length)];
        var edits = random.Next(1, 6);
        for (var i = 0; i < edits; i++)
        {
            var at = random.Next(text.Length + 1);
            switch (random.Next(7))
            {
                case 0:
                    text = text.Insert(at, Pieces[random.Next(Pieces.Length)]);
                    break;
                case 1 when text.Length > 0:
                    text = text.Remove(Math.Min(at, text.Length - 1), Math.Min(random.Next(1, 8), text.Length - Math.Min(at, text.Length - 1)));
                    break;
                case 2:
                    var other = Corpus[random.Next(Corpus.Length)];
                    var from = random.Next(other.Length);
                    text = text.Insert(at, other[from..Math.Min(other.Length, from + random.Next(1, 30))]);
                    break;
                case 3:
                    var depth = random.Next(1, 400);
                    text = new string('(', depth) + text + new string(')', random.Next(depth - 2, depth + 2));
                    break;
                case 4 when text.Length < 400:
                    // Long chains of a cheap term; trace queries are repeated a few times only.
                    var term = text.Contains("TTD.Memory", StringComparison.Ordinal) ? text : "0x1 == 1";
                    text = string.Join(random.Next(2) == 0 ? " || " : " + ", Enumerable.Repeat(term, term == text ? random.Next(2, 4) : random.Next(2, 3000)));
                    break;
                case 5 when text.Length > 0:
                    var chars = text.ToCharArray();
                    chars[Math.Min(at, chars.Length - 1)] = (char)random.Next(32, 127);
                    text = new string(chars);
                    break;
                default:
                    text = text[..at] + text[at..].Replace(")", "", StringComparison.Ordinal);
                    break;
            }
        }
        return text;
    }
}
