using GrantSilo.GrainInterfaces;
using GrantSilo.Testing;

namespace GrantSilo.Grains.Tests;

/// <summary>The cluster's decision rates grain: silos report, operators read, a silo gone quiet stops counting.</summary>
[Collection(ClusterCollection.Name)]
public class DecisionRatesTests(ClusterFixture fixture)
{
    private static SiloDecisionRates Report(string silo, long end) => new()
    {
        Silo = silo,
        SiloName = silo,
        EndSecond = end,
        Kinds = [DecisionKind.Allow, DecisionKind.Deny, DecisionKind.StepUpRequired],
        Counts = [1, 2, 3, 4, 5, 6],
    };

    [Fact]
    public async Task ASilosReport_IsListedToAnOperator_UntilItGoesStale()
    {
        var silo = $"S127.0.0.1:{Random.Shared.Next(20_000, 60_000)}:{Guid.NewGuid():N}";
        var end = fixture.Time.GetUtcNow().ToUnixTimeSeconds();
        // A silo's own call (the cluster's mark): as the console's publisher sends it.
        await fixture.SiloGrains.GetGrain<IDecisionRatesGrain>(0).ReportAsync(Report(silo, end));

        TestIdentity.Attach(TestIdentity.Shared.PersonToken("olga@test.dev", "operator"));
        var listed = Assert.Single(await fixture.Cluster.Client.GetGrain<IDecisionRatesGrain>(0).ListAsync(), r => r.Silo == silo);
        Assert.Equal(2, listed.Seconds);
        Assert.Equal(6, listed.CountAt(end - 1, DecisionKind.StepUpRequired));
        Assert.Equal(1, listed.CountAt(end - 2, DecisionKind.Allow));
        Assert.Equal(0, listed.CountAt(end, DecisionKind.Allow));
        Assert.Equal(fixture.Time.GetUtcNow(), listed.ReceivedAt);

        // No report for longer than StaleAfter: its figures stop counting.
        fixture.Time.Advance(SiloDecisionRates.StaleAfter + TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(await fixture.Cluster.Client.GetGrain<IDecisionRatesGrain>(0).ListAsync(), r => r.Silo == silo);
    }

    [Fact]
    public async Task Reading_IsClusterManage_AndReporting_IsClosedToClients()
    {
        var rates = fixture.Cluster.Client.GetGrain<IDecisionRatesGrain>(0);
        TestIdentity.Attach(TestIdentity.Shared.PersonToken("abel@test.dev", "approver", "auditor"));
        Assert.Equal(GrantErrorCode.Forbidden, (await Assert.ThrowsAsync<CallerRefusedException>(() => rates.ListAsync())).Code);
        // Even an operator cannot pretend to be a silo.
        TestIdentity.Attach(TestIdentity.Shared.PersonToken("olga@test.dev", "operator"));
        var forged = Report("S127.0.0.1:1:1", fixture.Time.GetUtcNow().ToUnixTimeSeconds());
        Assert.Equal(GrantErrorCode.Forbidden, (await Assert.ThrowsAsync<CallerRefusedException>(() => rates.ReportAsync(forged))).Code);
        Assert.DoesNotContain(await rates.ListAsync(), r => r.Silo == forged.Silo);
    }
}
