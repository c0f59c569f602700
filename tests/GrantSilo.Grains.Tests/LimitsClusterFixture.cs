using GrantSilo.Client;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A silo with small quotas and bounds (and a task's and an agent's session quotas in the thousands), whose
/// storage measures what chosen grains write: the limits are reached in a test, and the size of a terminal
/// write is read off storage.
/// </summary>
public sealed class LimitsClusterFixture : IAsyncLifetime
{
    internal static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));

    public const int TasksPerAgent = 5;
    public const int SessionsPerAgent = 2_100;
    public const int SessionsPerTask = 2_000;
    public const int CredentialsPerSession = 3;
    public const int ApprovalSubscriptions = 2;
    public const int PendingApprovals = 3;
    public const int CascadesListed = 2;

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

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            silo.AddMemoryGrainStorage("grants-inner");
            silo.Services.AddKeyedSingleton<IGrainStorage>(GrantSiloStorage.Name, (sp, _) => new FlakyGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("grants-inner"), sp.GetRequiredService<IGrainStorageSerializer>()));
            silo.UseInMemoryReminderService();
            silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Clock);
            silo.AddGrantSilo(o =>
            {
                o.MaxLiveTasksPerAgent = TasksPerAgent;
                o.MaxLiveSessionsPerAgent = SessionsPerAgent;
                o.MaxLiveSessionsPerTask = SessionsPerTask;
                o.MaxLiveCredentialsPerSession = CredentialsPerSession;
                o.MaxApprovalSubscriptions = ApprovalSubscriptions;
                o.MaxPendingApprovals = PendingApprovals;
                o.MaxPendingCascadesListed = CascadesListed;
            });
        }
    }
}

[CollectionDefinition(Name)]
public sealed class LimitsClusterCollection : ICollectionFixture<LimitsClusterFixture>
{
    public const string Name = "limits-cluster";
}
