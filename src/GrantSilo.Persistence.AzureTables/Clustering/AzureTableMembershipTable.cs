using Azure;
using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables.Clustering;

/// <summary>
/// Orleans membership table on Azure Table Storage. Each cluster owns one partition (service id prefix and cluster
/// id), so a silo row and the table version row change together in one entity group transaction: an insert or update
/// with a stale table version or row ETag changes nothing and returns false.
/// </summary>
public sealed partial class AzureTableMembershipTable : IMembershipTable
{
    private const int MaxSnapshotAttempts = 5;
    private const int DeleteBatchSize = 100;

    private readonly AzureTableClusteringOptions _options;
    private readonly string _servicePrefix;
    private readonly string _partitionKey;
    private readonly ILogger _logger;
    private readonly Lazy<TableClient> _table;

    /// <summary>Creates the membership table for this silo's cluster.</summary>
    public AzureTableMembershipTable(IOptions<AzureTableClusteringOptions> options, IOptions<ClusterOptions> clusterOptions, ILogger<AzureTableMembershipTable> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clusterOptions);
        _options = options.Value;
        _servicePrefix = string.IsNullOrEmpty(_options.ServiceIdPrefix) ? clusterOptions.Value.ServiceId : _options.ServiceIdPrefix;
        _partitionKey = MembershipRows.PartitionKey(_servicePrefix, clusterOptions.Value.ClusterId);
        _logger = logger;
        _table = new Lazy<TableClient>(() => TableClientFactory.CreateTableClient(_options));
    }

    internal TableClient Table => _table.Value;

    /// <inheritdoc/>
    public async Task InitializeMembershipTable(bool tryInitTableVersion)
    {
        if (_options.CreateTableIfNotExists)
        {
            try
            {
                if (await TableInitializer.EnsureTableAsync(Table, "InitializeMembershipTable", CancellationToken.None).ConfigureAwait(false))
                {
                    LogTableCreated(_options.TableName);
                }
            }
            catch (AzureTableStorageException exception)
            {
                LogTableInitFailed(exception, _options.TableName);
                throw;
            }
        }

        if (!tryInitTableVersion)
        {
            return;
        }

        try
        {
            var actions = new[]
            {
                new TableTransactionAction(TableTransactionActionType.Add, MembershipRows.VersionRow(_partitionKey, 0, Guid.NewGuid().ToString("N"))),
                new TableTransactionAction(TableTransactionActionType.UpsertReplace, MembershipRows.FenceRow(_partitionKey, 0)),
            };
            await Table.SubmitTransactionAsync(actions).ConfigureAwait(false);
            LogVersionRowCreated(_partitionKey);
        }
        catch (RequestFailedException exception) when (exception.Status == 409)
        {
            // Another silo (or an earlier attempt of this one) created it; all that matters is that it exists.
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogFailed(exception, "InitializeMembershipTable", _partitionKey);
            throw AzureTableErrors.Translate(exception, "InitializeMembershipTable", _options.TableName, $"the version row of cluster partition '{_partitionKey}'");
        }
    }

    /// <inheritdoc/>
    public async Task DeleteMembershipTableEntries(string clusterId)
    {
        var partitionKey = MembershipRows.PartitionKey(_servicePrefix, clusterId);
        try
        {
            var rows = new List<TableEntity>();
            await foreach (var entity in Table.QueryAsync<TableEntity>(e => e.PartitionKey == partitionKey, select: ["PartitionKey", "RowKey"]).ConfigureAwait(false))
            {
                rows.Add(entity);
            }

            foreach (var batch in rows.Chunk(DeleteBatchSize))
            {
                await Table.SubmitTransactionAsync(batch.Select(e => new TableTransactionAction(TableTransactionActionType.Delete, e, ETag.All))).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogFailed(exception, "DeleteMembershipTableEntries", partitionKey);
            throw AzureTableErrors.Translate(exception, "DeleteMembershipTableEntries", _options.TableName, $"cluster partition '{partitionKey}'");
        }
    }

    /// <inheritdoc/>
    public async Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate)
    {
        var snapshot = await ReadSnapshotAsync("CleanupDefunctSiloEntries").ConfigureAwait(false);
        var removed = 0;
        foreach (var (entity, entry) in snapshot.Silos)
        {
            if (entry.Status == SiloStatus.Active || MembershipRows.LastUpdate(entry) >= beforeDate.UtcDateTime)
            {
                continue;
            }

            try
            {
                await Table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, entity.ETag).ConfigureAwait(false);
                removed++;
            }
            catch (RequestFailedException exception) when (exception.Status is 404 or 412)
            {
                // Already removed, or changed since it was read (so not defunct after all): leave it.
            }
            catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
            {
                LogFailed(exception, "CleanupDefunctSiloEntries", _partitionKey);
                throw AzureTableErrors.Translate(exception, "CleanupDefunctSiloEntries", _options.TableName, $"defunct silo {entry.SiloAddress}");
            }
        }

        LogDefunctRemoved(removed, beforeDate);
    }

    /// <inheritdoc/>
    public async Task<MembershipTableData> ReadRow(SiloAddress key)
    {
        var rowKey = MembershipRows.RowKey(key);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {_partitionKey} and (RowKey eq {MembershipRows.VersionRowKey} or RowKey eq {rowKey})");
        try
        {
            // One query page from one partition is a consistent read of both rows.
            TableVersion? version = null;
            Tuple<MembershipEntry, string>? member = null;
            await foreach (var entity in Table.QueryAsync<TableEntity>(filter).ConfigureAwait(false))
            {
                if (entity.RowKey == MembershipRows.VersionRowKey)
                {
                    version = new TableVersion(entity.GetInt32(MembershipRows.VersionProperty) ?? 0, entity.ETag.ToString());
                }
                else if (TryParse(entity) is { } entry)
                {
                    member = Tuple.Create(entry, entity.ETag.ToString());
                }
            }

            version ??= MissingVersionRow();
            return member is null ? new MembershipTableData(version) : new MembershipTableData(member, version);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogFailed(exception, "ReadRow", _partitionKey);
            throw AzureTableErrors.Translate(exception, "ReadRow", _options.TableName, $"silo {key}");
        }
    }

    /// <inheritdoc/>
    public async Task<MembershipTableData> ReadAll()
    {
        var snapshot = await ReadSnapshotAsync("ReadAll").ConfigureAwait(false);
        var members = snapshot.Silos.Select(s => Tuple.Create(s.Entry, s.Entity.ETag.ToString())).ToList();
        return new MembershipTableData(members, snapshot.Version);
    }

    /// <inheritdoc/>
    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(tableVersion);
        var writeId = Guid.NewGuid().ToString("N");
        var silo = MembershipRows.ToEntity(_partitionKey, entry, writeId);
        return ChangeAsync("InsertRow", entry, new TableTransactionAction(TableTransactionActionType.Add, silo), tableVersion, writeId);
    }

    /// <inheritdoc/>
    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(tableVersion);
        var writeId = Guid.NewGuid().ToString("N");
        var silo = MembershipRows.ToEntity(_partitionKey, entry, writeId);
        return ChangeAsync("UpdateRow", entry, new TableTransactionAction(TableTransactionActionType.UpdateReplace, silo, new ETag(etag)), tableVersion, writeId);
    }

    /// <inheritdoc/>
    public async Task UpdateIAmAlive(MembershipEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var entity = new TableEntity(_partitionKey, MembershipRows.RowKey(entry.SiloAddress))
        {
            [MembershipRows.IAmAliveTimeProperty] = MembershipRows.ToUtcTicks(entry.IAmAliveTime),
        };

        try
        {
            // Merge touches only the I-am-alive column and leaves the table version alone, as the contract asks.
            await Table.UpdateEntityAsync(entity, ETag.All, TableUpdateMode.Merge).ConfigureAwait(false);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogFailed(exception, "UpdateIAmAlive", _partitionKey);
            throw AzureTableErrors.Translate(exception, "UpdateIAmAlive", _options.TableName, $"silo {entry.SiloAddress}");
        }
    }

    /// <summary>
    /// Writes the silo row and the new table version atomically. The version row carries a per-change id, so when the
    /// reply is lost (or an SDK retry of a change that did commit is refused) reading it back tells whether this
    /// change is the one in the table.
    /// </summary>
    private async Task<bool> ChangeAsync(string operation, MembershipEntry entry, TableTransactionAction siloAction, TableVersion tableVersion, string writeId)
    {
        var actions = new[]
        {
            new TableTransactionAction(TableTransactionActionType.UpdateReplace, MembershipRows.VersionRow(_partitionKey, tableVersion.Version, writeId), new ETag(tableVersion.VersionEtag)),
            siloAction,
            new TableTransactionAction(TableTransactionActionType.UpsertReplace, MembershipRows.FenceRow(_partitionKey, tableVersion.Version)),
        };

        try
        {
            await Table.SubmitTransactionAsync(actions).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException exception) when (exception.Status is 404 or 409 or 412)
        {
            if (await CommittedAsync(operation, entry.SiloAddress, writeId, exception).ConfigureAwait(false))
            {
                LogOutcomeResolved(operation, entry.SiloAddress, exception.Status);
                return true;
            }

            LogContention(operation, entry.SiloAddress, tableVersion, exception.Status);
            return false;
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            if (AzureTableErrors.OutcomeUnknown(exception) && await CommittedAsync(operation, entry.SiloAddress, writeId, exception).ConfigureAwait(false))
            {
                LogOutcomeResolved(operation, entry.SiloAddress, (exception as RequestFailedException)?.Status ?? 0);
                return true;
            }

            LogFailed(exception, operation, _partitionKey);
            throw AzureTableErrors.Translate(exception, operation, _options.TableName, $"silo {entry.SiloAddress}; nothing was changed");
        }
    }

    /// <summary>
    /// True when this change's id is on the version row or on the silo row. The transaction wrote it to both, so
    /// finding it on either proves the change committed, even if a later change has since rewritten the other row.
    /// </summary>
    private async Task<bool> CommittedAsync(string operation, SiloAddress silo, string writeId, Exception writeFailure)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {_partitionKey} and (RowKey eq {MembershipRows.VersionRowKey} or RowKey eq {MembershipRows.RowKey(silo)})");
        try
        {
            await foreach (var entity in Table.QueryAsync<TableEntity>(filter, select: [MembershipRows.WriteIdProperty]).ConfigureAwait(false))
            {
                if (entity.GetString(MembershipRows.WriteIdProperty) == writeId)
                {
                    return true;
                }
            }

            return false;
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogFailed(exception, operation + "/Verify", _partitionKey);
            throw AzureTableErrors.Translate(writeFailure, operation, _options.TableName, $"cluster partition '{_partitionKey}'; whether the change was made could not be confirmed");
        }
    }

    private async Task<Snapshot> ReadSnapshotAsync(string operation)
    {
        for (var attempt = 1; ; attempt++)
        {
            int? versionValue = null;
            int? fenceValue = null;
            TableVersion? version = null;
            var silos = new List<(TableEntity Entity, MembershipEntry Entry)>();
            var pages = 0;
            try
            {
                await foreach (var page in Table.QueryAsync<TableEntity>(e => e.PartitionKey == _partitionKey).AsPages().ConfigureAwait(false))
                {
                    pages++;
                    foreach (var entity in page.Values)
                    {
                        switch (entity.RowKey)
                        {
                            case MembershipRows.VersionRowKey:
                                versionValue = entity.GetInt32(MembershipRows.VersionProperty) ?? 0;
                                version = new TableVersion(versionValue.Value, entity.ETag.ToString());
                                break;
                            case MembershipRows.FenceRowKey:
                                fenceValue = entity.GetInt32(MembershipRows.VersionProperty);
                                break;
                            default:
                                if (TryParse(entity) is { } entry)
                                {
                                    silos.Add((entity, entry));
                                }

                                break;
                        }
                    }
                }
            }
            catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
            {
                LogFailed(exception, operation, _partitionKey);
                throw AzureTableErrors.Translate(exception, operation, _options.TableName, $"cluster partition '{_partitionKey}'");
            }

            // A single page is one consistent read. Across pages, the version row (first) and the fence row (last)
            // are written in every change's transaction, so equal values prove nothing committed in between.
            if (pages <= 1 || versionValue == fenceValue)
            {
                return new Snapshot(version ?? MissingVersionRow(), silos);
            }

            LogSnapshotRetry(operation, attempt, versionValue, fenceValue);
            if (attempt >= MaxSnapshotAttempts)
            {
                throw new AzureTableStorageException(
                    AzureTableErrorKind.ServerError,
                    operation,
                    _options.TableName,
                    0,
                    "InconsistentSnapshot",
                    $"{operation} could not read a consistent membership snapshot of cluster partition '{_partitionKey}' after {MaxSnapshotAttempts} attempts because the table kept changing; retry, and remove defunct silo rows if the partition has grown large.",
                    null);
            }
        }
    }

    private MembershipEntry? TryParse(TableEntity entity)
    {
        try
        {
            return MembershipRows.ToEntry(entity);
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException or OverflowException or IndexOutOfRangeException or NullReferenceException)
        {
            LogEntryUnreadable(exception, entity.RowKey);
            return null;
        }
    }

    private TableVersion MissingVersionRow() => throw new AzureTableStorageException(
        AzureTableErrorKind.NotFound,
        "ReadMembership",
        _options.TableName,
        404,
        "VersionRowMissing",
        $"The membership partition '{_partitionKey}' of table '{_options.TableName}' has no version row; the table must be initialized by a silo (InitializeMembershipTable(true)) before it is read.",
        null);

    private sealed record Snapshot(TableVersion Version, List<(TableEntity Entity, MembershipEntry Entry)> Silos);
}
