namespace Rewind.Query.MemoryMap;

/// <summary>
/// memorymap's two arguments, parsed as PANDA parses them: <c>pcs</c> is a dash-delimited list of
/// addresses read with C strtoul's base-0 rules (0x or 0X: hex, a leading 0: octal, otherwise
/// decimal), <c>instr_counts</c> a dash-delimited list of decimal instruction counts. Unlike
/// strtoul, anything malformed is an error (a <see cref="FormatException"/> with a one-line message)
/// instead of a silent 0.
/// </summary>
public sealed record MemoryMapArguments(IReadOnlyList<ulong> Pcs, IReadOnlyList<long> InstructionCounts)
{
    public static readonly MemoryMapArguments Everything = new([], []);

    /// <summary>Neither list given: every instruction is reported.</summary>
    public bool ReportsEverything => Pcs.Count == 0 && InstructionCounts.Count == 0;

    public static MemoryMapArguments Parse(string? pcs, string? instructionCounts) =>
        new(pcs is null ? [] : ParsePcs(pcs), instructionCounts is null ? [] : ParseInstructionCounts(instructionCounts));

    public static ulong[] ParsePcs(string text) => Split(text, "pcs").Select(ParseAddress).ToArray();

    public static long[] ParseInstructionCounts(string text) => Split(text, "instr_counts").Select(ParseCount).ToArray();

    static string[] Split(string text, string what)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new FormatException($"{what} is empty: expected a dash-delimited list such as {Example(what)}");
        var items = text.Split('-');
        if (items.Any(string.IsNullOrEmpty))
            throw new FormatException($"{what} '{text}' has an empty item: expected a dash-delimited list such as {Example(what)}");
        return items;
    }

    static string Example(string what) => what == "pcs" ? "0x401000-0x401010" : "0-1000-20000";

    /// <summary>One address with strtoul base-0 rules.</summary>
    public static ulong ParseAddress(string text)
    {
        var (digits, radix) = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? (text[2..], 16)
            : text.Length > 1 && text[0] == '0' ? (text[1..], 8)
            : (text, 10);
        if (digits.Length == 0)
            throw new FormatException($"pc '{text}' is not an address: expected hex (0x401000), octal (0777) or decimal");
        ulong value = 0;
        foreach (var c in digits)
        {
            var digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (digit >= radix)
            {
                var kind = radix switch { 16 => "hex", 8 => "octal (it starts with 0)", _ => "decimal" };
                throw new FormatException($"pc '{text}' is not a valid {kind} number: expected hex (0x401000), octal (0777) or decimal");
            }
            if (value > ulong.MaxValue / (ulong)radix || value * (ulong)radix > ulong.MaxValue - (ulong)digit)
                throw new FormatException($"pc '{text}' does not fit in 64 bits");
            value = value * (ulong)radix + (ulong)digit;
        }
        return value;
    }

    /// <summary>One decimal instruction count.</summary>
    public static long ParseCount(string text)
    {
        if (!text.All(char.IsAsciiDigit))
            throw new FormatException($"instr_counts item '{text}' is not a decimal instruction count");
        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count))
            throw new FormatException($"instr_counts item '{text}' is too large");
        return count;
    }
}
