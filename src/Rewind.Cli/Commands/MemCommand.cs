using System.CommandLine;
using System.Globalization;
using System.Text;

namespace Rewind.Cli.Commands;

/// <summary>rewind mem: memory at a position, as WinDbg's db (bytes and characters) or dq (quad words) show it.</summary>
internal static class MemCommand
{
    const string Bytes = "db", Quads = "dq";

    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var address = new Argument<string>("address") { Description = "Where to start: hex (0x404028), decimal or a symbol (prog!counter, libc.so.6!environ+8)." };
        var length = new Argument<string>("length") { Description = "How many bytes (hex or decimal; default 0x80).", DefaultValueFactory = _ => "0x80" };
        var at = new Option<string>("--at") { Description = "The position: SEQ:STEPS, an instruction count or a percentage.", Required = true };
        var format = new Option<string>("--format") { Description = "'db': bytes and characters, 16 a line; 'dq': 8-byte words, 2 a line.", DefaultValueFactory = _ => Bytes };
        format.AcceptOnlyFromAmong(Bytes, Quads);
        var command = new Command("mem", "Show memory as it was just before the instruction at a position ran, as WinDbg's db and dq do (?? for bytes not mapped there).")
        {
            trace, address, length, at, format,
        };
        command.SetAction(parse =>
        {
            if (!MemoryCommand.TryParseAddressOrSymbol(parse.GetValue(address)!, "start") || !MemoryCommand.TryParseAddress(parse.GetValue(length)!, "length", out var count))
                return 2;
            if (count is 0 or > 1 << 20)
                return Diagnostics.Fail("the length must be from 1 to 0x100000 bytes", 2);
            if (!TraceCommandLine.LoadEngine())
                return 1;
            return MemoryCommand.WithSession(parse.GetValue(trace)!, session =>
            {
                var start = session.Symbols.ResolveAddress(parse.GetValue(address)!);
                using var cursor = session.SeekTo(parse.GetValue(at)!);
                var bytes = new byte?[count];
                Span<byte> one = stackalloc byte[1];
                for (var i = 0UL; i < count; i++)
                    bytes[i] = cursor.TryReadMemory(start + i, one) ? one[0] : null;
                foreach (var line in parse.GetValue(format) == Quads ? QuadLines(start, bytes) : ByteLines(start, bytes))
                    Console.Out.WriteLine(line);
                return 0;
            });
        });
        return command;
    }

    /// <summary>An address as WinDbg writes it: 00000000`00404028.</summary>
    static string Address(ulong address) => $"{address >> 32:x8}`{address & 0xffffffff:x8}";

    /// <summary>db: "00000000`00404028  48 65 6c 6c 6f 00 00 00-00 00 00 00 00 00 00 00  Hello..........."</summary>
    internal static IEnumerable<string> ByteLines(ulong start, byte?[] bytes)
    {
        for (var offset = 0; offset < bytes.Length; offset += 16)
        {
            var hex = new StringBuilder();
            var text = new StringBuilder();
            for (var i = 0; i < 16 && offset + i < bytes.Length; i++)
            {
                hex.Append(i == 8 ? '-' : i == 0 ? "" : " ");
                var b = bytes[offset + i];
                hex.Append(b is { } value ? value.ToString("x2", CultureInfo.InvariantCulture) : "??");
                text.Append(b is >= 0x20 and < 0x7f ? (char)b.Value : b is null ? '?' : '.');
            }
            yield return $"{Address(start + (ulong)offset)}  {hex,-47}  {text}";
        }
    }

    /// <summary>dq: "00000000`00404028  00000000`0040101f 00000000`00000000"</summary>
    internal static IEnumerable<string> QuadLines(ulong start, byte?[] bytes)
    {
        for (var offset = 0; offset < bytes.Length; offset += 16)
        {
            var words = new List<string>();
            for (var word = offset; word < offset + 16 && word < bytes.Length; word += 8)
            {
                var slice = bytes.AsSpan(word, Math.Min(8, bytes.Length - word));
                if (slice.Length < 8 || slice.Contains((byte?)null))
                {
                    words.Add("????????`????????");
                    continue;
                }
                ulong value = 0;
                for (var i = 7; i >= 0; i--)
                    value = value << 8 | slice[i]!.Value;
                words.Add(Address(value));
            }
            yield return $"{Address(start + (ulong)offset)}  {string.Join(' ', words)}";
        }
    }
}
