using System.Globalization;
using System.Text;

namespace Rewind.Bench;

/// <summary>The two input sizes: Main is what the table is about; Small is the quick-mode size,
/// also used in a full run for columns too slow for the main inputs.</summary>
internal enum InputSize
{
    Main,
    Small,
}

/// <summary>One program on one generated input, described for both sizes.</summary>
internal sealed class Workload
{
    public required string Name { get; init; }

    /// <summary>What the program does to which input, given "is this the small size".</summary>
    public required Func<bool, string> Describe { get; init; }

    /// <summary>Generates the input in a folder of its own and returns the command line; null (with a note) when a tool is missing.</summary>
    public required Func<WorkloadSetup, bool, Invocation?> Prepare { get; init; }

    /// <summary>
    /// Every workload, in table order. Inputs come from a fixed-seed generator, so every run of the
    /// bench, on every machine, times the same bytes.
    /// </summary>
    public static IReadOnlyList<Workload> All { get; } =
    [
        new()
        {
            Name = "sha256sum",
            Describe = small => $"sha256sum of {(small ? "256 KB" : "16 MB")} of pseudo-random bytes",
            Prepare = (setup, small) =>
            {
                var folder = setup.Folder("sha256sum", small);
                File.WriteAllBytes(Path.Combine(folder, "input.bin"), Generate.RandomBytes(small ? 256 << 10 : 16 << 20, seed: 1));
                return setup.Tool("sha256sum") is { } tool ? new Invocation([tool, "input.bin"], folder) : null;
            },
        },
        new()
        {
            Name = "gzip",
            Describe = small => $"gzip -6 -c of {(small ? "128 KB" : "8 MB")} of generated text",
            Prepare = (setup, small) =>
            {
                var folder = setup.Folder("gzip", small);
                File.WriteAllBytes(Path.Combine(folder, "input.txt"), Generate.Text(small ? 128 << 10 : 8 << 20, seed: 2));
                return setup.Tool("gzip") is { } tool ? new Invocation([tool, "-6", "-c", "input.txt"], folder) : null;
            },
        },
        new()
        {
            Name = "sort",
            Describe = small => $"sort of {(small ? "2k" : "200k")} generated lines (LC_ALL=C)",
            Prepare = (setup, small) =>
            {
                var folder = setup.Folder("sort", small);
                File.WriteAllBytes(Path.Combine(folder, "input.txt"), Generate.Lines(small ? 2_000 : 200_000, seed: 3));
                return setup.Tool("sort") is { } tool ? new Invocation([tool, "input.txt"], folder) : null;
            },
        },
        new()
        {
            Name = "python",
            Describe = small => $"python3 -c: sum of squares and dict updates, {(small ? "1k" : "1M")} iterations",
            Prepare = (setup, small) =>
            {
                var folder = setup.Folder("python", small);
                var python = setup.Executable("/usr/bin/python3");
                return python is null ? null : new Invocation([python, "-c", PythonScript, small ? "1000" : "1000000"], folder);
            },
        },
        new()
        {
            Name = "compute",
            Describe = small => $"bench/kernels/compute.c: {(small ? "60x60" : "700x700")} matrix multiply and FNV-1a hash",
            Prepare = (setup, small) =>
            {
                var program = setup.Kernel("compute");
                return program is null ? null : new Invocation([program, small ? "60" : "700"], setup.Folder("compute", small));
            },
        },
        new()
        {
            Name = "pointer_chase",
            Describe = small => small
                ? "bench/kernels/pointer_chase.c: 100k steps over a random cycle of 4096 64-byte nodes (256 KB)"
                : "bench/kernels/pointer_chase.c: 10M steps over a random cycle of 65536 64-byte nodes (4 MB)",
            Prepare = (setup, small) =>
            {
                var program = setup.Kernel("pointer_chase");
                return program is null
                    ? null
                    : new Invocation([program, small ? "4096" : "65536", small ? "100000" : "10000000"], setup.Folder("pointer_chase", small));
            },
        },
    ];

