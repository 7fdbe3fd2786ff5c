namespace Rewind.Query.Dx;

/// <summary>The C types dx casts know (x86-64 Linux sizes) and how a value read as one of them becomes a number.</summary>
internal static class DxTypes
{
    static readonly Dictionary<string, int> Sizes = new(StringComparer.Ordinal)
    {
        ["char"] = 1,
        ["signed char"] = 1,
        ["unsigned char"] = 1,
        ["short"] = 2,
        ["unsigned short"] = 2,
        ["int"] = 4,
        ["unsigned int"] = 4,
        ["unsigned"] = 4,
        ["long"] = 8,
        ["unsigned long"] = 8,
        ["long long"] = 8,
        ["unsigned long long"] = 8,
        ["int8_t"] = 1,
        ["uint8_t"] = 1,
        ["int16_t"] = 2,
        ["uint16_t"] = 2,
        ["int32_t"] = 4,
        ["uint32_t"] = 4,
        ["int64_t"] = 8,
        ["uint64_t"] = 8,
        ["size_t"] = 8,
        ["ssize_t"] = 8,
        ["uintptr_t"] = 8,
        ["void"] = 1,
    };

    static readonly HashSet<string> Words = ["char", "short", "int", "long", "unsigned", "signed", "void", "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t",
        "int64_t", "uint64_t", "size_t", "ssize_t", "uintptr_t"];

    public static bool IsTypeWord(string word) => Words.Contains(word);

    /// <summary>The size of a type in bytes; null when dx does not know it.</summary>
    public static int? SizeOf(string type) => Sizes.TryGetValue(type, out var size) ? size : null;

    /// <summary>Whether values of the type are signed (char is, as on x86-64 Linux).</summary>
    public static bool IsSigned(string type) => !type.StartsWith('u') && !type.StartsWith("unsigned", StringComparison.Ordinal) && type is not ("size_t" or "void");

    /// <summary>The low <paramref name="size"/> bytes of <paramref name="value"/> as the type's number.</summary>
    public static Int128 Convert(ulong value, int size, bool signed)
    {
        if (size >= 8)
            return signed ? (long)value : value;
        var bits = size * 8;
        var low = value & ((1UL << bits) - 1);
        return signed && (low >> (bits - 1)) != 0 ? (Int128)(long)(low | ~((1UL << bits) - 1)) : low;
    }
}
