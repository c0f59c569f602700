using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Persistence.AzureTables.Clustering;

public sealed partial class AzureTableGatewayListProvider
{
    [LoggerMessage(EventId = (int)AzureTableEventId.GatewaysFound, Level = LogLevel.Debug, Message = "Found {Count} gateways in cluster partition {PartitionKey}")]
    private partial void LogGatewaysFound(int count, string partitionKey);

    [LoggerMessage(EventId = (int)AzureTableEventId.GatewayListFailed, Level = LogLevel.Warning, Message = "Reading the gateways of cluster partition {PartitionKey} failed")]
    private partial void LogGatewayListFailed(Exception exception, string partitionKey);
}
