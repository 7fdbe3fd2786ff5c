using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Rewind.Gdb;

/// <summary>
/// A GDB remote serial protocol server over a <see cref="ReplayTarget"/>, in all-stop mode, for stock
/// gdb: registers with a target description, memory, software and hardware breakpoints, watchpoints,
/// continue and step in both directions (c, s, vCont, bc, bs), threads, the executable and libraries
/// through qXfer:exec-file and vFile from the trace's stored copies, the auxiliary vector, and
/// monitor commands. The program's history cannot change: memory and register writes are refused.
/// </summary>
public sealed class GdbServer
{
    readonly ReplayTarget _target;
    readonly MonitorCommands _monitor;
    readonly HashSet<ulong> _hardwareBreakpoints = [];
    RemoteConnection? _connection;
    long? _registerThread;
    StopReason _lastStop;

    public GdbServer(ReplayTarget target)
    {
        _target = target;
        _monitor = new MonitorCommands(target);
        _lastStop = new StopReason(StopKind.Step, target.Thread);
    }

    /// <summary>Serves one gdb on this pair of streams until it detaches, kills or disconnects.</summary>
    public void Serve(Stream input, Stream output)
    {
        _connection = new RemoteConnection(input, output);
        while (_connection.Receive() is { } packet)
        {
            var text = Encoding.Latin1.GetString(packet);
            var reply = Handle(text);
            if (reply is null)
                return;
            _connection.Send(reply);
            if (text == "QStartNoAckMode")
                _connection.NoAck = true;
            if (text.StartsWith('D') || text == "k" || text.StartsWith("vKill", StringComparison.Ordinal))
                return;
        }
    }

    /// <summary>The reply to one packet (bytes as Latin-1 text); null to end the session without one.</summary>
    string? Handle(string text)
    {
        switch (text)
        {
            case "?":
                return StopReply(_lastStop);
            case "g":
                return TargetDescription.AllHex(_target.ThreadState(RegisterThread));
            case "qC":
                return "QC" + Hex(_target.TidOf(_target.Thread));
            case "qAttached":
                return "1";
            case "qfThreadInfo":
                return "m" + string.Join(",", _target.Threads().Select(t => Hex(t.Tid)));
            case "qsThreadInfo":
                return "l";
            case "qSymbol::":
                return "OK";
            case "QStartNoAckMode":
                return "OK";
            case "vCont?":
                return "vCont;c;C;s;S";
            case "c":
                return Resume(step: false, reverse: false, _target.Thread);
            case "s":
                return Resume(step: true, reverse: false, _target.Thread);
            case "bc":
                return Resume(step: false, reverse: true, _target.Thread);
            case "bs":
                return Resume(step: true, reverse: true, _target.Thread);
            case "k":
                return null;
        }
        var (command, arguments) = Split(text);
        return command switch
        {
            "qSupported" => "PacketSize=20000;QStartNoAckMode+;qXfer:features:read+;qXfer:exec-file:read+;qXfer:auxv:read+;qXfer:threads:read+;"
                + "ReverseStep+;ReverseContinue+;swbreak+;hwbreak+;vContSupported+",
            "H" => SelectThread(arguments),
            "T" => ThreadOf(arguments) is not null ? "OK" : "E01",
            "p" => ReadRegister(arguments),
            "m" => ReadMemory(arguments),
            "G" or "P" or "M" or "X" => "E01", // the recorded history cannot change
            "Z" => Point(arguments, insert: true),
            "z" => Point(arguments, insert: false),
            "c" or "s" => Resume(command == "s", reverse: false, _target.Thread),
            "vCont" => VCont(arguments),
            "qXfer" => Transfer(arguments),
            "vFile" => FileRequest(arguments),
            "qRcmd" => Monitor(arguments),
            "D" or "vKill" => "OK",
            _ => "",
        };
    }

    /// <summary>The command name of a packet and what follows it: "m1000,4" is ("m", "1000,4"), "qXfer:a:b" is ("qXfer", "a:b").</summary>
    static (string Command, string Arguments) Split(string text)
    {
        if (text.Length == 0)
            return ("", "");
        if (text[0] is 'q' or 'Q' or 'v')
        {
            var end = text.IndexOfAny([':', ',', ';']);
            return end < 0 ? (text, "") : (text[..end], text[(end + 1)..]);
        }
        return (text[..1], text[1..]);
    }

    long RegisterThread => _registerThread is { } thread && _target.Threads().Any(t => t.UniqueId == thread) ? thread : _target.Thread;

