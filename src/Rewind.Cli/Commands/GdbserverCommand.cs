using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Rewind.Gdb;
using Rewind.Query;

namespace Rewind.Cli.Commands;

/// <summary>rewind gdbserver: a GDB remote protocol server over a replay of the trace, on a TCP port or on stdin/stdout.</summary>
internal static class GdbserverCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var listen = new Option<string>("--listen")
        {
            Description = "Where to listen for gdb, as HOST:PORT (port 0: a free one). The address is printed as 'rewind: listening on HOST:PORT'.",
            DefaultValueFactory = _ => "127.0.0.1:0",
        };
        var stdio = new Option<bool>("--stdio") { Description = "Talk to gdb on stdin and stdout instead: gdb -ex 'target remote | rewind gdbserver --stdio TRACE'." };
        var pid = PidOption();
        var command = new Command("gdbserver",
            "Serve the trace to gdb over the GDB remote serial protocol: breakpoints, watchpoints, stepping and continuing forward and in reverse "
            + "(reverse-continue, reverse-step...), registers, memory, threads and backtraces, with the program's files served from the trace's stored copies. "
            + "'monitor when', 'monitor seek POSITION', 'monitor dx EXPRESSION' and 'monitor info' work in gdb. One gdb connection; the server ends with it.")
        {
            trace, listen, stdio, pid,
        };
        command.SetAction(parse =>
        {
            var stdioMode = parse.GetValue(stdio);
            IPEndPoint? endpoint = null;
            if (!stdioMode && !TryParseEndpoint(parse.GetValue(listen)!, out endpoint))
                return 2;
            return WithTarget(parse.GetValue(trace)!, parse.GetValue(pid), target =>
            {
                var server = new GdbServer(target);
                if (stdioMode)
                {
                    using var input = Console.OpenStandardInput();
                    using var output = Console.OpenStandardOutput();
                    server.Serve(input, output);
                    return 0;
                }
                using var listener = Listen(endpoint!);
                using var client = listener.AcceptTcpClient();
                client.NoDelay = true;
                using var stream = client.GetStream();
                server.Serve(stream, stream);
                return 0;
            });
        });
        return command;
    }

    public static Option<int?> PidOption() => new("--pid") { Description = "The process to debug (default: the first one of the trace); the others run unseen." };

    /// <summary>Opens the trace and its debugging target; bad input becomes a one-line error.</summary>
    public static int WithTarget(string path, int? pid, Func<ReplayTarget, int> work)
    {
        if (!TraceCommandLine.LoadEngine())
            return 1;
        return MemoryCommand.WithSession(path, session =>
        {
            using var target = ReplayTarget.Open(session, pid);
            return work(target);
        });
    }

    /// <summary>Starts listening and says where, as 'rewind: listening on HOST:PORT'.</summary>
    public static TcpListener Listen(IPEndPoint endpoint)
    {
        var listener = new TcpListener(endpoint);
        listener.Start(1);
        var bound = (IPEndPoint)listener.LocalEndpoint;
        Diagnostics.Warn($"listening on {bound.Address}:{bound.Port.ToString(CultureInfo.InvariantCulture)}");
        return listener;
    }

    static bool TryParseEndpoint(string text, out IPEndPoint? endpoint)
    {
        endpoint = null;
        var colon = text.LastIndexOf(':');
        var host = colon < 0 ? "" : text[..colon].Trim('[', ']');
        if (colon < 0 || !ushort.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            Diagnostics.Fail($"--listen: '{text}' is not HOST:PORT (for example 127.0.0.1:1234)", 2);
            return false;
        }
        if (!IPAddress.TryParse(host == "localhost" ? "127.0.0.1" : host, out var address))
        {
            Diagnostics.Fail($"--listen: '{host}' is not an IP address (for example 127.0.0.1)", 2);
            return false;
        }
        endpoint = new IPEndPoint(address, port);
        return true;
    }
}
