using Rewind.Query.Dx;

namespace Rewind.Query.Tests.Dx;

/// <summary>The dx expression language without a trace: parsing, precedence, errors that point at the bad spot.</summary>
public sealed class DxParserTests
{
    // Expressions that touch no trace object never reach the session.
    static object? Evaluate(string text) => new DxEvaluator(null!).Evaluate(text);

    [Theory]
    [InlineData("1 + 2 * 3", 7)]
    [InlineData("(1 + 2) * 3", 9)]
    [InlineData("0x10 - 0n10 - 1", 5)]
    [InlineData("-3 + 10 % 4", -1)]
    [InlineData("00000000`00401000", 0x401000)]
    public void ArithmeticFollowsPrecedence(string text, long expected) => Assert.Equal((Int128)expected, Evaluate(text));

    [Theory]
    [InlineData("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 4 || 5 == 5", true)]
    [InlineData("\"Write\" == \"Write\" && \"Read\" != \"Write\"", true)]
    [InlineData("!(1 == 1)", false)]
    [InlineData("true && !false", true)]
    public void ComparisonsAndLogic(string text, bool expected) => Assert.Equal(expected, Evaluate(text));

    [Theory]
    [InlineData(8000)]
    [InlineData(300)]
    public void DeepNestingIsAnErrorNotAStackOverflow(int depth)
    {
        var text = new string('(', depth) + "1" + new string(')', depth);
        var error = Assert.Throws<DxException>(() => DxParser.Parse(text));
        Assert.Contains("nests more than", error.Message, StringComparison.Ordinal);
        Assert.Throws<DxException>(() => DxParser.Parse(new string('!', depth) + "true"));
        Assert.Throws<DxException>(() => DxParser.Parse("1" + string.Concat(Enumerable.Repeat(".a", depth))));
    }

    [Fact]
    public void NestingWithinTheLimitStillEvaluates() =>
        Assert.Equal((Int128)1, Evaluate(new string('(', 200) + "1" + new string(')', 200)));

    [Fact]
    public void ChainsOfThousandsOfTermsEvaluateInALoop()
    {
        // Left-leaning trees as deep as the chain: evaluated recursively, they would need a frame per term.
        var terms = Enumerable.Range(0, 100_000).ToArray();
        Assert.Equal(true, Evaluate(string.Join(" || ", terms.Select(i => $"{i} == 99999"))));
        Assert.Equal(false, Evaluate(string.Join(" && ", terms.Select(i => $"{i} != 99999"))));
        Assert.Equal((Int128)terms.Sum(i => (long)i), Evaluate(string.Join(" + ", terms)));
    }

    [Fact]
    public void ALambdaParsesToItsParameterAndBody()
    {
        var lambda = Assert.IsType<DxLambda>(DxParser.Parse("m => m.AccessType == \"Write\" && m.Size > 4"));
        Assert.Equal("m", lambda.Parameter);
        var and = Assert.IsType<DxBinary>(lambda.Body);
        Assert.Equal("&&", and.Operator);
        var left = Assert.IsType<DxBinary>(and.Left);
        Assert.Equal(new DxMember(new DxName("m", 5, 1), "AccessType", 5, 12), left.Left);
    }

    [Fact]
    public void MembersCallsAndIndexesChain()
    {
        var node = DxParser.Parse("@$cursession.TTD.Memory(0x10, 0x20, \"rw\")[0x3].TimeStart.SeekTo()");
        var seek = Assert.IsType<DxCall>(node);
        Assert.Equal("SeekTo", seek.Name);
        var start = Assert.IsType<DxMember>(seek.Target);
        var index = Assert.IsType<DxIndex>(start.Target);
        Assert.Equal(new DxNumber(3, 42, 3), index.Index);
        var memory = Assert.IsType<DxCall>(index.Target);
        Assert.Equal(3, memory.Arguments.Count);
        Assert.Equal(new DxString("rw", 36, 4), memory.Arguments[2]);
    }

    [Theory]
    [InlineData("@$cursession.TTD.Memory(0x1, 0x2", 32, "expected ',' or ')'")]
    [InlineData("@$cursession.TTD.Memory(0x1,, 0x2)", 28, "expected a number, a string, a name or '('")]
    [InlineData("@$cursession..TTD", 13, "expected a member name after '.'")]
    [InlineData("1 +", 3, "found the end of the expression")]
    [InlineData("0xzz + 1", 0, "'0xzz' is not a number")]
    [InlineData("12ab", 0, "'12ab' is not a number")]
    [InlineData("\"abc", 0, "the string is not closed")]
    [InlineData("a = b", 2, "compare with '=='")]
    [InlineData("1 2", 2, "expected an operator")]
    [InlineData("f(1)", 1, "expected an operator")]
    [InlineData("1 < 2 < 3", 6, "comparisons do not chain")]
    [InlineData("[1]", 0, "expected a number, a string, a name or '('")]
    [InlineData("@$", 0, "expected a name after '@$'")]
    [InlineData("x # y", 2, "unexpected character '#'")]
    [InlineData("", 0, "the expression is empty")]
    public void ASyntaxErrorPointsAtTheBadSpot(string text, int offset, string message)
    {
        var error = Assert.Throws<DxException>(() => DxParser.Parse(text));
        Assert.Equal(offset, error.Offset);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        var pointer = error.Pointer(text).Split('\n');
        Assert.Equal(text, pointer[0]);
        Assert.Equal(offset, pointer[1].IndexOf('^', StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("x.Size", 0, "unknown name 'x'")]
    [InlineData("1 / 0", 4, "division by zero")]
    [InlineData("\"a\" < 1", 0, "cannot compare a string with a number")]
    [InlineData("1 && true", 0, "'&&' needs conditions")]
    [InlineData("@$nothing", 0, "unknown variable '@$nothing'")]
    public void AnEvaluationErrorPointsAtItsPart(string text, int offset, string message)
    {
        var error = Assert.Throws<DxException>(() => Evaluate(text));
        Assert.Equal(offset, error.Offset);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
