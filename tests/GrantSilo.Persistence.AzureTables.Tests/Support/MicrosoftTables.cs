using Azure.Data.Tables;
using GrantSilo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Reminders.AzureStorage;
using Orleans.Runtime.ReminderService;
using Orleans.Serialization;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables.Tests.Support;

/// <summary>
/// The Microsoft Orleans Azure providers as the AzureTable profile registers them, built outside a silo so tests can
/// call them directly: the membership table and reminder table a cluster keeps, and GrantSilo's grain storage.
/// </summary>
public static class MicrosoftTables
{
    /// <summary>The membership table (Microsoft's, internal to its package) the silos of <paramref name="clusterId"/> keep.</summary>
    public static async Task<IMembershipTable> MembershipAsync(string connectionString, string clusterId, string serviceId = "service", string? table = null, Action<TableClientOptions>? client = null, bool initialize = true)
    {
        var services = Services(clusterId, serviceId);
        new ServicesOnly(services).UseAzureStorageClustering(o =>
        {
            o.TableServiceClient = Client(connectionString, client);
            o.TableName = table ?? Orleans.Clustering.AzureStorage.AzureStorageClusteringOptions.DEFAULT_TABLE_NAME;
        });
        var membership = services.BuildServiceProvider().GetRequiredService<IMembershipTable>();
        if (initialize)
        {
#pragma warning disable CS0618 // The runtime's own entry point in Orleans 10; the Async one is not on every implementation yet.
            await membership.InitializeMembershipTable(true);
#pragma warning restore CS0618
        }
        return membership;
    }

    /// <summary>The gateway list a client of <paramref name="clusterId"/> reads (Microsoft's, internal to its package).</summary>
    public static async Task<Orleans.Messaging.IGatewayListProvider> GatewayListAsync(string connectionString, string clusterId, string serviceId = "service", string? table = null)
    {
        var services = Services(clusterId, serviceId);
        new ClientServicesOnly(services).UseAzureStorageClustering(o =>
        {
            o.TableServiceClient = Client(connectionString, null);
            o.TableName = table ?? Orleans.Clustering.AzureStorage.AzureStorageClusteringOptions.DEFAULT_TABLE_NAME;
        });
        var gateways = services.BuildServiceProvider().GetRequiredService<Orleans.Messaging.IGatewayListProvider>();
        await gateways.InitializeGatewayListProvider();
        return gateways;
    }

    /// <summary>The reminder table of service <paramref name="serviceId"/>.</summary>
    public static async Task<IReminderTable> RemindersAsync(string connectionString, string serviceId = "service", string clusterId = "cluster", string? table = null, Action<TableClientOptions>? client = null)
    {
        var options = new AzureTableReminderStorageOptions { TableServiceClient = Client(connectionString, client) };
        if (table is not null)
        {
            options.TableName = table;
        }
        var reminders = new AzureBasedReminderTable(NullLoggerFactory.Instance, Options.Create(new ClusterOptions { ClusterId = clusterId, ServiceId = serviceId }), Options.Create(options));
        await reminders.StartAsync(CancellationToken.None);
        return reminders;
    }

    /// <summary>GrantSilo's grain storage (Microsoft's provider under GrantSilo's guard), started as a silo would start it.</summary>
    public static async Task<IGrainStorage> GrainStorageAsync(string connectionString, string serviceId, string table, Action<TableClientOptions>? client = null, ILoggerFactory? logging = null)
    {
        var services = Services("cluster", serviceId);
        services.AddSerializer();
        if (logging is not null)
        {
            services.AddSingleton(logging);
        }
        var options = new AzureTableGrantOptions
        {
            ConnectionString = connectionString,
            AllowDevelopmentStorage = true,
            GrainStateTableName = table,
            ConfigureTableClientOptions = client,
        };
        new ServicesOnly(services).UseGrantSiloAzureTables(options, ["test"]);
        var provider = services.BuildServiceProvider();
        foreach (var validator in provider.GetServices<IConfigurationValidator>())
        {
            validator.ValidateConfiguration();
        }
        var storage = provider.GetRequiredKeyedService<IGrainStorage>("test");
        var lifecycle = new StartOnlyLifecycle();
        ((ILifecycleParticipant<ISiloLifecycle>)storage).Participate(lifecycle);
        await lifecycle.StartAsync();
        return storage;
    }

    private static TableServiceClient Client(string connectionString, Action<TableClientOptions>? configure)
    {
        var options = new TableClientOptions();
        options.Retry.Delay = TimeSpan.FromMilliseconds(5);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(20);
        configure?.Invoke(options);
        return new TableServiceClient(connectionString, options);
    }

    private static ServiceCollection Services(string clusterId, string serviceId)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOptions();
        services.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = clusterId;
            o.ServiceId = serviceId;
        });
        return services;
    }

    private sealed class ServicesOnly(IServiceCollection services) : ISiloBuilder
    {
        public IServiceCollection Services { get; } = services;

        public IConfiguration Configuration { get; } = new ConfigurationBuilder().Build();
    }

    private sealed class ClientServicesOnly(IServiceCollection services) : IClientBuilder
    {
        public IServiceCollection Services { get; } = services;

        public IConfiguration Configuration { get; } = new ConfigurationBuilder().Build();
    }

    // Runs the start of each subscriber in stage order, as a silo starting would (the grain storage creates its table).
    private sealed class StartOnlyLifecycle : ISiloLifecycle
    {
        private readonly List<(int Stage, ILifecycleObserver Observer)> _observers = [];

        public int HighestCompletedStage { get; private set; }

        public int LowestStoppedStage { get; private set; }

        public IDisposable Subscribe(string observerName, int stage, ILifecycleObserver observer)
        {
            _observers.Add((stage, observer));
            return new Unsubscriber();
        }

        public async Task StartAsync()
        {
            foreach (var (stage, observer) in _observers.OrderBy(o => o.Stage))
            {
                await observer.OnStart(CancellationToken.None);
                HighestCompletedStage = stage;
            }
        }

        private sealed class Unsubscriber : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
