using System.Globalization;
using System.Numerics;

namespace Rewind.Query.MemoryMap;

/// <summary>
/// Writes memorymap lines as bytes into a large buffer: the pc in hex and the instruction count in
/// decimal are formatted in place, the rest of the line comes from byte strings made once (the
/// process part per task name, the image part per module). No allocation per line. Full buffers
/// are written out on a worker thread while the next one fills (two buffers), so formatting
/// and the write syscalls overlap.
/// </summary>
public sealed class MemoryMapLineWriter : IDisposable
{
    const int NumbersRoom = 64; // "pc=0x" + 16 hex digits + " instr_count=" + 20 digits, with room to spare

    readonly Stream _output;
    byte[] _buffer;
    byte[] _spare;
    int _used;
    Task? _pending;
    volatile IOException? _failure;

    public MemoryMapLineWriter(Stream output, int bufferSize = 4 << 20)
    {
        _output = output;
        _buffer = new byte[bufferSize];
        _spare = new byte[bufferSize];
    }

    /// <summary>Lines written so far.</summary>
    public long Lines { get; private set; }

    /// <summary>Why writing failed (a full disk, a closed pipe); output is dropped from then on. Null while all is well.</summary>
    public IOException? Failure => _failure;

    /// <summary>Writes "pc=0x... instr_count=..." followed by <paramref name="process"/> and <paramref name="image"/> (which ends the line).</summary>
    public void Write(ulong pc, long instruction, ReadOnlySpan<byte> process, ReadOnlySpan<byte> image)
    {
        var length = NumbersRoom + process.Length + image.Length;
        if (_buffer.Length - _used < length)
            MakeRoom(length);
        var span = _buffer.AsSpan(_used);
        "pc=0x"u8.CopyTo(span);
        var at = 5 + WriteHex(span[5..], pc);
        " instr_count="u8.CopyTo(span[at..]);
        at += 13;
        instruction.TryFormat(span[at..], out var digits, default, CultureInfo.InvariantCulture);
        at += digits;
        process.CopyTo(span[at..]);
        at += process.Length;
        image.CopyTo(span[at..]);
        _used += at + image.Length;
        Lines++;
    }

    /// <summary>Lower-case hex without padding.</summary>
    static int WriteHex(Span<byte> destination, ulong value)
    {
        var digits = value == 0 ? 1 : (67 - BitOperations.LeadingZeroCount(value)) >> 2;
        var hex = "0123456789abcdef"u8;
        for (var i = digits - 1; i >= 0; i--)
        {
            destination[i] = hex[(int)(value & 0xf)];
            value >>= 4;
        }
        return digits;
    }

    /// <summary>Hands the full buffer to the worker and continues in the other one.</summary>
    void MakeRoom(int length)
    {
        WaitForPending();
        if (_used > 0 && _failure is null)
        {
            var (full, count) = (_buffer, _used);
            _pending = Task.Run(() => WriteOut(full, count));
            (_buffer, _spare) = (_spare, _buffer);
        }
        _used = 0;
        if (_buffer.Length < length)
            _buffer = new byte[length * 2];
    }

    void WriteOut(byte[] buffer, int count)
    {
        try
        {
            _output.Write(buffer, 0, count);
        }
        catch (IOException e)
        {
            _failure ??= e;
        }
    }

    void WaitForPending()
    {
        _pending?.Wait();
        _pending = null;
    }

    /// <summary>
    /// Writes out everything buffered and flushes the stream. A write error is kept in
    /// <see cref="Failure"/>, not thrown: this runs inside engine callbacks.
    /// </summary>
    public void Flush()
    {
        WaitForPending();
        if (_used > 0 && _failure is null)
            WriteOut(_buffer, _used);
        _used = 0;
        try
        {
            if (_failure is null)
                _output.Flush();
        }
        catch (IOException e)
        {
            _failure ??= e;
        }
    }

    public void Dispose() => Flush();
}
