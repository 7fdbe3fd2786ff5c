using System.CommandLine;
using Rewind.Linux.Syscalls;
using Spectre.Console;

namespace Rewind.Cli.Commands;

/// <summary>rewind syscalls: which Linux syscalls the runtime implements.</summary>
internal static class SyscallsCommand
{
    public static Command Create()
    {
        var unsupported = new Option<bool>("--unsupported") { Description = "List only the syscalls that return ENOSYS." };
        var command = new Command("syscalls", "List every x86-64 Linux syscall and whether Rewind implements it.") { unsupported };
        command.SetAction(parse =>
        {
            var onlyUnsupported = parse.GetValue(unsupported);
            var table = new Table().AddColumn("Nr").AddColumn("Name").AddColumn("Status");
            var implemented = 0;
            var total = 0;
            foreach (var (number, name) in SyscallNames.All)
            {
                total++;
                var supported = SyscallTable.IsImplemented(number);
                implemented += supported ? 1 : 0;
                if (!onlyUnsupported || !supported)
                    table.AddRow(number.ToString(System.Globalization.CultureInfo.InvariantCulture), name, supported ? "[green]implemented[/]" : "[grey]ENOSYS[/]");
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"{implemented} of {total} syscalls implemented.");
            return 0;
        });
        return command;
    }
}
