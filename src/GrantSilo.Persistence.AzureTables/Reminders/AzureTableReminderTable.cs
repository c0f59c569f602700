using System.Globalization;
using Azure;
using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables.Reminders;

/// <summary>
/// Orleans reminder table on Azure Table Storage. The partition key is the service id prefix and the grain's uniform
/// hash as eight hex digits, so a hash range of the ring is a range of partition keys (two ranges when it wraps);
/// the row key is the grain id and reminder name. Rows are upserted and removed by ETag.
/// </summary>
public sealed partial class AzureTableReminderTable : IReminderTable
{
    internal const string GrainIdProperty = "GrainId";
    internal const string ReminderNameProperty = "ReminderName";
    internal const string StartAtProperty = "StartAt";
    internal const string PeriodTicksProperty = "PeriodTicks";
    internal const string GrainHashProperty = "GrainHash";

    private const int DeleteBatchSize = 100;

    private readonly AzureTableReminderOptions _options;
    private readonly string _servicePrefix;
    private readonly string _escapedPrefix;
    private readonly ILogger _logger;
    private readonly Lazy<TableClient> _table;

    /// <summary>Creates the reminder table; the Azure table is created by <see cref="StartAsync"/>.</summary>
    public AzureTableReminderTable(IOptions<AzureTableReminderOptions> options, IOptions<ClusterOptions> clusterOptions, ILogger<AzureTableReminderTable> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clusterOptions);
        _options = options.Value;
        _servicePrefix = string.IsNullOrEmpty(_options.ServiceIdPrefix) ? clusterOptions.Value.ServiceId : _options.ServiceIdPrefix;
        _escapedPrefix = TableKeys.Escape(_servicePrefix);
        _logger = logger;
        _table = new Lazy<TableClient>(() => TableClientFactory.CreateTableClient(_options));
    }

    internal TableClient Table => _table.Value;

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (!_options.CreateTableIfNotExists)
        {
            return;
        }

        try
        {
            if (await TableInitializer.EnsureTableAsync(Table, "InitializeReminders", cancellationToken).ConfigureAwait(false))
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

    /// <inheritdoc/>
    public Task<ReminderTableData> ReadRows(GrainId grainId)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PartitionKey(grainId.GetUniformHashCode())} and GrainId eq {grainId.ToString()}");
        return QueryAsync("ReadRows", [filter], $"reminders of grain {grainId}");
    }

    /// <inheritdoc/>
    public Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        // (begin, end] on the ring; when begin >= end the range wraps past uint.MaxValue back to 0.
        var filters = begin < end
            ? [RangeFilter(begin, end)]
            : new List<string> { RangeFilter(begin, uint.MaxValue), LowerInclusiveFilter(end) };
        return QueryAsync("ReadRows", filters, $"reminders with hash in ({begin:X8}, {end:X8}]");
    }

    /// <inheritdoc/>
    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        var (partitionKey, rowKey) = Keys(grainId, reminderName);
        try
        {
            var response = await Table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey).ConfigureAwait(false);
            if (!response.HasValue)
            {
                // The SDK answers a missing table like a missing entity; a missing table must not read as "no reminder".
                return AzureTableErrors.IsTableNotFound(response.GetRawResponse())
                    ? throw new RequestFailedException(response.GetRawResponse())
                    : null;
            }

            var entry = ToEntry(response.Value!);
            return entry.GrainId.Equals(grainId) && entry.ReminderName == reminderName ? entry : null;
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogFailed(exception, "ReadRow", grainId, reminderName);
            throw AzureTableErrors.Translate(exception, "ReadRow", _options.TableName, $"reminder '{reminderName}' of grain {grainId}");
        }
    }

    /// <inheritdoc/>
    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var (partitionKey, rowKey) = Keys(entry.GrainId, entry.ReminderName);
        var entity = new TableEntity(partitionKey, rowKey)
        {
            [GrainIdProperty] = entry.GrainId.ToString(),
            [ReminderNameProperty] = entry.ReminderName,
            [StartAtProperty] = new DateTimeOffset(DateTime.SpecifyKind(entry.StartAt, DateTimeKind.Utc)),
            [PeriodTicksProperty] = entry.Period.Ticks,
            [GrainHashProperty] = entry.GrainId.GetUniformHashCode().ToString("X8", CultureInfo.InvariantCulture),
        };

        try
        {
            // An upsert is idempotent, so an SDK retry after a lost reply writes the same row again.
            var response = await Table.UpsertEntityAsync(entity, TableUpdateMode.Replace).ConfigureAwait(false);
            var etag = response.Headers.ETag?.ToString();
            LogUpserted(entry.GrainId, entry.ReminderName, etag);
            return etag;
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogFailed(exception, "UpsertRow", entry.GrainId, entry.ReminderName);
            throw AzureTableErrors.Translate(exception, "UpsertRow", _options.TableName, $"reminder '{entry.ReminderName}' of grain {entry.GrainId}");
        }
    }

    /// <inheritdoc/>
    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        var (partitionKey, rowKey) = Keys(grainId, reminderName);
        try
        {
            // The SDK reports a missing entity as a 404 reply rather than an exception.
            var response = await Table.DeleteEntityAsync(partitionKey, rowKey, new ETag(eTag)).ConfigureAwait(false);
            var removed = response.Status != 404;
            LogRemoved(grainId, reminderName, removed);
            return removed;
        }
        catch (RequestFailedException exception) when (exception.Status is 404 or 412)
        {
            LogRemoved(grainId, reminderName, false);
            return false;
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogFailed(exception, "RemoveRow", grainId, reminderName);
            throw AzureTableErrors.Translate(exception, "RemoveRow", _options.TableName, $"reminder '{reminderName}' of grain {grainId}");
        }
    }

    /// <inheritdoc/>
    public async Task TestOnlyClearTable()
    {
        try
        {
            var rows = new List<TableEntity>();
            var filter = PrefixRangeFilter();
            await foreach (var entity in Table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"]).ConfigureAwait(false))
            {
                rows.Add(entity);
            }

            foreach (var partition in rows.GroupBy(r => r.PartitionKey))
            {
                foreach (var batch in partition.Chunk(DeleteBatchSize))
                {
                    var actions = batch.Select(e => new TableTransactionAction(TableTransactionActionType.Delete, e, ETag.All));
                    await Table.SubmitTransactionAsync(actions).ConfigureAwait(false);
                }
            }

            LogCleared(rows.Count);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            throw AzureTableErrors.Translate(exception, "TestOnlyClearTable", _options.TableName, $"the reminders of service '{_servicePrefix}'");
        }
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    internal string PartitionKey(uint hash) => string.Concat(_escapedPrefix, "|", hash.ToString("X8", CultureInfo.InvariantCulture));

    private (string PartitionKey, string RowKey) Keys(GrainId grainId, string reminderName)
        => (PartitionKey(grainId.GetUniformHashCode()), TableKeys.Compose(grainId.ToString(), reminderName));

    private string RangeFilter(uint exclusiveBegin, uint inclusiveEnd)
        => TableClient.CreateQueryFilter($"PartitionKey gt {PartitionKey(exclusiveBegin)} and PartitionKey le {PartitionKey(inclusiveEnd)}");

    private string LowerInclusiveFilter(uint inclusiveEnd)
        => TableClient.CreateQueryFilter($"PartitionKey ge {PartitionKey(0)} and PartitionKey le {PartitionKey(inclusiveEnd)}");

    private string PrefixRangeFilter()
        => TableClient.CreateQueryFilter($"PartitionKey ge {PartitionKey(0)} and PartitionKey le {PartitionKey(uint.MaxValue)}");

    private async Task<ReminderTableData> QueryAsync(string operation, IReadOnlyList<string> filters, string what)
    {
        try
        {
            var entries = new List<ReminderEntry>();
            foreach (var filter in filters)
            {
                await foreach (var entity in Table.QueryAsync<TableEntity>(filter).ConfigureAwait(false))
                {
                    entries.Add(ToEntry(entity));
                }
            }

            LogRead(operation, what, entries.Count);
            return new ReminderTableData(entries);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogQueryFailed(exception, operation, what);
            throw AzureTableErrors.Translate(exception, operation, _options.TableName, what);
        }
    }

    private static ReminderEntry ToEntry(TableEntity entity) => new()
    {
        GrainId = GrainId.Parse(entity.GetString(GrainIdProperty)),
        ReminderName = entity.GetString(ReminderNameProperty),
        StartAt = entity.GetDateTimeOffset(StartAtProperty)?.UtcDateTime ?? default,
        Period = TimeSpan.FromTicks(entity.GetInt64(PeriodTicksProperty) ?? 0),
        ETag = entity.ETag.ToString(),
    };
}
