using Iced.Intel;

namespace Rewind.Linux.Execution;

/// <summary>
/// Decodes block after block with one Iced decoder. Creating a decoder allocates its tables; done at every
/// new block, it was most of what a recording allocated.
/// </summary>
public sealed class BlockDecoder
{
    readonly ResettableReader _reader = new();
    readonly Decoder _decoder;

    public BlockDecoder() => _decoder = Decoder.Create(64, _reader);

    /// <summary>The decoder, set to decode the first <paramref name="length"/> bytes of <paramref name="code"/> as the code at <paramref name="address"/>.</summary>
    public Decoder Start(byte[] code, int length, ulong address)
    {
        _reader.Reset(code, length);
        _decoder.IP = address;
        return _decoder;
    }

    sealed class ResettableReader : CodeReader
    {
        byte[] _code = [];
        int _position;
        int _length;

        public void Reset(byte[] code, int length) => (_code, _position, _length) = (code, 0, length);

        public override int ReadByte() => _position < _length ? _code[_position++] : -1;
    }
}
