using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Rewind.Index;

namespace Rewind.Export.Sql;

/// <summary>
/// The exported tables kept beside a trace for <c>rewind sql</c>, as its index is: <c>t.rwd</c> gets
/// the folder <c>t.rwdp</c> (or the user's cache folder when the trace's folder is read-only). Inside,
/// a folder named for the trace's identity (size, modification time, header hash) and the schema's
/// version holds one folder per table; a changed trace or a new schema gets a new folder and the old
/// ones are removed. A table is exported whole into a temporary folder created in the same place and
/// renamed into place once complete, so that a reader never sees part of one and two processes
/// exporting at once each end up with the same, whole, table.
/// </summary>
public sealed class ExportCache
{
    ExportCache(string folder) => Folder = folder;

    /// <summary>The folder of this trace's tables (it may not exist yet).</summary>
    public string Folder { get; }

    /// <summary>The cache folder of <paramref name="export"/>'s trace: the first place that is writable, else the first.</summary>
    public static ExportCache For(TraceExport export)
    {
        var version = string.Create(CultureInfo.InvariantCulture,
            $"{export.Identity.HeaderHash:x32}-{export.Identity.Size:x}-{export.Identity.ModifiedTicks:x}-v{ExportSchema.Version}");
        var candidates = Candidates(export.Path).ToList();
        foreach (var candidate in candidates)
        {
            var folder = Path.Combine(candidate, version);
            if (Directory.Exists(folder) || Writable(candidate))
                return new ExportCache(folder);
        }
        return new ExportCache(Path.Combine(candidates[0], version));
    }

    /// <summary>t.rwd gets t.rwdp, anything else NAME.rwdp.</summary>
    public static string PathFor(string tracePath) =>
        tracePath.EndsWith(".rwd", StringComparison.Ordinal) ? tracePath + "p" : tracePath + ".rwdp";

    static IEnumerable<string> Candidates(string tracePath)
    {
        var full = Path.GetFullPath(tracePath);
        yield return PathFor(full);
        if (TraceIndex.UserCacheFolder() is { } cache)
            yield return Path.Combine(cache, $"{XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(full)):x16}.rwdp");
    }

    static bool Writable(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The tables already exported, whole.</summary>
    public IReadOnlyList<ExportTable> Cached => [.. ExportSchema.Tables.Where(t => Directory.Exists(Path.Combine(Folder, t.Name)))];

    /// <summary>The folder of <paramref name="table"/>'s files.</summary>
    public string TableFolder(ExportTable table) => Path.Combine(Folder, table.Name);

    /// <summary>Exports those of <paramref name="tables"/> that are not cached yet (in one pass over the trace), and removes the folders of older versions of the trace.</summary>
    public void Ensure(TraceExport export, IEnumerable<ExportTable> tables, IProgress<ExportProgress>? progress = null, CancellationToken cancellation = default)
    {
        var missing = tables.Except(Cached).ToList();
        if (missing.Count == 0)
            return;
        Directory.CreateDirectory(Folder);
        RemoveOtherVersions();
        var temporary = Path.Combine(Folder, $".export-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temporary);
        try
        {
            export.Run(temporary, new ExportOptions { Tables = missing }, progress, cancellation);
            foreach (var table in missing)
            {
                try
                {
                    Directory.Move(Path.Combine(temporary, table.Name), TableFolder(table));
                }
                catch (IOException) when (Directory.Exists(TableFolder(table)))
                {
                    // Another process put the same table in place first.
                }
            }
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    }

    void RemoveOtherVersions()
    {
        var parent = Path.GetDirectoryName(Folder)!;
        foreach (var other in Directory.EnumerateDirectories(parent))
        {
            if (Path.GetFileName(other) is var name && name != Path.GetFileName(Folder) && !name.StartsWith('.'))
            {
                try
                {
                    Directory.Delete(other, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // In use or not ours to remove: it only takes room.
                }
            }
        }
    }
}
