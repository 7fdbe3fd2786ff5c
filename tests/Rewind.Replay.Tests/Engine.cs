using Rewind.Engine;

namespace Rewind.Replay.Tests;

/// <summary>Loads Unicorn into the test process once, for tests that call the replay API directly.</summary>
public static class Engine
{
    static readonly Lazy<bool> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    public static void EnsureLoaded() => _ = Loaded.Value;

    static bool Load()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(GuestRunner.EngineVariable)) && GuestRunner.UnicornLibrary is { } unicorn)
            Environment.SetEnvironmentVariable(GuestRunner.EngineVariable, unicorn);
        EngineLibrary.Load();
        return true;
    }
}
