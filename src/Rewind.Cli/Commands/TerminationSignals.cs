using System.Runtime.InteropServices;
using Rewind.Linux.Execution;

namespace Rewind.Cli.Commands;

/// <summary>
/// While a guest runs, Ctrl-C and kill end the guest the way they would end the native program
/// (and a recording keeps the ending as an event) instead of killing Rewind mid-write.
/// </summary>
internal sealed class TerminationSignals : IDisposable
{
    readonly PosixSignalRegistration[] _registrations;

    public TerminationSignals(GuestProcess process)
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, process, Signal.SIGINT)),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, process, Signal.SIGTERM)),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => Stop(context, process, Signal.SIGHUP)),
        ];
    }

    static void Stop(PosixSignalContext context, GuestProcess process, Signal signal)
    {
        context.Cancel = true;
        process.RequestTermination(signal);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
    }
}
