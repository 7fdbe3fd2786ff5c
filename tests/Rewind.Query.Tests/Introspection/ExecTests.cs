using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Rewind.Query.Tests.Introspection;

/// <summary>
/// exec_chain executes itself again through /proc/self/exe: the views show the first image's
/// modules unloaded and the second image's loaded at the execve, and memorymap names each
/// instruction's task as the program itself reported it.
/// </summary>
public sealed class ExecTests : IDisposable
{
    readonly RecordedGuest _guest = new("exec_chain-pie");

    public void Dispose() => _guest.Dispose();

    [Fact]
    public async Task Execve_unloads_every_module_and_loads_the_new_image_at_one_position()
    {
        var record = await _guest.RecordAsync();
        Assert.Equal(7, record.ExitCode);

        var events = await QueryCli.JsonLinesAsync("events", _guest.Trace);
        var program = Path.GetFileName(_guest.Program);
        var loads = events.Where(e => e.GetProperty("Type").GetString() == "ModuleLoaded" && Name(e) == program).ToArray();
        var unloads = events.Where(e => e.GetProperty("Type").GetString() == "ModuleUnloaded").ToArray();
        Assert.Equal(2, loads.Length);
        var exec = loads[1].GetProperty("Position").GetString();

        // Everything the first image had goes at the execve, and nothing else unloads.
        Assert.NotEmpty(unloads);
        Assert.All(unloads, e => Assert.Equal(exec, e.GetProperty("Position").GetString()));
        Assert.Contains(unloads, e => Name(e) == program);
        Assert.Contains(unloads, e => Name(e) == "libc.so.6");
        var interpreter = events.Where(e => e.GetProperty("Type").GetString() == "ModuleLoaded" && Name(e).StartsWith("ld-linux", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, interpreter.Length);
        Assert.Equal(exec, interpreter[1].GetProperty("Position").GetString());

        // The first image ran as its file name, the second as "exe", which it printed itself.
        var first = Assert.Single(MemoryMapLine.ParseAll(await QueryCli.OutputAsync("memorymap", _guest.Trace, "--instr-counts", "0")));
        Assert.Equal(program, first.Process);
        var printed = record.StdoutText.Split('\n').Single(l => l.StartsWith("task name: ", StringComparison.Ordinal))["task name: ".Length..];
        var info = await QueryCli.OutputAsync("info", _guest.Trace);
        var instructions = long.Parse(Regex.Match(info, @"Instructions\s+([\d,]+)").Groups[1].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
        var last = Assert.Single(MemoryMapLine.ParseAll(await QueryCli.OutputAsync("memorymap", _guest.Trace, "--instr-counts", (instructions - 1).ToString(CultureInfo.InvariantCulture))));
        Assert.Equal(printed, last.Process);
        Assert.Equal(first.Pid, last.Pid);
    }

    static string Name(JsonElement e) => e.GetProperty("Module").GetProperty("Name").GetString()!;
}
