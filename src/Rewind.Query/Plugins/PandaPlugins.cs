using Rewind.Query.MemoryMap;

namespace Rewind.Query.Plugins;

/// <summary>
/// The replay plugins, by name, and PANDA's way of naming one with its arguments:
/// <c>name:key=value,key=value</c> (as in <c>-panda memorymap:pcs=0x401000-0x401010</c>).
/// To add a plugin, add its <see cref="PluginDescription"/> to <see cref="All"/>.
/// </summary>
public static class PandaPlugins
{
    public static IReadOnlyList<PluginDescription> All { get; } =
    [
        new("memorymap",
            "Per instruction: pc, instr_count, process, pid, tid, in_kernel, image name, path and base (PANDA's memorymap).",
            ["pcs", "instr_counts"],
            MemoryMapPlugin.Create),
    ];

    /// <summary>Splits "name:key=value,key=value" into the name and its arguments; bad syntax is a <see cref="PluginArgumentException"/>.</summary>
    public static (string Name, IReadOnlyDictionary<string, string> Arguments) Parse(string specification)
    {
        var colon = specification.IndexOf(':', StringComparison.Ordinal);
        var name = (colon < 0 ? specification : specification[..colon]).Trim();
        if (name.Length == 0)
            throw new PluginArgumentException($"'{specification}' names no plugin: expected PLUGIN or PLUGIN:KEY=VALUE,KEY=VALUE");
        var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
        if (colon >= 0)
        {
            foreach (var pair in specification[(colon + 1)..].Split(','))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                    throw new PluginArgumentException($"{name}: '{pair}' is not KEY=VALUE (plugin arguments are PLUGIN:KEY=VALUE,KEY=VALUE)");
                var key = pair[..equals].Trim();
                if (!arguments.TryAdd(key, pair[(equals + 1)..]))
                    throw new PluginArgumentException($"{name}: argument '{key}' is given twice");
            }
        }
        return (name, arguments);
    }

    /// <summary>Makes the plugins <paramref name="specifications"/> name, each plugin at most once; any problem is a one-line <see cref="PluginArgumentException"/>.</summary>
    public static IReadOnlyList<IReplayPlugin> CreateAll(IEnumerable<string> specifications, PluginContext context)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var plugins = new List<IReplayPlugin>();
        foreach (var specification in specifications)
        {
            if (!names.Add(Parse(specification).Name))
                throw new PluginArgumentException($"plugin '{Parse(specification).Name}' is given twice: give all its arguments at once (PLUGIN:KEY=VALUE,KEY=VALUE)");
            plugins.Add(Create(specification, context));
        }
        return plugins;
    }

    /// <summary>Makes the plugin <paramref name="specification"/> names; any problem is a one-line <see cref="PluginArgumentException"/>.</summary>
    public static IReplayPlugin Create(string specification, PluginContext context)
    {
        var (name, arguments) = Parse(specification);
        var plugin = All.FirstOrDefault(p => p.Name == name)
            ?? throw new PluginArgumentException($"unknown plugin '{name}' (available: {string.Join(", ", All.Select(p => p.Name))})");
        foreach (var key in arguments.Keys)
        {
            if (!plugin.Arguments.Contains(key))
                throw new PluginArgumentException($"{name}: unknown argument '{key}' (it takes {string.Join(", ", plugin.Arguments)})");
        }
        try
        {
            return plugin.Create(arguments, context);
        }
        catch (FormatException e)
        {
            throw new PluginArgumentException($"{name}: {e.Message}");
        }
    }
}
