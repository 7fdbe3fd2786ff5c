using Xunit;

namespace Rewind.Trace.Tests;

public class VarintTests
{
    [Theory]
    [InlineData(0UL)]
    [InlineData(127UL)]
    [InlineData(128UL)]
    [InlineData(ulong.MaxValue)]
    public void Unsigned_values_round_trip(ulong value)
    {
        var writer = new VarintWriter();
        writer.Write(value);
        var reader = new VarintReader(writer.Written);

        Assert.Equal(value, reader.ReadUnsigned());
        Assert.True(reader.AtEnd);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    [InlineData(long.MaxValue)]
    public void Signed_values_round_trip(long value)
    {
        var writer = new VarintWriter();
        writer.WriteSigned(value);

        Assert.Equal(value, new VarintReader(writer.Written).ReadSigned());
    }

    [Fact]
    public void Truncated_input_is_invalid_data_not_a_crash()
    {
        var writer = new VarintWriter();
        writer.Write(ulong.MaxValue);
        var bytes = writer.Written[..3].ToArray();

        Assert.Throws<InvalidDataException>(() => new VarintReader(bytes).ReadUnsigned());
    }
}
