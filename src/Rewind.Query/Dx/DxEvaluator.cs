using System.Globalization;

namespace Rewind.Query.Dx;

/// <summary>
/// Evaluates parsed dx expressions against a trace: @$cursession and @$curprocess (see
/// <see cref="DxModel"/>), members, methods, [n], LINQ-style collection methods with lambdas,
/// comparisons and arithmetic. Errors are <see cref="DxException"/>s that point at the expression part at fault.
/// </summary>
public sealed class DxEvaluator
{
    static readonly IReadOnlyDictionary<string, object?> EmptyScope = new Dictionary<string, object?>();

    readonly DxModel _model;

    public DxEvaluator(TraceSession session) => _model = new DxModel(session);

    /// <summary>The cursor the last SeekTo() left (null before any).</summary>
    public TraceCursor? Cursor => _model.Cursor;

    /// <summary>WinDbg's !tt: moves the current position to <paramref name="position"/> (SEQ:STEPS, a count or a percentage) and shows the state there.</summary>
    public DxText TravelTo(string position) => _model.TravelTo(position);

    /// <summary>Parses and evaluates <paramref name="text"/>.</summary>
    public object? Evaluate(string text) => Evaluate(DxParser.Parse(text), EmptyScope);

    object? Evaluate(DxNode node, IReadOnlyDictionary<string, object?> scope)
    {
        switch (node)
        {
            case DxNumber number:
                return number.Value;
            case DxString text:
                return text.Value;
            case DxVariable variable:
                return _model.Variable(variable);
            case DxSymbol symbol:
                return _model.SymbolAddress(symbol);
            case DxName name:
                if (scope.TryGetValue(name.Name, out var bound))
                    return bound;
                return name.Name switch
                {
                    "true" => true,
                    "false" => false,
                    _ => throw new DxException($"unknown name '{name.Name}': use @$cursession or @$curprocess, or a lambda's parameter", name.Offset, name.Length),
                };
            case DxLambda lambda:
                return new DxFunction(lambda, scope);
            case DxMember member:
                return Member(Evaluate(member.Target, scope), member);
            case DxCall call:
                return Call(Evaluate(call.Target, scope), call, call.Arguments.Select(a => Evaluate(a, scope)).ToArray());
            case DxIndex index:
                return Index(Evaluate(index.Target, scope), index, Evaluate(index.Index, scope));
            case DxUnary { Operator: "*" } dereference:
                return _model.Dereference(Evaluate(dereference.Operand, scope), dereference);
            case DxUnary unary:
                return Unary(unary, Evaluate(unary.Operand, scope));
            case DxCast cast:
                return _model.Cast(cast, Evaluate(cast.Operand, scope));
            case DxBinary binary:
                return Binary(binary, scope);
            default:
                throw new DxException("cannot evaluate this", node.Offset, node.Length);
        }
    }

    static object? Member(object? target, DxMember member)
    {
        if (target is DxObject obj)
        {
            if (obj.TryGetMember(member.Name, out var value))
                return value;
            if (obj.TryGetMethod(member.Name, out _))
                throw new DxException($"'{member.Name}' is a method: call it as {member.Name}()", NameOffset(member), member.Name.Length);
        }
        throw new DxException($"{TypeName(target)} has no member '{member.Name}'{Known(target)}", NameOffset(member), member.Name.Length);
    }

    static int NameOffset(DxMember member) => member.Offset + member.Length - member.Name.Length;

    static int NameOffset(DxCall call) => call.Target.Offset + call.Target.Length + 1;

    static string Known(object? target) => target is DxObject obj && obj.MemberNames.Any() ? $" (it has {string.Join(", ", obj.MemberNames)})" : "";

    object? Call(object? target, DxCall call, IReadOnlyList<object?> arguments)
    {
        if (target is DxObject obj && obj.TryGetMethod(call.Name, out var method))
            return method(arguments, call);
        if (target is DxCollection collection)
            return CollectionMethod(collection, call, arguments);
        throw new DxException($"{TypeName(target)} has no method '{call.Name}'{Known(target)}", NameOffset(call), call.Name.Length);
    }

    const string CollectionMethods = "Count(), First(), Last() (each with an optional x => condition), Take(n), Skip(n), Where(x => ...), Select(x => ...), "
        + "OrderBy(x => ...), OrderByDescending(x => ...), GroupBy(x => ...), Any(), All(x => ...), Distinct(), Sum(), Min(), Max() (each with an optional x => value), "
        + "Flatten(), Contains(value) and [n]";

