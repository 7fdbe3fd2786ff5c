using Rewind.Query.MemoryMap;

namespace Rewind.Query.Tests.MemoryMap;

/// <summary>pcs are read as C strtoul reads them with base 0; instr_counts as decimal; both dash-delimited.</summary>
public sealed class MemoryMapArgumentsTests
{
    [Theory]
    [InlineData("0x401000", 0x401000UL)]
    [InlineData("0X401ABC", 0x401abcUL)]
    [InlineData("0x0", 0UL)]
    [InlineData("0", 0UL)]
    [InlineData("010", 8UL)]
    [InlineData("0777", 511UL)]
    [InlineData("4198400", 4198400UL)]
    [InlineData("0xffffffffffffffff", ulong.MaxValue)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    public void A_pc_is_read_with_strtoul_base_0_rules(string text, ulong expected) =>
        Assert.Equal(expected, MemoryMapArguments.ParseAddress(text));

    [Fact]
    public void A_pc_list_is_dash_delimited_and_may_mix_bases() =>
        Assert.Equal([0x10UL, 8UL, 10UL], MemoryMapArguments.ParsePcs("0x10-010-10"));

    [Theory]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("08")]
    [InlineData("0x12g")]
    [InlineData("12a")]
    [InlineData("-0x10")]
    [InlineData("0x10-")]
    [InlineData("0x10--0x20")]
    [InlineData(" 0x10")]
    [InlineData("0x10000000000000000")]
    [InlineData("18446744073709551616")]
    public void A_malformed_pc_list_is_a_one_line_error(string text)
    {
        var error = Assert.Throws<FormatException>(() => MemoryMapArguments.ParsePcs(text));
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("pc", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Instruction_counts_are_dash_delimited_decimals() =>
        Assert.Equal([0L, 17L, 1000000L], MemoryMapArguments.ParseInstructionCounts("0-17-1000000"));

    [Theory]
    [InlineData("")]
    [InlineData("0x10")]
    [InlineData("1.5")]
    [InlineData("-1")]
    [InlineData("1--2")]
    [InlineData("+5")]
    [InlineData("99999999999999999999")]
    public void A_malformed_count_list_is_a_one_line_error(string text)
    {
        var error = Assert.Throws<FormatException>(() => MemoryMapArguments.ParseInstructionCounts(text));
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("instr_counts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Neither_list_means_every_instruction()
    {
        Assert.True(MemoryMapArguments.Parse(null, null).ReportsEverything);
        Assert.False(MemoryMapArguments.Parse("0x1", null).ReportsEverything);
        Assert.False(MemoryMapArguments.Parse(null, "1").ReportsEverything);
    }
}
