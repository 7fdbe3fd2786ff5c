using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Rewind.Bench;

/// <summary>
/// What the bench reads from one workload's trace, once, untimed: its size per instruction (from
/// `rewind info --json`) and the 8 bytes a memory query asks about.
/// </summary>
internal sealed class TraceFacts(string trace, Invocation program, string rewind)
{
    static readonly TimeSpan Allowed = TimeSpan.FromMinutes(10);

    bool _rangeLooked;
    ulong? _range;

    public string Trace => trace;

    /// <summary>Why <see cref="QueryRange"/> is null.</summary>
    public string QueryRangeProblem { get; private set; } = "";

    /// <summary>
    /// The start of the 8 bytes a memory query asks about: the first variable in the program's .bss
    /// (the zero-filled end of its writable segment) that the program writes, 8-byte aligned. The
    /// same rule for every program, stripped or not, and a real variable of the program rather than
    /// of the C library. Null when the program writes none (the reason is in <see cref="QueryRangeProblem"/>).
    /// </summary>
    public ulong? QueryRange
    {
        get
        {
            if (!_rangeLooked)
            {
                _rangeLooked = true;
                _range = FindQueryRange();
            }
            return _range;
        }
    }

    ulong? FindQueryRange()
    {
        var executable = program.Arguments[0];
        if (Bss(executable) is not { } bss)
        {
            QueryRangeProblem = $"{executable} has no .bss";
            return null;
        }
        var (start, end, relocatable) = bss;
        if (relocatable)
        {
            var name = Path.GetFileName(new FileInfo(executable).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? executable);
            var modules = Output([rewind, "modules", trace, "--format", "jsonl"]).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => JsonDocument.Parse(line).RootElement).ToArray();
            var main = modules.FirstOrDefault(m => m.GetProperty("Name").GetString() == name);
            if (main.ValueKind == JsonValueKind.Undefined && modules.Length > 0)
                main = modules[0];
            if (main.ValueKind == JsonValueKind.Undefined)
            {
                QueryRangeProblem = "the trace lists no modules";
                return null;
            }
            var text = main.GetProperty("Address").GetString()!;
            var loadBase = ulong.Parse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            (start, end) = (start + loadBase, end + loadBase);
        }
        var first = Output([rewind, "memory", trace, $"0x{start:x}", $"0x{end:x}", "w", "--format", "jsonl", "--limit", "1"]).Trim();
        if (first.Length == 0)
        {
            QueryRangeProblem = "the program writes nothing in its .bss";
            return null;
        }
        var address = JsonDocument.Parse(first).RootElement.GetProperty("Address").GetString()!;
        return ulong.Parse(address.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & ~7UL;
    }

    /// <summary>The .bss of an ELF executable from its program headers; Relocatable: the addresses are relative to the load base (PIE).</summary>
    static (ulong Start, ulong End, bool Relocatable)? Bss(string path)
    {
        byte[] elf;
        try
        {
            elf = File.ReadAllBytes(path);
        }
        catch (IOException)
        {
            return null;
        }
        if (elf.Length < 64 || !elf.AsSpan(0, 4).SequenceEqual("\u007fELF"u8))
            return null;
        const ushort SharedObject = 3;
        const uint Load = 1, Writable = 2;
        var type = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(16));
        var headers = (int)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(32));
        var size = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(54));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(56));
        for (var i = 0; i < count; i++)
        {
            var header = elf.AsSpan(headers + i * size);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Load || (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) & Writable) == 0)
                continue;
            var address = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
            var fileSize = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
            var memorySize = BinaryPrimitives.ReadUInt64LittleEndian(header[40..]);
            if (memorySize > fileSize)
                return (address + fileSize, address + memorySize, type == SharedObject);
        }
        return null;
    }

    /// <summary>Bytes of trace per instruction: the whole file, and without the stored contents of files.</summary>
    public Cell TraceSize()
    {
        using var info = JsonDocument.Parse(Output([rewind, "info", "--json", trace]));
        var root = info.RootElement;
        var total = root.GetProperty("bytesPerInstruction").GetDouble();
        var events = root.GetProperty("bytesPerInstructionWithoutContents").GetDouble();
        return new Cell(CellState.Measured, [], Text: $"{Bytes(total)} ({Bytes(events)})",
            Figures: new Dictionary<string, double>
            {
                ["bytesPerInstruction"] = total,
                ["bytesPerInstructionWithoutContents"] = events,
                ["fileBytes"] = root.GetProperty("fileBytes").GetInt64(),
                ["instructions"] = root.GetProperty("instructions").GetInt64(),
            });
    }

    static string Bytes(double value) => value switch
    {
        0 => "0",
        >= 0.1 => value.ToString("F2", CultureInfo.InvariantCulture),
        _ => value.ToString("G2", CultureInfo.InvariantCulture),
    };

    string Output(IReadOnlyList<string> arguments)
    {
        using var output = new MemoryStream();
        var result = ProcessRunner.Run(new Invocation(arguments, program.WorkingDirectory), Allowed, output);
        if (result.TimedOut || result.ExitCode != 0)
            throw new BenchException($"{new Invocation(arguments, program.WorkingDirectory).Display} failed: {result.LastError}");
        return Encoding.UTF8.GetString(output.ToArray());
    }
}
