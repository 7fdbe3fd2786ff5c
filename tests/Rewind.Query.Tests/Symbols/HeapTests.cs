using System.Globalization;
using System.Text.RegularExpressions;
using Rewind.Query.Heap;

namespace Rewind.Query.Tests.Symbols;

/// <summary>TTD.Data.Heap() and leaks against the allocations, frees and leaks calls.c printed, with the stack of each leak ending in main.</summary>
public sealed partial class HeapTests(CallsGuests guests) : IClassFixture<CallsGuests>
{
    static ulong Hex(string text) => ulong.Parse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    static ulong Number(string text) => ulong.Parse(text, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(malloc|calloc|realloc|posix_memalign|free|leak) (.*)$", RegexOptions.Multiline)]
    private static partial Regex HeapLine();

    [Theory]
    [MemberData(nameof(CallsGuests.Variants), MemberType = typeof(CallsGuests))]
    public async Task Allocations_frees_and_leaks_are_those_the_program_printed(string name)
    {
        var (guest, output) = await guests.RecordAsync(name);
        GuestRunner.LoadEngine();
        using var session = TraceSession.Open(guest.Trace);
        var events = session.Heap().ToList();
        var frees = events.Where(e => e.Action == HeapAction.Free).Select(e => e.Address).ToList();
        var leaked = new List<(ulong Address, ulong Size)>();
        foreach (Match line in HeapLine().Matches(output))
        {
            var words = line.Groups[2].Value.Split(' ');
            switch (line.Groups[1].Value)
            {
                case "malloc":
                    Assert.Contains(events, e => e.Action == HeapAction.Alloc && e.Size == Number(words[0]) && e.Address == Hex(words[2]) && e.Function.EndsWith("!malloc", StringComparison.Ordinal));
                    break;
                case "calloc":
                    Assert.Contains(events, e => e.Action == HeapAction.Alloc && e.Size == Number(words[0]) * Number(words[1]) && e.Address == Hex(words[3]));
                    break;
                case "realloc":
                    Assert.Contains(events, e => e.Action == HeapAction.ReAlloc && e.PreviousAddress == Hex(words[0]) && e.Size == Number(words[1]) && e.Address == Hex(words[3]));
                    break;
                case "posix_memalign":
                    Assert.Contains(events, e => e.Action == HeapAction.Alloc && e.Size == Number(words[1]) && e.Address == Hex(words[3]));
                    break;
                case "free":
                    Assert.Contains(Hex(words[0]), frees);
                    break;
                case "leak":
                    leaked.Add((Hex(words[0]), Number(words[1])));
                    break;
            }
        }
        Assert.Equal(2, leaked.Count);
        var live = session.Heap().LiveAt();
        foreach (var (address, size) in leaked)
        {
            var block = Assert.Single(live, e => e.Address == address);
            Assert.Equal(size, block.Size);
            // The program's own call: the first frame is in main, then the C library's start-up.
            var caller = session.Symbols.Describe(block.CallStack[0], block.TimeStart.Instruction);
            Assert.StartsWith($"{name}!main+0x", caller, StringComparison.Ordinal);
            Assert.Contains(block.CallStack, frame => session.Symbols.Describe(frame, block.TimeStart.Instruction)?.Contains("__libc_start_main", StringComparison.Ordinal) == true);
        }
        Assert.DoesNotContain(live, e => frees.Contains(e.Address) && !leaked.Any(l => l.Address == e.Address));
        // Before the first of the program's frees, the first block it freed is still live.
        var printedFree = Hex(HeapLine().Matches(output).First(m => m.Groups[1].Value == "free").Groups[2].Value);
        var firstFree = events.First(e => e.Action == HeapAction.Free && e.Address == printedFree);
        Assert.Contains(session.Heap().LiveAt(firstFree.TimeStart), e => e.Address == firstFree.Address);
        Assert.DoesNotContain(session.Heap().LiveAt(firstFree.TimeEnd), e => e.Address == firstFree.Address);
    }
}
