using System.Reflection;
using System.Runtime.InteropServices;

namespace Rewind.Engine;

/// <summary>
/// Finds libunicorn and checks its version. Rewind needs Unicorn 2.1.1 exactly: 2.0.x
/// takes a slow path on every store and later 2.1 releases are an order of magnitude slower.
/// </summary>
public static unsafe class EngineLibrary
{
    /// <summary>Environment variable naming the libunicorn.so.2 file to load.</summary>
    public const string PathVariable = "REWIND_UNICORN";

    public const uint RequiredVersion = 0x020101ff;

    static int _resolverInstalled;

    /// <summary>
    /// Loads the library and checks its version. Returns a warning for a usable version other
    /// than 2.1.1, null for 2.1.1, and throws <see cref="EngineException"/> when it cannot be used.
    /// </summary>
    public static string? Load()
    {
        InstallResolver();
        uint version;
        try
        {
            version = Native.uc_version(null, null);
        }
        catch (DllNotFoundException)
        {
            var configured = Environment.GetEnvironmentVariable(PathVariable);
            throw new EngineException(configured is null
                ? "cannot load libunicorn.so.2: run scripts/setup or set REWIND_UNICORN to the library's path"
                : $"cannot load Unicorn from {configured} (REWIND_UNICORN): run scripts/setup");
        }
        return CheckVersion(version);
    }

    /// <summary>Version policy, separated so that it can be tested without another library build.</summary>
    public static string? CheckVersion(uint version)
    {
        var text = Format(version);
        if (version >> 16 == 0x0200)
            throw new EngineException($"Unicorn {text} is too slow to use (every store takes a slow path); Rewind needs 2.1.1: run scripts/setup");
        if (version >> 24 != 2)
            throw new EngineException($"Unicorn {text} is not supported; Rewind needs 2.1.1: run scripts/setup");
        return version == RequiredVersion ? null : $"Unicorn {text} is not the tested 2.1.1; recording may be much slower";
    }

    public static string Format(uint version) => $"{version >> 24}.{(version >> 16) & 0xff}.{(version >> 8) & 0xff}";

    public static uint Version => Native.uc_version(null, null);

    static void InstallResolver()
    {
        if (Interlocked.Exchange(ref _resolverInstalled, 1) == 1)
            return;
        NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);
    }

    static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Native.Library)
            return 0;
        var configured = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(configured))
            return NativeLibrary.TryLoad(configured, out var handle) ? handle : 0;
        return NativeLibrary.TryLoad("libunicorn.so.2", out var system) ? system : 0;
    }
}
