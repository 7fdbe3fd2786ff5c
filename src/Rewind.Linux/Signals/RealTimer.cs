using System.Diagnostics;
using Rewind.Linux.Execution;

namespace Rewind.Linux.Signals;

/// <summary>
/// ITIMER_REAL (alarm, setitimer) of a live process: it expires by host time, on a host thread,
/// and its SIGALRM arrives at the process between two blocks (see <see cref="GuestProcess.Arrive"/>).
/// Replay never runs one: the trace says where each SIGALRM arrived.
/// </summary>
internal sealed class RealTimer : IDisposable
{
    readonly GuestProcess _process;
    readonly int _pid;
    readonly Timer _timer;
    readonly Lock _lock = new();
    long _deadline; // Stopwatch timestamp of the next expiry; 0 when disarmed
    TimeSpan _interval;

    public RealTimer(GuestProcess process, int pid)
    {
        _process = process;
        _pid = pid;
        _timer = new Timer(_ => Expired());
    }

    /// <summary>Time to the next expiry (zero when disarmed) and the reload interval.</summary>
    public (TimeSpan Remaining, TimeSpan Interval) Get()
    {
        lock (_lock)
            return (_deadline == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(1, Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _deadline).Ticks)), _interval);
    }

    /// <summary>Arms the timer (a zero <paramref name="value"/> disarms it) and returns the previous setting.</summary>
    public (TimeSpan Remaining, TimeSpan Interval) Set(TimeSpan value, TimeSpan interval)
    {
        lock (_lock)
        {
            var previous = Get();
            _interval = interval;
            Arm(value);
            return previous;
        }
    }

    void Arm(TimeSpan value)
    {
        _deadline = value == TimeSpan.Zero ? 0 : Stopwatch.GetTimestamp() + (long)(value.TotalSeconds * Stopwatch.Frequency);
        _timer.Change(value == TimeSpan.Zero ? Timeout.InfiniteTimeSpan : value, Timeout.InfiniteTimeSpan);
    }

    void Expired()
    {
        // Under the lock, so that no expiry reaches the process once Dispose has returned.
        lock (_lock)
        {
            if (_deadline == 0)
                return; // disarmed (or disposed) after this expiry was already on its way
            Arm(_interval);
            _process.Arrive(_pid, new SignalInfo((int)Signal.SIGALRM, SignalCodes.Kernel));
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _deadline = 0;
            _timer.Dispose();
        }
    }
}
