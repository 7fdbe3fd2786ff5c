using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rewind.Engine;
using Rewind.Linux.Execution;

namespace Rewind.Replay;

/// <summary>
/// Exact callbacks and stops at chosen instructions without a per-instruction hook, as PANDA
/// instruments at translation. Addresses: a code hook on each listed address only; the instruction
/// count there is the count at the start of its block plus the instructions before it in the
/// block (decoded once per block and address). Instruction counts (and the stop of
/// <see cref="ReplaySession.Run"/>): the block counter raises a watch when the block holding the
/// next one is entered; only then are code hooks put on the watched instructions of that block,
/// which is translated again, so that the callback runs with the guest exactly before the instruction.
/// </summary>
internal sealed unsafe class ReplayWatches : IDisposable
{
    readonly GuestProcess _process;
    readonly Dictionary<(ulong Block, ulong Pc), int> _prefixes = [];
    readonly List<(nuint Hook, long Target, bool Stop)> _armed = [];
    GCHandle _self;
    ulong[] _addresses = [];
    long[] _instructions = [];
    int _next;
    long _stopAt = long.MaxValue;
    bool _addressesInstalled;

    public ReplayWatches(GuestProcess process)
    {
        _process = process;
        process.CodeChanged += (_, _) => _prefixes.Clear();
    }

    public InstructionCallback? AddressCallback { get; private set; }
    public InstructionCallback? InstructionCallback { get; private set; }

    /// <summary>Whether the last run ended at its stop instruction.</summary>
    public bool Stopped { get; private set; }

    public void WatchAddresses(IEnumerable<ulong> addresses, InstructionCallback callback)
    {
        if (_addressesInstalled)
            throw new InvalidOperationException("addresses are watched from the first Run on; add them before it");
        _addresses = addresses.Distinct().Order().ToArray();
        AddressCallback = callback;
    }

    public void WatchInstructions(IEnumerable<long> instructions, InstructionCallback callback)
    {
        _instructions = instructions.Where(i => i >= 0).Distinct().Order().ToArray();
        _next = 0;
        while (_next < _instructions.Length && _instructions[_next] < _process.Instructions)
            _next++;
        InstructionCallback = callback;
        Schedule();
    }

