using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Messaging;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables.Clustering;

/// <summary>
/// Lets Orleans clients find gateways: the active silos of their cluster that listen for clients (non-zero proxy port),
/// read from the membership table the silos keep.
/// </summary>
public sealed partial class AzureTableGatewayListProvider : IGatewayListProvider
{
    private readonly AzureTableClusteringOptions _options;
    private readonly string _partitionKey;
    private readonly ILogger _logger;
    private readonly Lazy<TableClient> _table;

    /// <summary>Creates the gateway list for the client's cluster.</summary>
    public AzureTableGatewayListProvider(IOptions<AzureTableClusteringOptions> options, IOptions<ClusterOptions> clusterOptions, ILogger<AzureTableGatewayListProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clusterOptions);
        _options = options.Value;
        var prefix = string.IsNullOrEmpty(_options.ServiceIdPrefix) ? clusterOptions.Value.ServiceId : _options.ServiceIdPrefix;
        _partitionKey = MembershipRows.PartitionKey(prefix, clusterOptions.Value.ClusterId);
        _logger = logger;
        _table = new Lazy<TableClient>(() => TableClientFactory.CreateTableClient(_options));
    }

    /// <inheritdoc/>
    public TimeSpan MaxStaleness => _options.GatewayListRefreshPeriod;

    /// <inheritdoc/>
    public bool IsUpdatable => true;

    /// <inheritdoc/>
    public Task InitializeGatewayListProvider()
    {
        // Clients never create the table: silos own it. Creating the client here surfaces bad options early.
        _ = _table.Value;
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task<IList<Uri>> GetGateways()
    {
        var active = nameof(SiloStatus.Active);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {_partitionKey} and Status eq {active} and ProxyPort gt {0}");
        try
        {
            var gateways = new List<Uri>();
            await foreach (var entity in _table.Value.QueryAsync<TableEntity>(filter, select: [MembershipRows.SiloAddressProperty, MembershipRows.ProxyPortProperty]).ConfigureAwait(false))
            {
                var silo = SiloAddress.FromParsableString(entity.GetString(MembershipRows.SiloAddressProperty));
                var proxyPort = entity.GetInt32(MembershipRows.ProxyPortProperty) ?? 0;
                gateways.Add(SiloAddress.New(silo.Endpoint.Address, proxyPort, silo.Generation).ToGatewayUri());
            }

            LogGatewaysFound(gateways.Count, _partitionKey);
            return gateways;
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogGatewayListFailed(exception, _partitionKey);
            throw AzureTableErrors.Translate(exception, "GetGateways", _options.TableName, $"the gateways of cluster partition '{_partitionKey}'");
        }
    }
}
