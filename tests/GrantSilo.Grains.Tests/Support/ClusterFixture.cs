using GrantSilo.Hosting;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using GrantSilo.Testing;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// One in-process silo on the embedded default (memory storage and reminders) whose grant clock is
/// a <see cref="FakeTimeProvider"/>: tests move time instead of waiting for it.
/// </summary>
public sealed class ClusterFixture : GrantSiloClusterFixture
{
    /// <summary>The decisions the silo has audited.</summary>
    public IReadOnlyList<DecisionRecord> AuditedDecisions() =>
        ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<RecentDecisionLog>().Snapshot();

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage("grants-inner");
        silo.Services.AddKeyedSingleton<IGrainStorage>(GrantSiloStorage.Name, (sp, _) => new FlakyGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("grants-inner")));
        silo.UseInMemoryReminderService();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Time);
        silo.AddGrantSilo();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
