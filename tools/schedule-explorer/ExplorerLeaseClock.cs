using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.ScheduleExplorer;

/// <summary>
/// The decision-lease clock: a <see cref="FakeTimeProvider"/> the plan moves, whose timers may fire
/// <see cref="Early"/> before they are due, as <c>Task.Delay</c> and <c>WaitAsync</c> on the system clock
/// were measured to do (by at most half the delay). Reading the clock stays exact; only timers are early. Creating a timer counts
/// as activity for the driver's quiet detection.
/// </summary>
public sealed class ExplorerLeaseClock(FakeTimeProvider inner) : TimeProvider
{
    private long _earlyTicks;

    public FakeTimeProvider Inner => inner;

    /// <summary>How early timers fire (zero: exactly when due).</summary>
    public TimeSpan Early
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _earlyTicks));
        set => Interlocked.Exchange(ref _earlyTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ExplorerHooks.Current?.Touch();
        var early = Early;
        if (dueTime != Timeout.InfiniteTimeSpan && early > TimeSpan.Zero)
        {
            // Never more than half the delay early: a wait that re-reads the clock and waits again for
            // the rest (the right fix) then makes progress instead of spinning on a clock that stands still.
            dueTime -= early < dueTime / 2 ? early : dueTime / 2;
        }
        return inner.CreateTimer(callback, state, dueTime, period);
    }

    public void Advance(TimeSpan by) => inner.Advance(by);
}