    string SelectThread(string arguments)
    {
        if (arguments.Length < 1)
            return "E01";
        var id = arguments[1..];
        if (arguments[0] == 'g')
            _registerThread = id is "0" or "-1" ? null : ThreadOf(id);
        return "OK";
    }

    long? ThreadOf(string tid) => int.TryParse(tid, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value) ? _target.ThreadOfTid(value) : null;

    string ReadRegister(string arguments)
    {
        if (!int.TryParse(arguments, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var number) || number < 0 || number >= TargetDescription.Count)
            return "E01";
        var output = new StringBuilder();
        TargetDescription.AppendHex(output, _target.ThreadState(RegisterThread), number);
        return output.ToString();
    }

    string ReadMemory(string arguments)
    {
        if (!TryAddressLength(arguments, out var address, out var length))
            return "E01";
        var bytes = new byte[Math.Min(length, 0x8000)];
        // What gdb gets when part of the range is unmapped: the bytes up to the first unmapped one.
        var readable = bytes.Length;
        if (!_target.TryReadMemory(address, bytes))
        {
            readable = 0;
            while (readable < bytes.Length && _target.TryReadMemory(address + (ulong)readable, bytes.AsSpan(readable, 1)))
                readable++;
        }
        return readable == 0 && bytes.Length > 0 ? "E14" : Convert.ToHexStringLower(bytes, 0, readable);
    }

    static bool TryAddressLength(string text, out ulong address, out int length)
    {
        length = 0;
        var comma = text.IndexOf(',');
        return ulong.TryParse(comma < 0 ? "" : text[..comma], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out address)
            && int.TryParse(text[(comma + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out length) && length >= 0;
    }

    /// <summary>Z/z TYPE,ADDR,KIND: breakpoints (0 software, 1 hardware) and watchpoints (2 write, 3 read, 4 access).</summary>
    string Point(string arguments, bool insert)
    {
        var parts = arguments.Split(';')[0].Split(',');
        if (parts.Length < 3 || !ulong.TryParse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var address)
            || !ulong.TryParse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var length))
            return "E01";
        switch (parts[0])
        {
            case "0" or "1":
                if (insert)
                {
                    _target.AddBreakpoint(address);
                    if (parts[0] == "1")
                        _hardwareBreakpoints.Add(address);
                }
                else
                {
                    _target.RemoveBreakpoint(address);
                    _hardwareBreakpoints.Remove(address);
                }
                return "OK";
            case "2" or "3" or "4":
                var kind = parts[0] switch { "2" => WatchKind.Write, "3" => WatchKind.Read, _ => WatchKind.Access };
                if (insert)
                    _target.AddWatchpoint(address, length, kind);
                else
                    _target.RemoveWatchpoint(address, length, kind);
                return "OK";
            default:
                return "";
        }
    }

    /// <summary>vCont;ACTION[:TID]...: the first action that names a thread (or the default one) decides; a step steps that thread.</summary>
    string VCont(string arguments)
    {
        foreach (var action in arguments.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = action.IndexOf(':');
            var verb = colon < 0 ? action : action[..colon];
            var thread = colon < 0 ? _target.Thread : ThreadOf(action[(colon + 1)..]) ?? _target.Thread;
            switch (verb[0])
            {
                case 's' or 'S':
                    return Resume(step: true, reverse: false, thread);
                case 'c' or 'C':
                    return Resume(step: false, reverse: false, thread);
            }
        }
        return "E01";
    }

    string Resume(bool step, bool reverse, long thread)
    {
        _lastStop = step ? _target.Step(thread, reverse) : _target.Continue(reverse);
        _registerThread = null;
        return StopReply(_lastStop);
    }

    string StopReply(StopReason stop)
    {
        var reply = new StringBuilder("T05");
        switch (stop.Kind)
        {
            case StopKind.Breakpoint:
                reply.Append(_hardwareBreakpoints.Contains(_target.Cursor.Register(Engine.X86Register.Rip)) ? "hwbreak:;" : "swbreak:;");
                break;
            case StopKind.Watchpoint:
                reply.Append(stop.Watch switch { WatchKind.Write => "watch", WatchKind.Read => "rwatch", _ => "awatch" }).Append(':').Append(Hex(stop.WatchAddress)).Append(';');
                break;
            case StopKind.HistoryStart:
                reply.Append("replaylog:begin;");
                break;
            case StopKind.HistoryEnd:
                reply.Append("replaylog:end;");
                break;
        }
        return reply.Append("thread:").Append(Hex(_target.TidOf(stop.Thread))).Append(';').ToString();
    }

