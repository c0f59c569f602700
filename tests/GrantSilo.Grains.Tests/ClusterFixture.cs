using GrantSilo.Hosting;
using GrantSilo.Client;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// One in-process silo on the embedded default (memory storage and reminders) whose grant clock is
/// a <see cref="FakeTimeProvider"/>: tests move time instead of waiting for it.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    // In-process silos are built from configurator types, so the clock they share is static.
    internal static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));

    public TestCluster Cluster { get; private set; } = null!;

    public GrantClient Client { get; private set; } = null!;

    public FakeTimeProvider Time => Clock;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Client = new GrantClient(Cluster.Client, Clock);
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    /// <summary>The decisions the silo has audited.</summary>
    public IReadOnlyList<DecisionRecord> AuditedDecisions() =>
        ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<RecentDecisionLog>().Snapshot();

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            silo.AddMemoryGrainStorage("grants-inner");
            silo.Services.AddKeyedSingleton<IGrainStorage>(GrantSiloStorage.Name, (sp, _) => new FlakyGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("grants-inner")));
            silo.UseInMemoryReminderService();
            silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Clock);
            silo.AddGrantSilo();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