    object? CollectionMethod(DxCollection collection, DxCall call, IReadOnlyList<object?> arguments)
    {
        IEnumerable<object?> Filtered() => arguments.Count == 1 ? collection.Where(item => Condition(call, Function(call, arguments[0]), item)) : collection;
        IEnumerable<object?> Mapped() => arguments.Count == 1 ? collection.Select(item => Invoke(Function(call, arguments[0]), item)) : collection;
        switch (call.Name)
        {
            case "Count":
                Arity(call, arguments, 0, 1);
                Int128 count = 0;
                foreach (var _ in Filtered())
                    count++;
                return count;
            case "First":
                Arity(call, arguments, 0, 1);
                foreach (var item in Filtered())
                    return item;
                throw new DxException("First(): no item", NameOffset(call), call.Name.Length);
            case "Last":
                {
                    Arity(call, arguments, 0, 1);
                    object? last = null;
                    var any = false;
                    foreach (var item in Filtered())
                        (last, any) = (item, true);
                    return any ? last : throw new DxException("Last(): no item", NameOffset(call), call.Name.Length);
                }
            case "Any":
                Arity(call, arguments, 0, 1);
                return Filtered().Any();
            case "All":
                {
                    Arity(call, arguments, 1);
                    var predicate = Function(call, arguments[0]);
                    return collection.All(item => Condition(call, predicate, item));
                }
            case "Contains":
                Arity(call, arguments, 1);
                return collection.Any(item => Equal(item, arguments[0]));
            case "Take":
                {
                    Arity(call, arguments, 1);
                    var n = Count(call, arguments[0]);
                    return new DxCollection(() => collection.Take(n));
                }
            case "Skip":
                {
                    Arity(call, arguments, 1);
                    var n = Count(call, arguments[0]);
                    return new DxCollection(() => collection.Skip(n));
                }
            case "Where":
                Arity(call, arguments, 1);
                Function(call, arguments[0]);
                return new DxCollection(Filtered);
            case "Select":
                Arity(call, arguments, 1);
                Function(call, arguments[0]);
                return new DxCollection(Mapped);
            case "OrderBy" or "OrderByDescending":
                {
                    Arity(call, arguments, 1);
                    var key = Function(call, arguments[0]);
                    var comparer = Comparer<object?>.Create((a, b) => Order(call, a, b));
                    return new DxCollection(() => call.Name == "OrderBy"
                        ? collection.Select(item => (Key: Invoke(key, item), Item: item)).OrderBy(p => p.Key, comparer).Select(p => p.Item)
                        : collection.Select(item => (Key: Invoke(key, item), Item: item)).OrderByDescending(p => p.Key, comparer).Select(p => p.Item));
                }
            case "GroupBy":
                {
                    Arity(call, arguments, 1);
                    var key = Function(call, arguments[0]);
                    return new DxCollection(() => collection.GroupBy(item => new GroupKey(Invoke(key, item))).Select(g => (object?)new DxObject { Summary = $"[{DxFormatter.Summary(g.Key.Value)}]" }
                        .Property("Key", g.Key.Value)
                        .Property("Items", new DxCollection(() => g))
                        .Method("Count", (countArguments, countCall) =>
                        {
                            Arity(countCall, countArguments, 0);
                            return (Int128)g.Count();
                        })));
                }
            case "Distinct":
                Arity(call, arguments, 0);
                return new DxCollection(() => collection.DistinctBy(item => new GroupKey(item)));
            case "Sum":
                {
                    Arity(call, arguments, 0, 1);
                    Int128 sum = 0;
                    foreach (var item in Mapped())
                        sum += Number(call, item);
                    return sum;
                }
            case "Min" or "Max":
                {
                    Arity(call, arguments, 0, 1);
                    object? best = null;
                    var any = false;
                    foreach (var item in Mapped())
                    {
                        if (!any || (call.Name == "Min" ? Order(call, item, best) < 0 : Order(call, item, best) > 0))
                            best = item;
                        any = true;
                    }
                    return any ? best : throw new DxException($"{call.Name}(): no item", NameOffset(call), call.Name.Length);
                }
            case "Flatten":
                Arity(call, arguments, 0);
                return new DxCollection(() => collection.SelectMany(Children));
            default:
                throw new DxException($"collections have no method '{call.Name}' (they have {CollectionMethods})", NameOffset(call), call.Name.Length);
        }
    }

    /// <summary>What Flatten() puts in place of an item: a collection's items, a group's items, else the item.</summary>
    static IEnumerable<object?> Children(object? item) => item switch
    {
        DxCollection inner => inner,
        DxObject obj when obj.TryGetMember("Items", out var items) && items is DxCollection group => group,
        _ => [item],
    };