    /// <summary>qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH.</summary>
    string Transfer(string arguments)
    {
        var parts = arguments.Split(':');
        if (parts.Length != 4 || parts[1] != "read" || !TryAddressLength(parts[3], out var offset, out var length))
            return "";
        var content = parts[0] switch
        {
            "features" when parts[2] == "target.xml" => Encoding.UTF8.GetBytes(TargetDescription.Xml),
            "exec-file" => Encoding.UTF8.GetBytes(_target.ExecutablePath),
            "auxv" => _target.Auxv,
            "threads" => Encoding.UTF8.GetBytes(ThreadsXml()),
            _ => null,
        };
        if (content is null)
            return "E00";
        var start = (int)Math.Min(offset, (ulong)content.Length);
        var count = Math.Min(length, content.Length - start);
        return (start + count < content.Length ? "m" : "l") + Encoding.Latin1.GetString(content, start, count);
    }

    string ThreadsXml()
    {
        var xml = new StringBuilder("<?xml version=\"1.0\"?>\n<threads>\n");
        foreach (var (_, tid) in _target.Threads())
            xml.Append($"<thread id=\"{Hex(tid)}\"/>\n");
        return xml.Append("</threads>\n").ToString();
    }

    /// <summary>Host I/O (vFile): gdb reads the program's files from the trace's stored copies.</summary>
    string FileRequest(string arguments)
    {
        var colon = arguments.IndexOf(':');
        var operation = colon < 0 ? arguments : arguments[..colon];
        var fields = colon < 0 ? [] : arguments[(colon + 1)..].Split(',');
        const string NoSuchFile = "F-1,2", BadHandle = "F-1,9";
        switch (operation)
        {
            case "setfs":
                return "F0";
            case "open":
                var path = Encoding.UTF8.GetString(Convert.FromHexString(fields[0]));
                var handle = _target.Files.Open(path);
                return handle < 0 ? NoSuchFile : "F" + Hex(handle);
            case "close":
                return int.TryParse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var closed) && _target.Files.Close(closed) ? "F0" : BadHandle;
            case "pread":
                if (fields.Length != 3 || !int.TryParse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var fd)
                    || _target.Files.Content(fd) is not { } content
                    || !int.TryParse(fields[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var count)
                    || !long.TryParse(fields[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var offset))
                    return BadHandle;
                var start = (int)Math.Clamp(offset, 0, content.Length);
                var slice = content.Span.Slice(start, Math.Min(count, content.Length - start));
                return "F" + Hex(slice.Length) + ";" + Encoding.Latin1.GetString(slice);
            case "fstat":
                if (!int.TryParse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var statted) || _target.Files.Content(statted) is not { } file)
                    return BadHandle;
                return "F40;" + Encoding.Latin1.GetString(FileStat(file.Length));
            default:
                return operation is "readlink" or "unlink" ? NoSuchFile : "";
        }
    }

    /// <summary>gdb's struct stat for Host I/O: big-endian fields, a regular file of <paramref name="size"/> bytes.</summary>
    static byte[] FileStat(long size)
    {
        var stat = new byte[64];
        BinaryPrimitives.WriteUInt32BigEndian(stat.AsSpan(8), 0x81a4); // st_mode: regular, 0644
        BinaryPrimitives.WriteUInt32BigEndian(stat.AsSpan(12), 1); // st_nlink
        BinaryPrimitives.WriteUInt64BigEndian(stat.AsSpan(28), (ulong)size);
        BinaryPrimitives.WriteUInt64BigEndian(stat.AsSpan(36), 4096); // st_blksize
        BinaryPrimitives.WriteUInt64BigEndian(stat.AsSpan(44), (ulong)((size + 511) / 512));
        return stat;
    }

    /// <summary>qRcmd,HEX: a monitor command; its output goes to gdb's console as O packets.</summary>
    string Monitor(string arguments)
    {
        string command;
        try
        {
            command = Encoding.UTF8.GetString(Convert.FromHexString(arguments));
        }
        catch (FormatException)
        {
            return "E01";
        }
        var output = _monitor.Run(command, out var moved);
        if (moved)
            _lastStop = new StopReason(StopKind.Step, _target.Thread);
        foreach (var line in output)
            _connection!.Send("O" + Convert.ToHexStringLower(Encoding.UTF8.GetBytes(line + "\n")));
        return "OK";
    }

    static string Hex(long value) => value.ToString("x", CultureInfo.InvariantCulture);

    static string Hex(ulong value) => value.ToString("x", CultureInfo.InvariantCulture);
}
