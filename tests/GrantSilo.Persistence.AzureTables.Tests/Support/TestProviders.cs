using Azure.Core;
using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Clustering;
using GrantSilo.Persistence.AzureTables.Reminders;
using GrantSilo.Persistence.AzureTables.Storage;
using GrantSilo.Testing.Azurite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables.Tests.Support;

/// <summary>The collection every test that talks to Azurite belongs to; they share one Azurite process.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}

/// <summary>Builds providers against the shared Azurite, each test with its own service prefix or cluster.</summary>
internal static class TestProviders
{
    public const string GrainTable = "GrainStateContract";
    public const string ReminderTable = "RemindersContract";
    public const string MembershipTable = "MembershipContract";

    private static readonly ServiceProvider SerializationServices = new ServiceCollection().AddSerializer().BuildServiceProvider();

    public static IGrainStorageSerializer Serializer { get; } =
        new OrleansGrainStorageSerializer(SerializationServices.GetRequiredService<Serializer>());

    public static IActivatorProvider Activators => SerializationServices.GetRequiredService<IActivatorProvider>();

    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12];

    public static void Connect(AzureTableGrantOptions options, AzuriteFixture azurite, FaultInjectionPolicy? faults = null, int maxRetries = 3)
    {
        options.ConnectionString = azurite.ConnectionString;
        options.AllowDevelopmentStorage = true;
        options.ConfigureTableClientOptions = client =>
        {
            client.Retry.Mode = RetryMode.Fixed;
            client.Retry.Delay = TimeSpan.FromMilliseconds(5);
            client.Retry.MaxDelay = TimeSpan.FromMilliseconds(20);
            client.Retry.MaxRetries = maxRetries;
            client.Retry.NetworkTimeout = TimeSpan.FromSeconds(20);
            if (faults is not null)
            {
                client.AddPolicy(faults, HttpPipelinePosition.PerRetry);
            }
        };
    }

    public static async Task<AzureTableGrainStorage> GrainStorageAsync(
        AzuriteFixture azurite,
        string? prefix = null,
        FaultInjectionPolicy? faults = null,
        bool deleteStateOnClear = false,
        int maxRetries = 3,
        Microsoft.Extensions.Logging.ILogger<AzureTableGrainStorage>? logger = null,
        string tableName = GrainTable,
        bool createTable = true)
    {
        var options = new AzureTableGrainStorageOptions
        {
            TableName = tableName,
            CreateTableIfNotExists = createTable,
            ServiceIdPrefix = prefix ?? NewPrefix(),
            DeleteStateOnClear = deleteStateOnClear,
            GrainStorageSerializer = Serializer,
        };
        Connect(options, azurite, faults, maxRetries);
        var storage = new AzureTableGrainStorage("test", options, Cluster(), logger ?? NullLogger<AzureTableGrainStorage>.Instance, Activators);
        await storage.InitializeAsync(CancellationToken.None);
        return storage;
    }

    public static async Task<AzureTableReminderTable> ReminderTableAsync(AzuriteFixture azurite, string? prefix = null, FaultInjectionPolicy? faults = null, int maxRetries = 3)
    {
        var options = new AzureTableReminderOptions { TableName = ReminderTable, ServiceIdPrefix = prefix ?? NewPrefix() };
        Connect(options, azurite, faults, maxRetries);
        var table = new AzureTableReminderTable(Options.Create(options), Cluster(), NullLogger<AzureTableReminderTable>.Instance);
        await table.StartAsync();
        return table;
    }

    public static async Task<AzureTableMembershipTable> MembershipTableAsync(AzuriteFixture azurite, string clusterId, FaultInjectionPolicy? faults = null, int maxRetries = 3, string prefix = "membership-tests")
    {
        var options = new AzureTableClusteringOptions { TableName = MembershipTable, ServiceIdPrefix = prefix };
        Connect(options, azurite, faults, maxRetries);
        var table = new AzureTableMembershipTable(Options.Create(options), Cluster(clusterId), NullLogger<AzureTableMembershipTable>.Instance);
        await table.InitializeMembershipTable(true);
        return table;
    }

    public static AzureTableGatewayListProvider GatewayList(AzuriteFixture azurite, string clusterId, string prefix = "membership-tests")
    {
        var options = new AzureTableClusteringOptions { TableName = MembershipTable, ServiceIdPrefix = prefix };
        Connect(options, azurite);
        return new AzureTableGatewayListProvider(Options.Create(options), Cluster(clusterId), NullLogger<AzureTableGatewayListProvider>.Instance);
    }

    public static TableClient RawTable(AzuriteFixture azurite, string table) => new TableServiceClient(azurite.ConnectionString).GetTableClient(table);

    private static IOptions<ClusterOptions> Cluster(string clusterId = "cluster") => Options.Create(new ClusterOptions { ServiceId = "service", ClusterId = clusterId });
}
