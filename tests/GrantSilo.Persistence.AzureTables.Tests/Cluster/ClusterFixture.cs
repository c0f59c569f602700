using GrantSilo.Hosting;
using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Testing.Azurite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace GrantSilo.Persistence.AzureTables.Tests.Cluster;

/// <summary>
/// A two-silo TestCluster whose membership, grain storage and reminders are GrantSilo's Azure Table providers, on an
/// Azurite of its own. The client finds the silos through the Azure Table gateway list.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string StorageName = "grants";
    private const string ConnectionKey = "GrantSiloTests:AzuriteConnectionString";

    private AzuriteProcess? _azurite;

    public TestCluster Cluster { get; private set; } = null!;

    public AzuriteProcess Azurite => _azurite!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteProcess.StartAsync();
        var builder = new TestClusterBuilder(2);
        builder.Options.UseTestClusterMembership = false;
        builder.Properties[ConnectionKey] = _azurite.ConnectionString;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    private static AzureTableGrantOptions Connect(IConfiguration configuration) => new()
    {
        ConnectionString = configuration[ConnectionKey],
        AllowDevelopmentStorage = true,
    };

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder
                .UseGrantSiloAzureTables(Connect(siloBuilder.Configuration), [StorageName])
                .Configure<ClusterMembershipOptions>(o =>
                {
                    // Declare a killed silo dead within seconds rather than the production default of about a minute.
                    o.ProbeTimeout = TimeSpan.FromSeconds(1);
                    o.NumMissedProbesLimit = 2;
                    o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                })
                .Configure<ReminderOptions>(o =>
                {
                    o.MinimumReminderPeriod = TimeSpan.FromSeconds(1);
                    o.RefreshReminderListPeriod = TimeSpan.FromSeconds(5);
                    o.ReminderLoadingWindow = TimeSpan.FromMinutes(1);
                });
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder)
            => clientBuilder.UseAzureTableGrantClustering(Connect(configuration))
                .Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "AzureTableCluster";
}
