using System.Globalization;

namespace Rewind.Bench;

/// <summary>The command line of the bench.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        Usage: bench/run [options]

        Times each workload natively, under Rewind and under the peer tools (qemu-user,
        valgrind), on the same generated inputs, and writes results.md and results.json.

        Options:
          --quick          tiny inputs, each measurement run once, no lackey --trace-mem
          --targets        instead of the table: the index, memory query and memorymap targets,
                           on the compute kernel scaled to 1 and 3 billion instructions
          --threads        instead of the table: the cost per instruction of recording 4 threads
                           against 1 thread, on the same work (goal: at most 1.2x)
          --export         instead of the table: rewind export of every table for sha256sum (rows per
                           second per core, bytes per row) and a rewind sql query over its memory
                           table of over 100 M rows (goal: under 2 s)
          --debugging      instead of the table: the gdb server's reverse-continue, reverse-stepi
                           and seek on the compute kernel's 1-billion-instruction trace
          --out DIR        folder for results.md and results.json (default: bench/results)
          --only NAME      run one workload (sha256sum, gzip, sort, python, compute, pointer_chase)
          --repeat N       runs per measurement; the median is reported (default: 3;
                           --targets, --threads and --debugging: the best)
          --rewind PATH    the rewind command to time (default: the repository's ./rewind; bench/run passes the program it builds)
          --timeout SECS   a run still going after this is stopped and shown as >SECS s (default: 300)
          -h, --help       show this help
        """;

    public bool Quick { get; private set; }
    public bool Targets { get; private set; }
    public bool Threads { get; private set; }
    public bool Export { get; private set; }
    public bool Debugging { get; private set; }
    public string? Out { get; private set; }
    public string? Only { get; private set; }
    public int Repeat { get; private set; } = 3;
    public string? Rewind { get; private set; }
    public int TimeoutSeconds { get; private set; } = 300;
    public bool ShowHelp { get; private set; }

    /// <summary>Runs per measurement: one in quick mode, so that the smoke test stays fast.</summary>
    public int Runs => Quick ? 1 : Repeat;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value()
            {
                if (i + 1 >= args.Length)
                    throw new BenchException($"{arg} needs a value");
                return args[++i];
            }
            switch (arg)
            {
                case "--quick":
                    options.Quick = true;
                    break;
                case "--targets":
                    options.Targets = true;
                    break;
                case "--threads":
                    options.Threads = true;
                    break;
                case "--export":
                    options.Export = true;
                    break;
                case "--debugging":
                    options.Debugging = true;
                    break;
                case "--out":
                    options.Out = Value();
                    break;
                case "--only":
                    options.Only = Value();
                    break;
                case "--repeat":
                    options.Repeat = PositiveNumber(arg, Value());
                    break;
                case "--rewind":
                    options.Rewind = Value();
                    break;
                case "--timeout":
                    options.TimeoutSeconds = PositiveNumber(arg, Value());
                    break;
                case "-h" or "--help":
                    options.ShowHelp = true;
                    break;
                default:
                    throw new BenchException($"unknown argument '{arg}'");
            }
        }
        if ((options.Targets ? 1 : 0) + (options.Threads ? 1 : 0) + (options.Export ? 1 : 0) + (options.Debugging ? 1 : 0) > 1)
            throw new BenchException("--targets, --threads, --export and --debugging are separate runs: choose one");
        return options;
    }

    static int PositiveNumber(string option, string text)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
            throw new BenchException($"{option} takes a whole number of at least 1, not '{text}'");
        return value;
    }
}