    bool Condition(DxCall call, DxFunction predicate, object? item) => Invoke(predicate, item) switch
    {
        bool keep => keep,
        var other => throw new DxException($"{call.Name}() needs a condition, but the lambda gave {TypeName(other)}", predicate.Lambda.Body.Offset, predicate.Lambda.Body.Length),
    };

    static Int128 Number(DxCall call, object? value) =>
        Unwrap(value) as Int128? ?? throw new DxException($"{call.Name}() adds numbers, not {TypeName(value)}", NameOffset(call), call.Name.Length);

    /// <summary>Orders numbers, strings and positions (what OrderBy, Min and Max compare); anything else is an error naming the method.</summary>
    static int Order(DxCall call, object? a, object? b) => (Unwrap(a), Unwrap(b)) switch
    {
        (Int128 x, Int128 y) => x.CompareTo(y),
        (string x, string y) => string.CompareOrdinal(x, y),
        (bool x, bool y) => x.CompareTo(y),
        (Trace.Positions.Position x, Trace.Positions.Position y) => x.CompareTo(y),
        var (x, y) => throw new DxException($"{call.Name}() cannot order {TypeName(x)} against {TypeName(y)}", NameOffset(call), call.Name.Length),
    };

    static bool Equal(object? a, object? b) => Equals(Unwrap(a), Unwrap(b));

    /// <summary>A value as a key for GroupBy and Distinct: numbers, strings, bools and positions by value, objects by identity.</summary>
    readonly record struct GroupKey(object? Value)
    {
        public bool Equals(GroupKey other) => Equal(Value, other.Value);

        public override int GetHashCode() => Unwrap(Value)?.GetHashCode() ?? 0;
    }

    object? Invoke(DxFunction function, object? argument)
    {
        var scope = new Dictionary<string, object?>(function.Scope, StringComparer.Ordinal) { [function.Lambda.Parameter] = argument };
        return Evaluate(function.Lambda.Body, scope);
    }

    static DxFunction Function(DxCall call, object? argument) =>
        argument as DxFunction ?? throw new DxException($"{call.Name}() needs a lambda such as m => m.AccessType == \"Write\"", call.Arguments[0].Offset, call.Arguments[0].Length);

    static int Count(DxCall call, object? argument) => argument switch
    {
        Int128 n when n >= 0 && n <= int.MaxValue => (int)n,
        Int128 => throw new DxException($"{call.Name}() needs a count from 0 to 0x7fffffff", call.Arguments[0].Offset, call.Arguments[0].Length),
        _ => throw new DxException($"{call.Name}() needs a number, not {TypeName(argument)}", call.Arguments[0].Offset, call.Arguments[0].Length),
    };

    internal static void Arity(DxCall call, IReadOnlyList<object?> arguments, int expected, int most = -1)
    {
        if (arguments.Count != expected && arguments.Count != most)
        {
            var what = expected switch { 0 => "no arguments", 1 => "one argument", _ => $"{expected} arguments" };
            throw new DxException($"{call.Name}() takes {what}, not {arguments.Count}", NameOffset(call), call.Length - (NameOffset(call) - call.Offset));
        }
    }

    static object? Index(object? target, DxIndex index, object? key)
    {
        if (target is not DxCollection collection)
            throw new DxException($"{TypeName(target)} cannot be indexed with [n]", index.Offset, index.Length);
        if (key is not Int128 n)
            throw new DxException($"an index is a number, not {TypeName(key)}", index.Index.Offset, index.Index.Length);
        if (n < 0)
            throw new DxException($"index {Hex(n)} is negative", index.Index.Offset, index.Index.Length);
        Int128 position = 0;
        foreach (var item in collection)
        {
            if (position == n)
                return item;
            position++;
        }
        throw new DxException($"index {Hex(n)} is past the end: the collection has {Hex(position)} items", index.Index.Offset, index.Index.Length);
    }

    static object? Unary(DxUnary unary, object? operand) => (unary.Operator, operand) switch
    {
        ("!", bool b) => !b,
        ("-", Int128 n) => -n,
        _ => throw new DxException($"'{unary.Operator}' does not apply to {TypeName(operand)}", unary.Offset, unary.Length),
    };

