using GrantSilo.GrainInterfaces;

namespace GrantSilo.WebConsole.Tests;

/// <summary>How the overview sums the silos' reports of their decisions per second.</summary>
public sealed class ClusterDecisionRatesTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    // A report ending at `end` whose every second holds `perSecond` of each kind, for `seconds` seconds.
    private static SiloDecisionRates Report(string silo, long end, int seconds, long allow, long deny = 0, long stepUp = 0)
    {
        var kinds = DecisionRate.Columns;
        var counts = new long[seconds * kinds.Count];
        for (var s = 0; s < seconds; s++)
        {
            for (var k = 0; k < kinds.Count; k++)
            {
                counts[s * kinds.Count + k] = kinds[k] switch { DecisionKind.Allow => allow, DecisionKind.Deny => deny, _ => stepUp };
            }
        }
        return new SiloDecisionRates { Silo = silo, SiloName = silo, EndSecond = end, Kinds = [.. kinds], Counts = counts };
    }

    private static SiloHealth Silo(string address, string status) => new(address, address, status, Now, Now, IsThisSilo: false);

    private static int Column(DecisionKind kind) => DecisionRate.Columns.ToList().IndexOf(kind);

    [Fact]
    public void Sum_AddsEveryActiveSilosSeconds_AndGivesEachItsTotals()
    {
        var end = Now.ToUnixTimeSeconds();
        var rates = ClusterDecisionRates.Sum([Report("a", end, 60, allow: 2), Report("b", end, 60, allow: 1, stepUp: 3)],
            [Silo("a", "Active"), Silo("b", "Active")], Now, 60);
        Assert.Equal(60, rates.Rows.Count);
        Assert.All(rates.Rows, row => Assert.Equal(3, row[Column(DecisionKind.Allow)]));
        Assert.All(rates.Rows, row => Assert.Equal(3, row[Column(DecisionKind.StepUpRequired)]));
        Assert.Equal(120, rates.PerSilo["a"][Column(DecisionKind.Allow)]);
        Assert.Equal(180, rates.PerSilo["b"][Column(DecisionKind.StepUpRequired)]);
    }

    [Fact]
    public void Sum_LeavesOutASiloTheMembershipTableNoLongerHoldsActive()
    {
        var end = Now.ToUnixTimeSeconds();
        var rates = ClusterDecisionRates.Sum([Report("a", end, 60, allow: 1), Report("b", end, 60, allow: 5)],
            [Silo("a", "Active"), Silo("b", "Dead")], Now, 60);
        Assert.All(rates.Rows, row => Assert.Equal(1, row[Column(DecisionKind.Allow)]));
        Assert.False(rates.PerSilo.ContainsKey("b"));
    }

    [Fact]
    public void Sum_PlacesEachReportOnTheClock_ASecondBehindCountsNothingForTheMissingSecond()
    {
        var end = Now.ToUnixTimeSeconds();
        // Silo b's last report ends one second earlier: the newest second has only a's counts, the oldest only a's too
        // (b's report reaches one second further back, outside the window).
        var rates = ClusterDecisionRates.Sum([Report("a", end, 60, allow: 1), Report("b", end - 1, 60, allow: 10)], null, Now, 60);
        Assert.Equal(1, rates.Rows[^1][Column(DecisionKind.Allow)]);
        Assert.Equal(11, rates.Rows[0][Column(DecisionKind.Allow)]);
        Assert.Equal(11, rates.Rows[^2][Column(DecisionKind.Allow)]);
        Assert.Equal(590, rates.PerSilo["b"][Column(DecisionKind.Allow)]);
    }
}
