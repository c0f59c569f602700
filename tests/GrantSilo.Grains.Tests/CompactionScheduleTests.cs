using GrantSilo.Grains.Indexes;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// When an owner at its quota asks its listed entries whether they ended: at once for an index fresh from storage or
/// read back after a failed write, otherwise at most once per interval, so refused callers cannot make it ask every
/// entry on every attempt.
/// </summary>
public class CompactionScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    [Fact]
    public void AFreshIndex_IsAskedAtOnce_ThenNotAgainUntilTheIntervalHasPassed()
    {
        var schedule = new CompactionSchedule();
        Assert.True(schedule.Due(T0, Interval));
        schedule.Ran(T0);

        Assert.False(schedule.Due(T0, Interval));
        Assert.False(schedule.Due(T0 + Interval - TimeSpan.FromTicks(1), Interval));
        Assert.True(schedule.Due(T0 + Interval, Interval));
    }

    [Fact]
    public void AnIndexReadBackAfterAFailedWrite_IsAskedAtOnce_EvenWithinTheInterval()
    {
        var schedule = new CompactionSchedule();
        schedule.Ran(T0);
        schedule.Owe();

        Assert.True(schedule.Due(T0 + TimeSpan.FromSeconds(1), Interval));
        schedule.Ran(T0 + TimeSpan.FromSeconds(1));
        Assert.False(schedule.Due(T0 + TimeSpan.FromSeconds(2), Interval));
    }
}
