using Azure;
using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables.Storage;

/// <summary>
/// Orleans grain storage on Azure Table Storage. One entity per grain and state name: the partition key is the
/// service id prefix and the grain type, the row key the grain key and state name (both escaped). Writes are
/// conditional on the ETag the grain last saw, so a stale activation's write fails with
/// <see cref="InconsistentStateException"/>; serialized state is split over up to <see cref="MaxChunks"/> binary
/// properties. Writes whose reply is lost are settled by reading the entity back and comparing a per-write id.
/// </summary>
public sealed partial class AzureTableGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Largest binary property Azure Tables stores (64 KiB).</summary>
    public const int MaxChunkSize = 64 * 1024;

    /// <summary>How many binary properties state may span; 15 × 64 KiB leaves room for keys and metadata within 1 MiB.</summary>
    public const int MaxChunks = 15;

    /// <summary>Largest serialized state accepted, in bytes.</summary>
    public const int MaxStateSize = MaxChunkSize * MaxChunks;

    internal const string DataPropertyPrefix = "D";
    internal const string SizeProperty = "Size";
    internal const string WriteIdProperty = "WriteId";
    internal const string TombstoneProperty = "Cleared";
    internal const string IdentityProperty = "Identity";

    private static readonly string[] DataPropertyNames = Enumerable.Range(0, MaxChunks).Select(i => DataPropertyPrefix + i).ToArray();

    private readonly string _name;
    private readonly AzureTableGrainStorageOptions _options;
    private readonly string _servicePrefix;
    private readonly ILogger _logger;
    private readonly IActivatorProvider _activatorProvider;
    private readonly Lazy<TableClient> _table;

    /// <summary>Creates the provider; the table is created when the silo starts (see <see cref="Participate"/>).</summary>
    public AzureTableGrainStorage(
        string name,
        AzureTableGrainStorageOptions options,
        IOptions<ClusterOptions> clusterOptions,
        ILogger<AzureTableGrainStorage> logger,
        IActivatorProvider activatorProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clusterOptions);
        _name = name;
        _options = options;
        _servicePrefix = string.IsNullOrEmpty(options.ServiceIdPrefix) ? clusterOptions.Value.ServiceId : options.ServiceIdPrefix;
        _logger = logger;
        _activatorProvider = activatorProvider;
        _table = new Lazy<TableClient>(() => TableClientFactory.CreateTableClient(options));
    }

    internal TableClient Table => _table.Value;

    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle)
        => lifecycle.Subscribe($"{nameof(AzureTableGrainStorage)}-{_name}", _options.InitStage, InitializeAsync);

    /// <summary>Creates the table if needed; called by the silo lifecycle.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (!_options.CreateTableIfNotExists)
        {
            return;
        }

        try
        {
            if (await TableInitializer.EnsureTableAsync(Table, "InitializeGrainStorage", cancellationToken).ConfigureAwait(false))
            {
                LogTableCreated(_name, _options.TableName);
            }
        }
        catch (AzureTableStorageException exception)
        {
            LogTableInitFailed(exception, _name, _options.TableName);
            throw;
        }
    }

    /// <inheritdoc/>
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    /// <inheritdoc/>
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        var key = GetKey(stateName, grainId);
        TableEntity? entity;
        try
        {
            entity = await ReadEntityAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogStorageFailed(exception, "ReadState", stateName, grainId, _options.TableName);
            throw AzureTableErrors.Translate(exception, "ReadState", _options.TableName, Describe(stateName, grainId));
        }

        if (entity is null)
        {
            grainState.State = CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            LogStateRead(stateName, grainId, null, false);
            return;
        }

        var (state, exists) = Decode<T>(entity, stateName, grainId);
        grainState.State = state;
        grainState.ETag = entity.ETag.ToString();
        grainState.RecordExists = exists;
        LogStateRead(stateName, grainId, grainState.ETag, exists);
    }

    /// <inheritdoc/>
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    /// <inheritdoc/>
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        var key = GetKey(stateName, grainId);
        var data = _options.GrainStorageSerializer.Serialize(grainState.State);
        if (data.Length > MaxStateSize)
        {
            LogStateTooLarge(stateName, grainId, data.Length, MaxStateSize);
            throw new GrainStateTooLargeException(_options.TableName, stateName, grainId, data.Length, MaxStateSize);
        }

        var entity = NewEntity(key);
        entity[SizeProperty] = data.Length;
        var memory = data.ToMemory();
        for (int offset = 0, chunk = 0; offset < memory.Length; offset += MaxChunkSize, chunk++)
        {
            entity[DataPropertyNames[chunk]] = memory.Slice(offset, Math.Min(MaxChunkSize, memory.Length - offset)).ToArray();
        }

        var etag = await WriteEntityAsync("WriteState", entity, key, grainState.ETag, stateName, grainId, cancellationToken).ConfigureAwait(false);
        grainState.ETag = etag;
        grainState.RecordExists = true;
        LogStateWritten(stateName, grainId, etag, data.Length);
    }

    /// <inheritdoc/>
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    /// <inheritdoc/>
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        var key = GetKey(stateName, grainId);
        if (_options.DeleteStateOnClear)
        {
            if (grainState.ETag is not null)
            {
                await DeleteEntityAsync(key, grainState.ETag, stateName, grainId, cancellationToken).ConfigureAwait(false);
            }

            grainState.ETag = null;
        }
        else
        {
            // A tombstone keeps the ETag chain, so an activation that still holds an older ETag cannot resurrect the state.
            var entity = NewEntity(key);
            entity[SizeProperty] = 0;
            entity[TombstoneProperty] = true;
            grainState.ETag = await WriteEntityAsync("ClearState", entity, key, grainState.ETag, stateName, grainId, cancellationToken).ConfigureAwait(false);
        }

        grainState.State = CreateInstance<T>();
        grainState.RecordExists = false;
        LogStateCleared(stateName, grainId, grainState.ETag);
    }

    internal EntityKey GetKey(string stateName, GrainId grainId)
    {
        var partitionKey = TableKeys.Compose(_servicePrefix, grainId.Type.ToString()!);
        var rowKey = TableKeys.Compose(grainId.Key.ToString()!, stateName);
        var identity = TableKeys.IsShortened(partitionKey) || TableKeys.IsShortened(rowKey)
            ? string.Concat(_servicePrefix, "|", grainId.ToString(), "|", stateName)
            : null;
        return new EntityKey(partitionKey, rowKey, identity);
    }

    private static TableEntity NewEntity(EntityKey key)
    {
        var entity = new TableEntity(key.PartitionKey, key.RowKey);
        if (key.Identity is not null)
        {
            entity[IdentityProperty] = key.Identity;
        }

        return entity;
    }

    private async Task<TableEntity?> ReadEntityAsync(EntityKey key, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<TableEntity>(key.PartitionKey, key.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!response.HasValue)
        {
            // The SDK answers a missing table like a missing entity; a missing table must not read as "no state".
            return AzureTableErrors.IsTableNotFound(response.GetRawResponse())
                ? throw new RequestFailedException(response.GetRawResponse())
                : null;
        }

        var entity = response.Value!;
        if (key.Identity is not null && !string.Equals(entity.GetString(IdentityProperty), key.Identity, StringComparison.Ordinal))
        {
            // Two long keys whose shortened forms collide: refuse rather than hand one grain another's state.
            throw new AzureTableStorageException(
                AzureTableErrorKind.Conflict,
                "ReadState",
                _options.TableName,
                0,
                "KeyCollision",
                $"The shortened storage key of {key.Identity} collides with another grain's key; its state cannot be stored in table '{_options.TableName}'. Use a shorter grain key.",
                null);
        }

        return entity;
    }

    /// <summary>
    /// Inserts (no ETag) or replaces (ETag) the entity. When the service replies that the condition failed, or the
    /// reply is lost, reads the entity back: if it carries this write's id, an earlier attempt committed and the
    /// write succeeded; otherwise a condition failure means another writer won (<see cref="InconsistentStateException"/>)
    /// and any other failure is reported as <see cref="AzureTableStorageException"/>.
    /// </summary>
    private async Task<string> WriteEntityAsync(
        string operation,
        TableEntity entity,
        EntityKey key,
        string? expectedETag,
        string stateName,
        GrainId grainId,
        CancellationToken cancellationToken)
    {
        var writeId = Guid.NewGuid().ToString("N");
        entity[WriteIdProperty] = writeId;
        try
        {
            var response = expectedETag is null
                ? await Table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false)
                : await Table.UpdateEntityAsync(entity, new ETag(expectedETag), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return response.Headers.ETag?.ToString()
                ?? throw new AzureTableStorageException(AzureTableErrorKind.Unknown, operation, _options.TableName, response.Status, null, $"{operation} on Azure table '{_options.TableName}' got a reply without an ETag for {Describe(stateName, grainId)}.", null);
        }
        catch (RequestFailedException exception) when (exception.Status is 409 or 412 || (exception.Status == 404 && !AzureTableErrors.IsTableNotFound(exception)))
        {
            var current = await TryReadAfterFailureAsync(key, exception, operation, stateName, grainId, cancellationToken).ConfigureAwait(false);
            if (current is not null && string.Equals(current.GetString(WriteIdProperty), writeId, StringComparison.Ordinal))
            {
                LogOutcomeResolved(operation, stateName, grainId, exception.Status);
                return current.ETag.ToString();
            }

            var stored = current?.ETag.ToString();
            LogConflict(operation, stateName, grainId, expectedETag, stored);
            throw new InconsistentStateException(
                $"{operation} of state '{stateName}' for grain {grainId} in Azure table '{_options.TableName}' was refused: the stored state changed since this activation read it (expected ETag {expectedETag ?? "<none>"}, stored {stored ?? "<none>"}).",
                stored,
                expectedETag,
                exception);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception) && AzureTableErrors.OutcomeUnknown(exception))
        {
            var current = await TryReadAfterFailureAsync(key, exception, operation, stateName, grainId, cancellationToken).ConfigureAwait(false);
            if (current is not null && string.Equals(current.GetString(WriteIdProperty), writeId, StringComparison.Ordinal))
            {
                LogOutcomeResolved(operation, stateName, grainId, (exception as RequestFailedException)?.Status ?? 0);
                return current.ETag.ToString();
            }

            LogStorageFailed(exception, operation, stateName, grainId, _options.TableName);
            throw AzureTableErrors.Translate(exception, operation, _options.TableName, Describe(stateName, grainId) + "; the state was not written");
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogStorageFailed(exception, operation, stateName, grainId, _options.TableName);
            throw AzureTableErrors.Translate(exception, operation, _options.TableName, Describe(stateName, grainId));
        }
    }

    private async Task DeleteEntityAsync(EntityKey key, string etag, string stateName, GrainId grainId, CancellationToken cancellationToken)
    {
        try
        {
            // A 404 reply means the row is gone, which is what was asked (a retried delete whose first reply was lost ends here too).
            await Table.DeleteEntityAsync(key.PartitionKey, key.RowKey, new ETag(etag), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException exception) when (exception.Status == 412)
        {
            LogConflict("ClearState", stateName, grainId, etag, null);
            throw new InconsistentStateException(
                $"ClearState of state '{stateName}' for grain {grainId} in Azure table '{_options.TableName}' was refused: the stored state changed since this activation read it (expected ETag {etag}).",
                null,
                etag,
                exception);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogStorageFailed(exception, "ClearState", stateName, grainId, _options.TableName);
            throw AzureTableErrors.Translate(exception, "ClearState", _options.TableName, Describe(stateName, grainId));
        }
    }

    private async Task<TableEntity?> TryReadAfterFailureAsync(EntityKey key, Exception writeFailure, string operation, string stateName, GrainId grainId, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadEntityAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            LogStorageFailed(exception, operation + "/Verify", stateName, grainId, _options.TableName);
            throw AzureTableErrors.Translate(writeFailure, operation, _options.TableName, Describe(stateName, grainId) + "; whether the write was made could not be confirmed");
        }
    }

    private (T State, bool Exists) Decode<T>(TableEntity entity, string stateName, GrainId grainId)
    {
        if (entity.GetBoolean(TombstoneProperty) == true)
        {
            return (CreateInstance<T>(), false);
        }

        var size = entity.GetInt32(SizeProperty) ?? 0;
        var buffer = new byte[size];
        var offset = 0;
        for (var chunk = 0; chunk < MaxChunks && offset < size; chunk++)
        {
            var bytes = entity.GetBinary(DataPropertyNames[chunk]);
            if (bytes is null)
            {
                break;
            }

            bytes.AsSpan(0, Math.Min(bytes.Length, size - offset)).CopyTo(buffer.AsSpan(offset));
            offset += bytes.Length;
        }

        if (offset != size)
        {
            throw new AzureTableStorageException(
                AzureTableErrorKind.Unknown,
                "ReadState",
                _options.TableName,
                0,
                "CorruptState",
                $"The stored state '{stateName}' of grain {grainId} in Azure table '{_options.TableName}' is incomplete ({offset} of {size} bytes).",
                null);
        }

        try
        {
            var state = _options.GrainStorageSerializer.Deserialize<T>(new BinaryData(buffer));
            return state is null ? (CreateInstance<T>(), false) : (state, true);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            throw new AzureTableStorageException(
                AzureTableErrorKind.Unknown,
                "ReadState",
                _options.TableName,
                0,
                "DeserializationFailed",
                $"The stored state '{stateName}' of grain {grainId} in Azure table '{_options.TableName}' could not be deserialized as {typeof(T)}; check that the state type kept its serialization ids.",
                exception);
        }
    }

    private T CreateInstance<T>() => _activatorProvider.GetActivator<T>().Create();

    private static string Describe(string stateName, GrainId grainId) => $"state '{stateName}' of grain {grainId}";

    internal readonly record struct EntityKey(string PartitionKey, string RowKey, string? Identity);
}
