using System.Globalization;
using System.Text.RegularExpressions;
using Rewind.Query.Tests.Introspection;

namespace Rewind.Query.Tests.Symbols;

/// <summary>tests/guest/calls.c, static, dynamic and PIE, each recorded once, with what it printed.</summary>
public sealed partial class CallsGuests : IDisposable
{
    readonly Dictionary<string, RecordedGuest> _guests = [];

    public static readonly TheoryData<string> Variants = ["calls-static", "calls-dynamic", "calls-pie"];

    /// <summary>The recorded guest and its output.</summary>
    public async Task<(RecordedGuest Guest, string Output)> RecordAsync(string name)
    {
        RecordedGuest guest;
        lock (_guests)
        {
            if (!_guests.TryGetValue(name, out guest!))
                _guests[name] = guest = new RecordedGuest(name);
        }
        var result = await guest.RecordAsync();
        Assert.Equal(0, result.ExitCode);
        return (guest, result.StdoutText);
    }

    /// <summary>The run-time address of add3 the program printed.</summary>
    public static ulong Add3(string output) => ulong.Parse(Add3Line().Match(output).Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^add3 0x([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex Add3Line();

    public void Dispose()
    {
        foreach (var guest in _guests.Values)
            guest.Dispose();
    }
}
