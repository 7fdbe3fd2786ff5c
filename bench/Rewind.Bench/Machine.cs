using System.Runtime.InteropServices;

namespace Rewind.Bench;

/// <summary>The facts printed above the table, so that results from different machines are not compared blindly.</summary>
internal sealed record Machine(int Cores, string Cpu, string Kernel, string Dotnet, string? Unicorn)
{
    public string Line => $"{Cores} cores, {Cpu}, Linux {Kernel}, .NET {Dotnet}" + (Unicorn is null ? "" : $", Unicorn {Unicorn}");

    public static Machine Describe(string root) => new(
        Environment.ProcessorCount,
        CpuModel(),
        ReadLine("/proc/sys/kernel/osrelease") ?? "unknown",
        Environment.Version.ToString(),
        UnicornVersion(root));

    static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0)
                    return line[(colon + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        return "unknown CPU";
    }

    static string? ReadLine(string path)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault()?.Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// The version of the Unicorn library the rewind launcher would load (REWIND_UNICORN, then the one
    /// scripts/setup installs, then the system's); null when none can be loaded.
    /// </summary>
    static string? UnicornVersion(string root)
    {
        string[] candidates =
        [
            Environment.GetEnvironmentVariable("REWIND_UNICORN") ?? "",
            Path.Combine(root, ".deps", "unicorn", "libunicorn.so.2"),
            "libunicorn.so.2",
        ];
        foreach (var candidate in candidates.Where(c => c.Length > 0))
        {
            if (!NativeLibrary.TryLoad(candidate, out var library))
                continue;
            try
            {
                if (!NativeLibrary.TryGetExport(library, "uc_version", out var export))
                    continue;
                var version = Marshal.GetDelegateForFunctionPointer<UcVersion>(export)(IntPtr.Zero, IntPtr.Zero);
                return $"{version >> 24}.{(version >> 16) & 0xff}.{(version >> 8) & 0xff}";
            }
            finally
            {
                NativeLibrary.Free(library);
            }
        }
        return null;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    delegate uint UcVersion(IntPtr major, IntPtr minor);
}