    const string PythonScript = """
        import sys
        n = int(sys.argv[1])
        total = 0
        buckets = {}
        for i in range(n):
            total += i * i
            key = i % 1000
            buckets[key] = buckets.get(key, 0) + i
        print(n, total, sum(buckets.values()), len(buckets))
        """;
}

/// <summary>What workloads need to set themselves up: folders, host tools, compiled kernels.</summary>
internal sealed class WorkloadSetup(string work, string kernelSources, Action<string> note)
{
    readonly Dictionary<string, string?> kernels = [];
    readonly HashSet<string> noted = [];

    public string Folder(string workload, bool small)
    {
        var folder = Path.Combine(work, small ? "small" : "main", workload);
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>The absolute path of a program found on PATH, or null with a note.</summary>
    public string? Tool(string name)
    {
        var found = HostTools.Find(name);
        if (found is null)
            Note($"{name} is not installed: its workload is skipped");
        return found;
    }

    /// <summary>The given path when it is an executable file, or null with a note.</summary>
    public string? Executable(string path)
    {
        if (HostTools.IsExecutable(path))
            return path;
        Note($"{path} is not installed: its workload is skipped");
        return null;
    }

    /// <summary>bench/kernels/NAME.c compiled with gcc -O2 (dynamic, not PIE) into the work folder, once.</summary>
    public string? Kernel(string name)
    {
        if (kernels.TryGetValue(name, out var built))
            return built;
        var gcc = HostTools.Find("gcc");
        if (gcc is null)
        {
            Note($"gcc is not installed: the {name} kernel is skipped");
            return kernels[name] = null;
        }
        var output = Path.Combine(work, "kernels", name);
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        var source = Path.Combine(kernelSources, name + ".c");
        var result = ProcessRunner.Run(new Invocation([gcc, "-O2", "-fno-pie", "-no-pie", "-o", output, source], work), TimeSpan.FromMinutes(2));
        if (result.ExitCode != 0)
            throw new BenchException($"gcc failed on bench/kernels/{name}.c: {result.LastError}");
        return kernels[name] = output;
    }

    void Note(string text)
    {
        if (noted.Add(text))
            note(text);
    }
}

/// <summary>Deterministic inputs from a fixed-seed generator (SplitMix64), the same on every machine and .NET version.</summary>
internal static class Generate
{
    static readonly string[] Words =
    [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
        "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
        "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "record", "replay", "rewind", "trace",
        "memory", "page", "thread", "signal", "syscall", "keyframe", "position", "index", "query", "engine",
    ];

    public static byte[] RandomBytes(int size, ulong seed)
    {
        var random = new SplitMix64(seed);
        var bytes = new byte[size];
        for (var i = 0; i + 8 <= size; i += 8)
            BitConverter.TryWriteBytes(bytes.AsSpan(i), random.Next());
        return bytes;
    }

    /// <summary>Lines of 6-13 words and a number, cut to exactly <paramref name="size"/> bytes ending in a newline.</summary>
    public static byte[] Text(int size, ulong seed)
    {
        var random = new SplitMix64(seed);
        var text = new StringBuilder(size + 256);
        while (text.Length < size)
        {
            var count = 6 + (int)random.Below(8);
            for (var w = 0; w < count; w++)
                text.Append(Words[random.Below((ulong)Words.Length)]).Append(' ');
            text.Append(random.Below(100_000).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        text.Length = size;
        text[size - 1] = '\n';
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>Lines "word word number" in random order, many sharing a prefix so that comparisons go deep.</summary>
    public static byte[] Lines(int count, ulong seed)
    {
        var random = new SplitMix64(seed);
        var text = new StringBuilder(count * 24);
        for (var i = 0; i < count; i++)
        {
            text.Append(Words[random.Below((ulong)Words.Length)]).Append(' ')
                .Append(Words[random.Below((ulong)Words.Length)]).Append(' ')
                .Append(random.Below(1_000_000_000).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    struct SplitMix64(ulong seed)
    {
        ulong state = seed;

        public ulong Next()
        {
            var z = state += 0x9e3779b97f4a7c15;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
            z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
            return z ^ (z >> 31);
        }

        public ulong Below(ulong bound) => Next() % bound;
    }
}
