using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Rewind.Gdb;

namespace Rewind.Cli.Commands;

/// <summary>rewind debug: the trace's gdb server and the machine's gdb connected to it, as rr replay does.</summary>
internal static class DebugCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "The trace file." };
        var gdbArguments = new Argument<string[]>("gdb-arguments") { Description = "Arguments for gdb, after --.", Arity = ArgumentArity.ZeroOrMore };
        var pid = GdbserverCommand.PidOption();
        var command = new Command("debug",
            "Debug the trace with gdb: starts the trace's gdb server (see gdbserver) and gdb connected to it, with the arguments after -- "
            + "(for example -- -batch -x script.gdb). Needs gdb installed.")
        {
            trace, gdbArguments, pid,
        };
        command.SetAction(parse => GdbserverCommand.WithTarget(parse.GetValue(trace)!, parse.GetValue(pid), target =>
        {
            using var listener = GdbserverCommand.Listen(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var server = new Thread(() =>
            {
                try
                {
                    using var client = listener.AcceptTcpClient();
                    client.NoDelay = true;
                    using var stream = client.GetStream();
                    new GdbServer(target).Serve(stream, stream);
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    // gdb went away (or never came): the session is over.
                }
            })
            { Name = "rewind gdb server", IsBackground = true };
            server.Start();
            var start = new ProcessStartInfo("gdb") { UseShellExecute = false };
            foreach (var argument in (string[])["-q", "-ex", $"target remote 127.0.0.1:{port}"])
                start.ArgumentList.Add(argument);
            foreach (var argument in parse.GetValue(gdbArguments) ?? [])
                start.ArgumentList.Add(argument);
            // Ctrl-C is gdb's: it reaches this process too, which keeps serving.
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => context.Cancel = true);
            Process gdb;
            try
            {
                gdb = Process.Start(start)!;
            }
            catch (Win32Exception)
            {
                return Diagnostics.Fail("gdb is not installed: install it (Debian: apt-get install gdb), or connect a debugger to 'rewind gdbserver'");
            }
            using (gdb)
            {
                gdb.WaitForExit();
                if (server.IsAlive)
                    listener.Stop(); // gdb never connected
                server.Join();
                return gdb.ExitCode;
            }
        }));
        return command;
    }
}
