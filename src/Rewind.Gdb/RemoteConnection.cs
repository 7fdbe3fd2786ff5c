using System.Text;

namespace Rewind.Gdb;

/// <summary>
/// The framing of the GDB remote serial protocol on a byte stream: packets <c>$data#checksum</c>,
/// acknowledgements (until no-ack mode), <c>}</c>-escaping of binary data, and the interrupt byte.
/// </summary>
internal sealed class RemoteConnection(Stream input, Stream output)
{
    /// <summary>After QStartNoAckMode: no more '+' for packets received or expected for packets sent.</summary>
    public bool NoAck { get; set; }

    /// <summary>The next packet's data (escapes removed), or null when the stream ended.</summary>
    public byte[]? Receive()
    {
        while (true)
        {
            var first = input.ReadByte();
            if (first < 0)
                return null;
            if (first != '$')
                continue; // acknowledgements, and interrupts: every request is answered before the next is read
            var data = new List<byte>();
            byte sum = 0;
            int c;
            while ((c = input.ReadByte()) >= 0 && c != '#')
            {
                sum += (byte)c;
                if (c == '}')
                {
                    var escaped = input.ReadByte();
                    if (escaped < 0)
                        return null;
                    sum += (byte)escaped;
                    data.Add((byte)(escaped ^ 0x20));
                }
                else
                    data.Add((byte)c);
            }
            var high = input.ReadByte();
            var low = input.ReadByte();
            if (c < 0 || low < 0)
                return null;
            var good = Convert.FromHexString([(char)high, (char)low])[0] == sum;
            if (!NoAck)
            {
                output.WriteByte((byte)(good ? '+' : '-'));
                output.Flush();
            }
            if (good)
                return [.. data];
        }
    }

    public void Send(string text) => Send(Encoding.Latin1.GetBytes(text));

    /// <summary>Sends a packet, escaping the bytes the protocol reserves.</summary>
    public void Send(ReadOnlySpan<byte> data)
    {
        byte sum = 0;
        var packet = new MemoryStream(data.Length + 8);
        packet.WriteByte((byte)'$');
        foreach (var b in data)
        {
            if (b is (byte)'$' or (byte)'#' or (byte)'}' or (byte)'*')
            {
                packet.WriteByte((byte)'}');
                packet.WriteByte((byte)(b ^ 0x20));
                sum += (byte)'}';
                sum += (byte)(b ^ 0x20);
            }
            else
            {
                packet.WriteByte(b);
                sum += b;
            }
        }
        packet.WriteByte((byte)'#');
        packet.Write(Encoding.ASCII.GetBytes(sum.ToString("x2")));
        output.Write(packet.GetBuffer(), 0, (int)packet.Length);
        output.Flush();
        // In ack mode gdb answers '+' (or '-' to ask again); the answer is skipped when reading the next packet.
    }
}
