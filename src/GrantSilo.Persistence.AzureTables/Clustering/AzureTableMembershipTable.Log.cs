using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables.Clustering;

public sealed partial class AzureTableMembershipTable
{
    [LoggerMessage(EventId = (int)AzureTableEventId.TableCreated, Level = LogLevel.Information, Message = "Membership table created Azure table {TableName}")]
    private partial void LogTableCreated(string tableName);

    [LoggerMessage(EventId = (int)AzureTableEventId.TableInitFailed, Level = LogLevel.Error, Message = "Membership table could not create or reach Azure table {TableName}")]
    private partial void LogTableInitFailed(Exception exception, string tableName);

    [LoggerMessage(EventId = (int)AzureTableEventId.MembershipVersionRowCreated, Level = LogLevel.Information, Message = "Created the membership version row of cluster partition {PartitionKey}")]
    private partial void LogVersionRowCreated(string partitionKey);

    [LoggerMessage(EventId = (int)AzureTableEventId.MembershipContention, Level = LogLevel.Information, Message = "{Operation} for {SiloAddress} lost a race (HTTP {Status}) with table version {TableVersion}; the caller will re-read and retry")]
    private partial void LogContention(string operation, SiloAddress siloAddress, TableVersion tableVersion, int status);

    [LoggerMessage(EventId = (int)AzureTableEventId.MembershipFailed, Level = LogLevel.Warning, Message = "{Operation} on cluster partition {PartitionKey} failed")]
    private partial void LogFailed(Exception exception, string operation, string partitionKey);

    [LoggerMessage(EventId = (int)AzureTableEventId.MembershipOutcomeResolved, Level = LogLevel.Information, Message = "{Operation} for {SiloAddress} got HTTP {Status}, but reading back showed this change had committed")]
    private partial void LogOutcomeResolved(string operation, SiloAddress siloAddress, int status);

    [LoggerMessage(EventId = (int)AzureTableEventId.MembershipSnapshotRetry, Level = LogLevel.Information, Message = "{Operation} attempt {Attempt} read version {Version} but fence {Fence}: the table changed during a paged read; reading again")]
    private partial void LogSnapshotRetry(string operation, int attempt, int? version, int? fence);

    [LoggerMessage(EventId = (int)AzureTableEventId.MembershipDefunctRemoved, Level = LogLevel.Information, Message = "Removed {Count} defunct silo rows last updated before {BeforeDate}")]
    private partial void LogDefunctRemoved(int count, DateTimeOffset beforeDate);

    [LoggerMessage(EventId = (int)AzureTableEventId.MembershipEntryUnreadable, Level = LogLevel.Error, Message = "Membership row {RowKey} could not be parsed and is ignored")]
    private partial void LogEntryUnreadable(Exception exception, string rowKey);
}
