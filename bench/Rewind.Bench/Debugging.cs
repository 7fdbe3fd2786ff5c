using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Rewind.Bench;

/// <summary>
/// bench/run --debugging: the gdb server's reverse execution on the compute kernel's 1-billion-instruction
/// trace (--quick: a few million), timed packet by packet as gdb sends them, through 'rewind gdbserver
/// --stdio': a reverse-continue from the end to the last write of an 8-byte global (a watchpoint on
/// rows_done), a reverse-stepi, and a seek to a random position. The stop is checked against the last
/// write that 'rewind memory' lists.
/// </summary>
internal sealed class Debugging(BenchOptions options, string rewind, string work, WorkloadSetup setup)
{
    public IReadOnlyList<TargetResult> Measure()
    {
        var program = setup.Kernel("compute") ?? throw new BenchException("the debugging targets need gcc to build bench/kernels/compute.c");
        var counter = Targets.Symbols(program, work)["rows_done"];
        var size = options.Quick ? 60 : 480;
        var trace = Path.Combine(work, $"compute-{size}.rwd");
        AnsiConsole.MarkupLine($"  recording compute {size}");
        Run([rewind, "record", "-o", trace, "--", program, size.ToString(CultureInfo.InvariantCulture)]);
        Run([rewind, "index", trace]);
        var writes = Run([rewind, "memory", trace, $"0x{counter:x}", $"0x{counter + 8:x}", "w", "--format", "jsonl"]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var last = JsonDocument.Parse(writes[^1]);
        var lastWrite = last.RootElement.GetProperty("InstrCount").GetInt64();

        using var server = new RemoteClient(rewind, trace, work);
        var instructions = long.Parse(Field(server.Monitor("info"), "Instructions ").Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
        var name = string.Create(CultureInfo.InvariantCulture, $"compute {size}: {instructions / 1e9:F2} G instructions");

        var random = new Random(17);
        var seeks = new List<double>();
        var seekCpu = 0.0;
        for (var i = 0; i < 5 * options.Runs; i++)
        {
            var position = random.NextInt64(instructions);
            seeks.Add(server.Timed(() => server.Monitor($"seek {position}")));
            seekCpu = Math.Max(seekCpu, server.LastCpu);
        }
        var seek = seeks.Max();

        server.Request("Z2," + counter.ToString("x", CultureInfo.InvariantCulture) + ",8");
        double reverseContinue = double.MaxValue, reverseStep = double.MaxValue, continueCpu = 0, stepCpu = 0;
        var stoppedAt = -1L;
        for (var i = 0; i < options.Runs; i++)
        {
            server.Monitor("seek 100%");
            string reply = "";
            var seconds = server.Timed(() => reply = server.Request("bc"));
            (reverseContinue, continueCpu) = seconds < reverseContinue ? (seconds, server.LastCpu) : (reverseContinue, continueCpu);
            if (!reply.StartsWith($"T05watch:{counter:x};", StringComparison.Ordinal))
                throw new BenchException($"reverse-continue to the watchpoint answered '{reply}'");
            stoppedAt = long.Parse(Field(server.Monitor("when"), "instr_count "), CultureInfo.InvariantCulture);
            for (var step = 0; step < 3; step++)
            {
                var stepped = server.Timed(() => server.Request("bs"));
                (reverseStep, stepCpu) = stepped < reverseStep ? (stepped, server.LastCpu) : (reverseStep, stepCpu);
            }
        }
        var stepBack = reverseStep;
        // Wall-clock times depend on what else runs: the load is shown with them, and CPU times beside.
        var load = "load average " + File.ReadAllText("/proc/loadavg").Split(' ')[0] + " on " + Environment.ProcessorCount + " cores";
        AnsiConsole.MarkupLine($"  {Markup.Escape(name)}: reverse-continue {reverseContinue:F3} s, reverse-stepi {stepBack:F3} s, slowest seek {seek:F3} s");
        return
        [
            new("reverse-continue to the last write of an 8-byte global, from the end",
                F($"{reverseContinue:F2} s, {continueCpu:F2} s of CPU (stopped at instruction {stoppedAt:N0}, the last write 'rewind memory' lists is {lastWrite:N0}; {name}; {load})"),
                "within 0.5 s", reverseContinue <= 0.5 && stoppedAt == lastWrite,
                new Dictionary<string, double> { ["seconds"] = reverseContinue, ["cpuSeconds"] = continueCpu, ["stoppedAt"] = stoppedAt, ["lastWrite"] = lastWrite, ["instructions"] = instructions }),
            new("reverse-stepi", F($"{stepBack:F2} s, {stepCpu:F2} s of CPU"), "within 0.2 s", stepBack <= 0.2, new Dictionary<string, double> { ["seconds"] = stepBack, ["cpuSeconds"] = stepCpu }),
            new("seek to a random position", F($"{seek:F2} s (the slowest of {seeks.Count}; median {seeks.Order().ElementAt(seeks.Count / 2):F2} s), at most {seekCpu:F2} s of CPU"), "within 0.5 s", seek <= 0.5,
                new Dictionary<string, double> { ["seconds"] = seek, ["cpuSeconds"] = seekCpu, ["seeks"] = seeks.Count }),
        ];
    }

    static string Field(string text, string label)
    {
        var start = text.IndexOf(label, StringComparison.Ordinal);
        if (start < 0)
            throw new BenchException($"the gdb server's answer has no '{label.Trim()}': {text}");
        start += label.Length;
        var end = start;
        while (end < text.Length && (char.IsDigit(text[end]) || text[end] == ','))
            end++;
        return text[start..end];
    }

    string Run(IReadOnlyList<string> arguments)
    {
        using var output = new MemoryStream();
        var invocation = new Invocation(arguments, work);
        var result = ProcessRunner.Run(invocation, TimeSpan.FromSeconds(options.TimeoutSeconds), output);
        if (result.TimedOut || result.ExitCode != 0)
            throw new BenchException($"{invocation.Display} failed: {(result.TimedOut ? "timed out" : result.LastError)}");
        return Encoding.UTF8.GetString(output.ToArray());
    }

    static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The GDB remote protocol as gdb speaks it, over 'rewind gdbserver --stdio', in no-ack mode.</summary>
    sealed class RemoteClient : IDisposable
    {
        readonly Process _server;
        readonly Stream _to, _from;

        public RemoteClient(string rewind, string trace, string work)
        {
            var start = new ProcessStartInfo(rewind) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = work };
            foreach (var argument in new[] { "gdbserver", "--stdio", trace })
                start.ArgumentList.Add(argument);
            _server = Process.Start(start) ?? throw new BenchException("cannot start rewind gdbserver");
            _to = _server.StandardInput.BaseStream;
            _from = _server.StandardOutput.BaseStream;
            Send("QStartNoAckMode");
            if (_from.ReadByte() != '+' || Receive() != "OK")
                throw new BenchException("rewind gdbserver did not take no-ack mode");
        }

        /// <summary>The wall-clock time of <paramref name="request"/>; its CPU time in the server is added to <see cref="CpuSeconds"/>.</summary>
        public double Timed(Action request)
        {
            var cpu = ServerCpu();
            var clock = Stopwatch.StartNew();
            request();
            LastCpu = ServerCpu() - cpu;
            return clock.Elapsed.TotalSeconds;
        }

        /// <summary>The server's CPU time (user and system, all threads) during the last timed request.</summary>
        public double LastCpu { get; private set; }

        double ServerCpu()
        {
            // /proc/PID/stat: utime and stime are fields 14 and 15, in clock ticks (100 a second), after the name in parentheses.
            var stat = File.ReadAllText($"/proc/{_server.Id}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }

        public string Request(string packet)
        {
            Send(packet);
            return Receive();
        }

        /// <summary>A monitor command's output (its O packets), up to the final OK.</summary>
        public string Monitor(string command)
        {
            Send("qRcmd," + Convert.ToHexStringLower(Encoding.UTF8.GetBytes(command)));
            var output = new StringBuilder();
            while (Receive() is var reply && reply.StartsWith('O') && reply != "OK")
                output.Append(Encoding.UTF8.GetString(Convert.FromHexString(reply[1..])));
            return output.ToString();
        }

        void Send(string packet)
        {
            var sum = 0;
            foreach (var c in packet)
                sum += c;
            _to.Write(Encoding.Latin1.GetBytes($"${packet}#{sum & 0xff:x2}"));
            _to.Flush();
        }

        string Receive()
        {
            int c;
            while ((c = _from.ReadByte()) != '$')
            {
                if (c < 0)
                    throw new BenchException("rewind gdbserver ended");
            }
            var packet = new StringBuilder();
            while ((c = _from.ReadByte()) != '#' && c >= 0)
                packet.Append((char)c);
            _from.ReadByte();
            _from.ReadByte();
            return packet.ToString();
        }

        public void Dispose()
        {
            Send("k");
            if (!_server.WaitForExit(10_000))
                _server.Kill();
            _server.Dispose();
        }
    }
}
