using GrantSilo.Persistence.AzureTables.Tests.Support;

namespace GrantSilo.Persistence.AzureTables.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class ClusterEndToEndTests(ClusterFixture fixture)
{
    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{what} did not happen within {timeout.TotalSeconds:0} s; last value: {value}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    [Fact]
    public async Task Silos_JoinThroughTheAzureTableMembershipTable()
    {
        var options = fixture.Cluster.Options;
        var table = await MicrosoftTables.MembershipAsync(fixture.Azurite.ConnectionString, options.ClusterId, options.ServiceId);

        var data = await EventuallyAsync(table.ReadAll, d => d.Members.Count(m => m.Item1.Status == SiloStatus.Active) >= 2, TimeSpan.FromSeconds(60), "two active silos in the table");

        var silos = fixture.Cluster.GetActiveSilos().Select(s => s.SiloAddress).ToHashSet();
        Assert.Subset(data.Members.Where(m => m.Item1.Status == SiloStatus.Active).Select(m => m.Item1.SiloAddress).ToHashSet(), silos);
        Assert.True(data.Version.Version >= 2);
    }

    [Fact]
    public async Task GrainState_SurvivesDeactivation()
    {
        var grain = fixture.Cluster.GrainFactory.GetGrain<IStorageProbeGrain>("state-" + Guid.NewGuid().ToString("N"));

        Assert.Equal(1, await grain.IncrementAsync());
        Assert.Equal(2, await grain.IncrementAsync());
        var before = await grain.GetAsync();
        await grain.DeactivateAsync();
        var after = await EventuallyAsync(grain.GetAsync, s => s.ActivationId != before.ActivationId, TimeSpan.FromSeconds(30), "a new activation");

        Assert.True(after.RecordExists);
        Assert.Equal(2, after.Count);
        Assert.Equal(3, await grain.IncrementAsync());
    }

    [Fact]
    public async Task Reminder_FiresAndItsTicksArePersisted()
    {
        var grain = fixture.Cluster.GrainFactory.GetGrain<IStorageProbeGrain>("reminder-" + Guid.NewGuid().ToString("N"));

        await grain.StartTickingAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        try
        {
            await EventuallyAsync(grain.GetAsync, s => s.Ticks >= 2, TimeSpan.FromSeconds(60), "two reminder ticks");
        }
        finally
        {
            await grain.StopTickingAsync();
        }

        await grain.DeactivateAsync();
        var reloaded = await EventuallyAsync(grain.GetAsync, s => s.RecordExists, TimeSpan.FromSeconds(30), "state reloaded");
        Assert.True(reloaded.Ticks >= 2);
    }

    [Fact]
    public async Task GrainCaller_SeesTypedStorageErrorWhenStateCannotBeWritten()
    {
        var grain = fixture.Cluster.GrainFactory.GetGrain<IStorageProbeGrain>("too-large-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(1, await grain.IncrementAsync());

        var error = await Assert.ThrowsAsync<GrainStateTooLargeException>(() => grain.StoreBlobAsync((15 * 64 * 1024) + 1));

        Assert.Equal(AzureTableErrorKind.EntityTooLarge, error.Kind);
        Assert.Contains("more than the", error.Message, StringComparison.Ordinal);
        await grain.DeactivateAsync();
        var reloaded = await EventuallyAsync(grain.GetAsync, s => s.RecordExists, TimeSpan.FromSeconds(30), "state reloaded");
        Assert.Equal(1, reloaded.Count);
    }

    [Fact]
    public async Task KilledSilo_IsDeclaredDeadInTheTableAndDroppedFromTheGateways()
    {
        var options = fixture.Cluster.Options;
        var table = await MicrosoftTables.MembershipAsync(fixture.Azurite.ConnectionString, options.ClusterId, options.ServiceId);
        var gateways = await MicrosoftTables.GatewayListAsync(fixture.Azurite.ConnectionString, options.ClusterId, options.ServiceId);

        var extra = await fixture.Cluster.StartAdditionalSiloAsync();
        await EventuallyAsync(table.ReadAll, d => d.TryGet(extra.SiloAddress)?.Item1.Status == SiloStatus.Active, TimeSpan.FromSeconds(60), "the extra silo to become active");
        await fixture.Cluster.KillSiloAsync(extra);

        var data = await EventuallyAsync(table.ReadAll, d => d.TryGet(extra.SiloAddress)?.Item1.Status == SiloStatus.Dead, TimeSpan.FromSeconds(90), "the killed silo to be declared dead");
        Assert.NotEmpty(data.TryGet(extra.SiloAddress)!.Item1.SuspectTimes ?? []);
        Assert.Equal(2, data.Members.Count(m => m.Item1.Status == SiloStatus.Active));
        var gatewayPorts = (await gateways.GetGateways()).Select(g => g.ToString()).ToList();
        Assert.Equal(2, gatewayPorts.Count);
        Assert.DoesNotContain(gatewayPorts, g => g.Contains($"@{extra.SiloAddress.Generation}", StringComparison.Ordinal) || g.EndsWith($"/{extra.SiloAddress.Generation}", StringComparison.Ordinal));

        var grain = fixture.Cluster.GrainFactory.GetGrain<IStorageProbeGrain>("after-kill-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(1, await grain.IncrementAsync());
    }
}
