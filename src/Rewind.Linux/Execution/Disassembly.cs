using System.Text;
using Iced.Intel;
using Rewind.Linux.Memory;

namespace Rewind.Linux.Execution;

/// <summary>One instruction as a debugger shows it: address, bytes, Intel syntax.</summary>
public static class Disassembly
{
    public static string At(AddressSpace memory, ulong address)
    {
        var bytes = new byte[15];
        var available = 15;
        while (available > 0 && !memory.Peek(address, bytes.AsSpan(0, available)))
            available--;
        if (available == 0)
            return $"{address:x16} ??";
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(bytes, 0, available), address);
        decoder.Decode(out var instruction);
        var output = new StringOutput();
        new IntelFormatter().Format(instruction, output);
        var hex = new StringBuilder();
        for (var i = 0; i < instruction.Length; i++)
            hex.Append(bytes[i].ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        return $"{address:x16} {hex,-20} {output}";
    }
}