    /// <summary>
    /// A chain of binary operators (a || b || c, a + b - c) is a left-leaning tree as deep as the
    /// chain is long: it is evaluated from its leftmost operand up in a loop, so that a chain of
    /// thousands of terms needs no deeper stack than one of two.
    /// </summary>
    object? Binary(DxBinary binary, IReadOnlyDictionary<string, object?> scope)
    {
        var spine = new List<DxBinary>();
        DxNode leftmost = binary;
        while (leftmost is DxBinary { Operator: not ("==" or "!=" or "<" or "<=" or ">" or ">=") } link)
        {
            spine.Add(link);
            leftmost = link.Left;
        }
        if (spine.Count == 0)
            return BinaryStep(binary, Evaluate(binary.Left, scope), scope);
        var value = Evaluate(leftmost, scope);
        for (var i = spine.Count - 1; i >= 0; i--)
            value = BinaryStep(spine[i], value, scope);
        return value;
    }

    /// <summary>Applies <paramref name="binary"/> to its left operand's value (already evaluated) and its right operand.</summary>
    object? BinaryStep(DxBinary binary, object? left, IReadOnlyDictionary<string, object?> scope)
    {
        if (binary.Operator is "&&" or "||")
        {
            var l = left as bool? ?? throw new DxException($"'{binary.Operator}' needs conditions, not {TypeName(left)}", binary.Left.Offset, binary.Left.Length);
            if (binary.Operator == "&&" ? !l : l)
                return l;
            var right = Evaluate(binary.Right, scope);
            return right as bool? ?? throw new DxException($"'{binary.Operator}' needs conditions, not {TypeName(right)}", binary.Right.Offset, binary.Right.Length);
        }
        var r = Evaluate(binary.Right, scope);
        switch (binary.Operator)
        {
            case "==":
                return Compare(binary, left, r, equality: true) == 0;
            case "!=":
                return Compare(binary, left, r, equality: true) != 0;
            case "<":
                return Compare(binary, left, r, equality: false) < 0;
            case "<=":
                return Compare(binary, left, r, equality: false) <= 0;
            case ">":
                return Compare(binary, left, r, equality: false) > 0;
            case ">=":
                return Compare(binary, left, r, equality: false) >= 0;
        }
        if (binary.Operator == "+" && left is string ls && r is string rs)
            return ls + rs;
        if (left is not Int128 a || r is not Int128 b)
            throw new DxException($"'{binary.Operator}' needs numbers, not {TypeName(left)} and {TypeName(r)}", binary.Offset, binary.Length);
        return binary.Operator switch
        {
            "+" => a + b,
            "-" => a - b,
            "*" => a * b,
            "/" or "%" when b == 0 => throw new DxException("division by zero", binary.Right.Offset, binary.Right.Length),
            "/" => a / b,
            "%" => a % b,
            _ => throw new DxException($"unknown operator '{binary.Operator}'", binary.Offset, binary.Length),
        };
    }

    /// <summary>Orders two values: numbers, strings, bools (equality only), positions (also against "SEQ:STEPS" text).</summary>
    int Compare(DxBinary binary, object? left, object? right, bool equality)
    {
        left = Unwrap(left);
        right = Unwrap(right);
        switch (left, right)
        {
            case (Int128 a, Int128 b):
                return a.CompareTo(b);
            case (string a, string b):
                return string.CompareOrdinal(a, b);
            case (bool a, bool b) when equality:
                return a == b ? 0 : 1;
            case (Trace.Positions.Position a, Trace.Positions.Position b):
                return a.CompareTo(b);
            case (Trace.Positions.Position a, string b):
                return a.CompareTo(_model.ResolvePosition(b, binary.Right));
            case (string a, Trace.Positions.Position b):
                return _model.ResolvePosition(a, binary.Left).CompareTo(b);
            case (null, null) when equality:
                return 0;
            case (null, _) or (_, null) when equality:
                return 1;
            default:
                throw new DxException($"cannot compare {TypeName(left)} with {TypeName(right)}", binary.Offset, binary.Length);
        }
    }

    static object? Unwrap(object? value) => value is DxObject { Underlying: { } underlying } ? underlying : value;

    internal static string TypeName(object? value) => value switch
    {
        null => "nothing",
        Int128 => "a number",
        string => "a string",
        bool => "a condition",
        DxCollection => "a collection",
        DxFunction => "a lambda",
        DxText => "a command's output",
        DxObject { Underlying: Trace.Positions.Position } => "a position",
        DxObject { Underlying: Int128 } => "a pointer",
        DxObject => "an object",
        _ => value.GetType().Name,
    };

    internal static string Hex(Int128 value) =>
        value < 0 ? "-0x" + (-value).ToString("x", CultureInfo.InvariantCulture) : "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
