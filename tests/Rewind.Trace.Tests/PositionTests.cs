using Rewind.Trace.Positions;
using Xunit;

namespace Rewind.Trace.Tests;

public class PositionTests
{
    // Syscalls at instructions 9 and 19 of a 30-instruction trace: sequences start at 0, 10 and 20.
    static readonly Timeline Timeline = new([9, 19], 30);

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(9, 0, 9)]
    [InlineData(10, 1, 0)]
    [InlineData(25, 2, 5)]
    [InlineData(29, 2, 9)]
    public void Instruction_counts_map_to_sequence_and_steps(long instruction, long sequence, long steps)
    {
        var position = Timeline.At(instruction);

        Assert.Equal((sequence, steps), (position.Sequence, position.Steps));
        Assert.Equal(instruction, Timeline.Resolve(new PositionText.SequenceSteps(sequence, steps)).Instruction);
    }

    [Fact]
    public void Every_instruction_has_exactly_one_position_in_order()
    {
        var positions = Enumerable.Range(0, 30).Select(i => Timeline.At(i)).ToList();

        Assert.Equal(positions.OrderBy(p => (p.Sequence, p.Steps)), positions);
        Assert.Equal(30, positions.Select(p => p.ToString()).Distinct().Count());
    }

    [Fact]
    public void Positions_print_as_upper_case_hex_without_prefix()
    {
        var wide = new Timeline([0x5c], 0x200);

        Assert.Equal("1:A", wide.At(0x5d + 0xa).ToString());
        Assert.Equal("0:5C", wide.At(0x5c).ToString());
    }

    [Theory]
    [InlineData("5D:113", typeof(PositionText.SequenceSteps))]
    [InlineData("5d:113", typeof(PositionText.SequenceSteps))]
    [InlineData("50%", typeof(PositionText.Percent))]
    [InlineData("12345", typeof(PositionText.Instruction))]
    public void Text_forms_parse(string text, Type kind) => Assert.IsType(kind, PositionText.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("5G:1")]
    [InlineData(":1")]
    [InlineData("1:")]
    [InlineData("101%")]
    [InlineData("-3")]
    [InlineData("0x10")]
    public void Malformed_text_is_a_format_error_with_a_message(string text)
    {
        var error = Assert.Throws<FormatException>(() => PositionText.Parse(text));
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Percent_picks_the_instruction_at_that_fraction()
    {
        Assert.Equal(15, Timeline.Resolve(PositionText.Parse("50%")).Instruction);
        Assert.Equal(29, Timeline.Resolve(PositionText.Parse("100%")).Instruction);
        Assert.Equal(0, Timeline.Resolve(PositionText.Parse("0%")).Instruction);
    }

    [Theory]
    [InlineData("3:0")]
    [InlineData("0:A")]
    [InlineData("30")]
    public void Positions_outside_the_trace_are_rejected(string text) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Timeline.Resolve(PositionText.Parse(text)));

    [Fact]
    public void Lifetime_spans_first_to_last_instruction()
    {
        var (start, end) = Timeline.Lifetime;

        Assert.Equal(0, start.Instruction);
        Assert.Equal(29, end.Instruction);
        Assert.Equal("2:9", end.ToString());
    }
}
