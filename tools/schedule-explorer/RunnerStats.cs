using System.Diagnostics;

namespace GrantSilo.ScheduleExplorer;

/// <summary>Where the driver's time goes, summed over every seed this process ran (to keep a campaign fast).</summary>
public static class RunnerStats
{
    public enum Phase
    {
        SetUp,
        Schedule,
        FirstRound,
        Drain,
        LastRound,
    }

    private static readonly long[] Ticks = new long[Enum.GetValues<Phase>().Length];
    private static long _settles;
    private static long _settlesCutShort;

    /// <summary>Adds the time since <paramref name="mark"/> to <paramref name="phase"/> and moves the mark to now.</summary>
    internal static void Add(Phase phase, ref long mark)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Add(ref Ticks[(int)phase], now - mark);
        mark = now;
    }

    internal static void Settled(bool quiet)
    {
        Interlocked.Increment(ref _settles);
        if (!quiet)
        {
            Interlocked.Increment(ref _settlesCutShort);
        }
    }

    public static string Describe() =>
        string.Join(", ", Enum.GetValues<Phase>().Select(p => $"{p} {Interlocked.Read(ref Ticks[(int)p]) * 1000 / Stopwatch.Frequency} ms"))
        + $"; settles {Interlocked.Read(ref _settles)} ({Interlocked.Read(ref _settlesCutShort)} cut short by their bound)";
}
