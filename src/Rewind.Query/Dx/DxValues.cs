using System.Collections;

namespace Rewind.Query.Dx;

/// <summary>A method of a dx object: its arguments (already evaluated) and the call, for errors.</summary>
public delegate object? DxMethod(IReadOnlyList<object?> arguments, DxCall call);

/// <summary>
/// An object as dx shows it: a summary after its name (a position shows "5D:113 [Time Travel]"),
/// children shown when it is expanded (Name : value), members and methods for expressions.
/// Values are numbers (Int128), strings, bools, <see cref="DxObject"/>, <see cref="DxCollection"/>,
/// <see cref="DxText"/> or null.
/// </summary>
public sealed class DxObject
{
    readonly List<(string Name, Lazy<object?> Value, bool Shown)> _properties = [];
    readonly Dictionary<string, DxMethod> _methods = new(StringComparer.Ordinal);

    /// <summary>Shown after the object's name; null: nothing (the object is shown by its children).</summary>
    public string? Summary { get; init; }

    /// <summary>What comparisons use, for objects that stand for a value (a position, a pointer's address).</summary>
    public object? Underlying { get; init; }

    /// <summary>For a pointer, the type it points at and how many '*' it has; null otherwise.</summary>
    public (string Type, int Pointers)? Pointer { get; init; }

    /// <summary>Adds a child; <paramref name="shown"/> false keeps it out of displays (it stays usable in expressions).</summary>
    public DxObject Property(string name, Func<object?> value, bool shown = true)
    {
        _properties.Add((name, new Lazy<object?>(value, LazyThreadSafetyMode.None), shown));
        return this;
    }

    public DxObject Property(string name, object? value, bool shown = true) => Property(name, () => value, shown);

    public DxObject Method(string name, DxMethod method)
    {
        _methods[name] = method;
        return this;
    }

    /// <summary>The children a display shows, in order.</summary>
    public IEnumerable<(string Name, object? Value)> Children
    {
        get
        {
            foreach (var (name, value, shown) in _properties)
            {
                if (shown)
                    yield return (name, value.Value);
            }
        }
    }

    public bool HasChildren => _properties.Any(p => p.Shown);

    public bool TryGetMember(string name, out object? value)
    {
        foreach (var (property, lazy, _) in _properties)
        {
            if (property == name)
            {
                value = lazy.Value;
                return true;
            }
        }
        value = null;
        return false;
    }

    public bool TryGetMethod(string name, out DxMethod method) => _methods.TryGetValue(name, out method!);

    public IEnumerable<string> MemberNames => _properties.Select(p => p.Name).Concat(_methods.Keys.Select(m => m + "()"));
}

/// <summary>
/// A sequence as dx shows it ([0x0], [0x1], ...), evaluated lazily: each use enumerates its source
/// again (a memory query replays again), and Take, Skip, Where and Select stay lazy.
/// </summary>
public sealed class DxCollection(Func<IEnumerable<object?>> source) : IEnumerable<object?>
{
    public IEnumerator<object?> GetEnumerator() => source().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Lines a command printed (SeekTo's register display), shown as they are.</summary>
public sealed record DxText(IReadOnlyList<string> Lines);

/// <summary>A lambda with the names it can see.</summary>
internal sealed record DxFunction(DxLambda Lambda, IReadOnlyDictionary<string, object?> Scope);
