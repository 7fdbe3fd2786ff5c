using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Rewind.Bench;

/// <summary>A command line to run and the folder to run it in.</summary>
internal sealed record Invocation(IReadOnlyList<string> Arguments, string WorkingDirectory)
{
    public string Display => string.Join(' ', Arguments.Select(Quote));

    static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@%".Contains(c, StringComparison.Ordinal))
            ? argument
            : $"'{argument.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}

/// <summary>
/// How one run ended: its wall-clock time, a digest of everything it wrote on stdout, when its first
/// output came (null: none), its peak resident memory (VmHWM, sampled while it ran; 0 when unknown)
/// and its user plus system CPU time.
/// </summary>
internal sealed record RunResult(double Seconds, int ExitCode, bool TimedOut, string StdoutDigest, long StdoutBytes, string StderrTail,
    double? FirstOutputSeconds, long PeakResidentBytes, double CpuSeconds)
{
    /// <summary>The last non-empty line of stderr, for one-line failure messages.</summary>
    public string LastError => StderrTail.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";
}

/// <summary>
/// Runs a program with stdin empty, stdout hashed as it streams (so that large outputs such as gzip's
/// cost no memory) and the tail of stderr kept. The time is from start to exit, as a shell's `time` shows.
/// </summary>
internal static class ProcessRunner
{
    const int StderrKeep = 4096;

    /// <summary>Environment for every run: the C locale, so that sort order and speed do not depend on the host.</summary>
    static readonly KeyValuePair<string, string>[] Environment = [new("LC_ALL", "C")];

    /// <summary>Runs to the end or the timeout; <paramref name="stdoutCopy"/>, when given, also receives stdout.</summary>
    public static RunResult Run(Invocation invocation, TimeSpan timeout, Stream? stdoutCopy = null)
    {
        var start = new ProcessStartInfo
        {
            FileName = invocation.Arguments[0],
            WorkingDirectory = invocation.WorkingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in invocation.Arguments.Skip(1))
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in Environment)
            start.Environment[name] = value;

        using var process = new Process { StartInfo = start };
        // The bench runs one program at a time, so the children's CPU time grows by this run's alone.
        var cpuBefore = CpuTime.OfEndedChildren();
        var clock = Stopwatch.StartNew();
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new BenchException($"cannot start {invocation.Arguments[0]}: {e.Message}");
        }
        process.StandardInput.Close();
        var stdout = Task.Run(() => Digest(process.StandardOutput.BaseStream, stdoutCopy, clock));
        var stderr = Task.Run(() => Tail(process.StandardError.BaseStream));

        // The peak memory is read from /proc while the process runs (the launcher execs, so the pid stays).
        long peak = 0;
        var timedOut = false;
        while (!process.WaitForExit(MemorySampling))
        {
            peak = Math.Max(peak, PeakResident(process.Id));
            if (clock.Elapsed > timeout)
            {
                timedOut = true;
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                break;
            }
        }
        clock.Stop();
        var cpu = CpuTime.OfEndedChildren() - cpuBefore;
        var (digest, bytes, first) = stdout.GetAwaiter().GetResult();
        return new RunResult(clock.Elapsed.TotalSeconds, timedOut ? -1 : process.ExitCode, timedOut, digest, bytes, stderr.GetAwaiter().GetResult(), first, peak, cpu);
    }

    static readonly TimeSpan MemorySampling = TimeSpan.FromMilliseconds(20);

    /// <summary>VmHWM of a running process in bytes; 0 when it has gone.</summary>
    static long PeakResident(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return 0;
    }

    static (string Digest, long Bytes, double? FirstOutputSeconds) Digest(Stream stream, Stream? copy, Stopwatch clock)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long total = 0;
        double? first = null;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            first ??= clock.Elapsed.TotalSeconds;
            hash.AppendData(buffer.AsSpan(0, read));
            copy?.Write(buffer.AsSpan(0, read));
            total += read;
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), total, first);
    }

    static string Tail(Stream stream)
    {
        var kept = new Queue<byte>(StderrKeep);
        var buffer = new byte[1 << 14];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            foreach (var b in buffer.AsSpan(0, read))
            {
                if (kept.Count == StderrKeep)
                    kept.Dequeue();
                kept.Enqueue(b);
            }
        }
        return Encoding.UTF8.GetString(kept.ToArray());
    }
}
