namespace Rewind.Query.Symbols;

/// <summary>DWARF's variable-length numbers (LEB128), as .debug_info and .eh_frame store them; reading past the bytes throws.</summary>
internal static class Leb128
{
    public static ulong Unsigned(byte[] bytes, ref long position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[checked((int)position++)];
            if (shift < 64)
                value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
    }

    public static long Signed(byte[] bytes, ref long position)
    {
        long value = 0;
        var shift = 0;
        byte b;
        do
        {
            b = bytes[checked((int)position++)];
            if (shift < 64)
                value |= (long)(b & 0x7f) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);
        if (shift < 64 && (b & 0x40) != 0)
            value |= -1L << shift;
        return value;
    }
}
