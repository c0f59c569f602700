using Azure.Core;
using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Storage;
using GrantSilo.Testing.Azurite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables.Tests.Support;

/// <summary>The collection every test that talks to Azurite belongs to; they share one Azurite process.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}

/// <summary>Builds the AzureTable profile's providers against the shared Azurite, each test with its own service id or cluster.</summary>
internal static class TestProviders
{
    public const string GrainTable = "GrainStateContract";
    public const string ReminderTable = "RemindersContract";
    public const string MembershipTable = "MembershipContract";

    private static readonly ServiceProvider SerializationServices = new ServiceCollection().AddSerializer().BuildServiceProvider();

    public static IGrainStorageSerializer Serializer { get; } =
        new OrleansGrainStorageSerializer(SerializationServices.GetRequiredService<Serializer>());

    /// <summary>A service id of its own, so tests sharing a table never see each other's rows.</summary>
    public static string NewServiceId() => "t" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Fast, bounded SDK retries (and the faults to inject, if any), as the tests want them.</summary>
    public static Action<TableClientOptions> Client(FaultInjectionPolicy? faults = null, int maxRetries = 3) => client =>
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

    public static async Task<TestStorage> GrainStorageAsync(
        AzuriteFixture azurite,
        string? serviceId = null,
        FaultInjectionPolicy? faults = null,
        int maxRetries = 3,
        ILoggerFactory? logging = null,
        string tableName = GrainTable)
    {
        serviceId ??= NewServiceId();
        var storage = await MicrosoftTables.GrainStorageAsync(azurite.ConnectionString, serviceId, tableName, Client(faults, maxRetries), logging);
        return new TestStorage(storage, serviceId);
    }

    public static Task<IReminderTable> ReminderTableAsync(AzuriteFixture azurite, string? serviceId = null, FaultInjectionPolicy? faults = null, int maxRetries = 3)
        => MicrosoftTables.RemindersAsync(azurite.ConnectionString, serviceId ?? NewServiceId(), table: ReminderTable, client: Client(faults, maxRetries));

    public static Task<IMembershipTable> MembershipTableAsync(AzuriteFixture azurite, string clusterId, FaultInjectionPolicy? faults = null, int maxRetries = 3)
        => MicrosoftTables.MembershipAsync(azurite.ConnectionString, clusterId, table: MembershipTable, client: Client(faults, maxRetries));

    public static TableClient RawTable(AzuriteFixture azurite, string table) => new TableServiceClient(azurite.ConnectionString).GetTableClient(table);
}

/// <summary>GrantSilo's grain storage as a test holds it, with the row each grain's state lives in.</summary>
internal sealed class TestStorage(IGrainStorage inner, string serviceId) : IGrainStorage
{
    public string ServiceId { get; } = serviceId;

    /// <summary>
    /// Where Microsoft's provider keeps a state: partition <c>{ServiceId}_{grain id}</c> (with <c>/ \ # ?</c> as
    /// <c>_</c>), here of the escaped id GrantSilo gives it, and the state name as row key.
    /// </summary>
    public (string PartitionKey, string RowKey) GetKey(string stateName, GrainId grain) =>
        (Sanitize($"{ServiceId}_{StorageKeys.For(grain)}"), Sanitize(stateName));

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.WriteStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);

    private static string Sanitize(string key) => key.Replace('/', '_').Replace('\\', '_').Replace('#', '_').Replace('?', '_');
}