    /// <summary>
    /// Before a run: puts the code hooks on the watched addresses (once), and makes the run stop
    /// just before instruction <paramref name="stopAt"/> (long.MaxValue: no stop).
    /// <paramref name="translated"/>: code already ran, so its translations must be dropped for new hooks to apply.
    /// </summary>
    public void Install(long stopAt, bool translated)
    {
        _stopAt = stopAt;
        Stopped = false;
        Schedule();
        if (_addressesInstalled || _addresses.Length == 0)
            return;
        _addressesInstalled = true;
        var cpu = _process.Cpu;
        foreach (var address in _addresses)
            cpu.AddHook(HookType.Code, (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnAddress, User, address, address);
        // Dropping every translation is costly in the engine (it commits its whole code buffer): only when there are some.
        if (translated)
            cpu.DropAllTranslations();
    }

    void* User
    {
        get
        {
            if (!_self.IsAllocated)
                _self = GCHandle.Alloc(this);
            return (void*)GCHandle.ToIntPtr(_self);
        }
    }

    static ReplayWatches From(void* user) => Unsafe.As<ReplayWatches>(GCHandle.FromIntPtr((nint)user).Target!);

    /// <summary>The exact count of the instruction at <paramref name="pc"/> in the block being run.</summary>
    long IndexOf(ulong pc)
    {
        var counter = _process.Counter;
        var block = counter.BlockStart;
        if (!_prefixes.TryGetValue((block, pc), out var prefix))
        {
            prefix = counter.CountBetween(block, pc);
            _prefixes[(block, pc)] = prefix;
        }
        return counter.BlockFirst + prefix;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnAddress(nint engine, ulong address, uint size, void* user)
    {
        var self = From(user);
        try
        {
            self.AddressCallback?.Invoke(self.IndexOf(address), address, (int)size);
        }
        catch (Exception e)
        {
            self._process.Fail(e); // comes out of Run, not through the engine
        }
    }

    /// <summary>The next instruction count to watch for: the next callback's or the stop.</summary>
    long NextTarget => Math.Min(_next < _instructions.Length ? _instructions[_next] : long.MaxValue, _stopAt);

    void Schedule()
    {
        var counter = _process.Counter;
        counter.NextWatch = NextTarget;
        counter.WatchReached = counter.NextWatch == long.MaxValue && _armed.Count == 0 ? null : OnWatchReached;
    }

    /// <summary>
    /// A block holding the next watched count was entered: hook each watched instruction in it and
    /// translate the block again. Returns true when the block is to run again, not counted now.
    /// </summary>
    bool OnWatchReached(ulong block, int count)
    {
        try
        {
            return Arm(block, count);
        }
        catch (Exception e)
        {
            _process.Fail(e);
            return false;
        }
    }

    bool Arm(ulong block, int count)
    {
        var counter = _process.Counter;
        var first = counter.BlockFirst;
        // Counts in blocks that never completed (a fault cut them short) are gone.
        while (_next < _instructions.Length && _instructions[_next] < first)
            _next++;
        Schedule();
        var target = NextTarget;
        if (target < first || target >= first + count)
        {
            DisarmAll();
            return false;
        }
        if (_armed.Count > 0 && _armed[0].Target == target)
            return false; // the block again, translated with the hooks
        DisarmAll();
        var end = counter.BlockEnd;
        var code = new byte[end - block];
        if (code.Length == 0 || !_process.Memory.Peek(block, code))
            return false;
        var decoder = Iced.Intel.Decoder.Create(64, new Iced.Intel.ByteArrayCodeReader(code), block);
        var index = first;
        var stopArmed = false;
        for (var next = _next; ; next++)
        {
            var callback = next < _instructions.Length ? _instructions[next] : long.MaxValue;
            var stop = !stopArmed && _stopAt <= callback;
            var at = stop ? _stopAt : callback;
            if (at >= first + count)
                break;
            for (; index < at && decoder.IP < end; index++)
                decoder.Decode(out _);
            if (index < at)
                break;
            var pc = decoder.IP;
            _armed.Add((_process.Cpu.AddHook(HookType.Code, (delegate* unmanaged[Cdecl]<nint, ulong, uint, void*, void>)&OnArmed, User, pc, pc), at, stop));
            if (stop)
            {
                stopArmed = true;
                next--; // the callback at or after the stop is still to be armed
            }
        }
        _process.Cpu.DropTranslations(block, end);
        // Writing RIP leaves the block before it runs; it starts again, translated with the hooks.
        _process.Cpu.Write(X86Register.Rip, block);
        return true;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void OnArmed(nint engine, ulong address, uint size, void* user)
    {
        var self = From(user);
        try
        {
            self.Reached(address, size);
        }
        catch (Exception e)
        {
            self._process.Fail(e);
        }
    }

    void Reached(ulong pc, uint size)
    {
        var index = IndexOf(pc);
        var stop = false;
        var callback = false;
        for (var i = _armed.Count - 1; i >= 0; i--)
        {
            if (_armed[i].Target != index)
                continue;
            stop |= _armed[i].Stop;
            callback |= !_armed[i].Stop;
        }
        if (stop)
        {
            // The block was counted whole when it was entered; from this instruction on it has not
            // run, and the next run counts it again as a new block.
            _process.Counter.Instructions = index;
            _stopAt = long.MaxValue;
            Stopped = true;
            DisarmAll();
            Schedule();
            _process.Pause();
            return; // the callback of this instruction comes when the run continues
        }
        if (!callback)
            return;
        for (var i = _armed.Count - 1; i >= 0; i--)
        {
            if (_armed[i].Target != index)
                continue;
            _process.Cpu.RemoveHook(_armed[i].Hook);
            _armed.RemoveAt(i);
        }
        while (_next < _instructions.Length && _instructions[_next] <= index)
            _next++;
        Schedule();
        InstructionCallback?.Invoke(index, pc, (int)size);
    }

    void DisarmAll()
    {
        foreach (var (hook, _, _) in _armed)
            _process.Cpu.RemoveHook(hook);
        _armed.Clear();
    }

    public void Dispose()
    {
        if (_self.IsAllocated)
            _self.Free();
    }
}
