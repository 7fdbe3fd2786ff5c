namespace Rewind.Replay.Tests;

/// <summary>A new empty folder under the system's temporary folder, removed with everything in it on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Path = Directory.CreateTempSubdirectory("rewind-replay-tests-").FullName;

    public string Path { get; }

    /// <summary>The path of <paramref name="name"/> in this folder.</summary>
    public string this[string name] => System.IO.Path.Combine(Path, name);

    /// <summary>A new empty folder inside this one.</summary>
    public string NewFolder(string name) => Directory.CreateDirectory(this[name]).FullName;

    /// <summary>Copies <paramref name="source"/> (a program) into this folder, keeping its name and mode, and returns the copy's path.</summary>
    public string CopyIn(string source, string? name = null)
    {
        var copy = this[name ?? System.IO.Path.GetFileName(source)];
        File.Copy(source, copy);
        return copy;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
