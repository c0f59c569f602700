using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables.Storage;

/// <summary>
/// A thin layer over Microsoft's <c>AzureTableGrainStorage</c> for what it does not do.
/// <list type="bullet">
/// <item>Distinct grains get distinct rows. The provider's partition key is the grain id with <c>/ \ # ?</c> replaced
/// by <c>_</c>, so <c>agent/spiffe://td/a/b</c> and <c>agent/spiffe://td/a_b</c> would share one row (and a key over
/// 1 KiB fails). The provider is given each grain's key escaped (<see cref="StorageKeys"/>), which it leaves as is.</item>
/// <item>A write whose reply was lost may have committed: the Azure SDK's retry of it then meets its own write
/// (HTTP 409 on an insert, 412 on an update) and the provider reports a conflict, or the provider reports the
/// timeout or 5xx. Here the row is read back; if it holds exactly the state being written (its serialized bytes,
/// under a new ETag), the write landed and succeeds with that ETag. Otherwise the original failure stands.</item>
/// <item>Azure SDK exceptions become <see cref="AzureTableStorageException"/>s that say what happened, so grain code
/// never sees the SDK's types. ETag conflicts stay Orleans' <see cref="InconsistentStateException"/>.</item>
/// </list>
/// </summary>
internal sealed partial class GuardedGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The most serialized state one row holds: Microsoft's provider splits it over 15 properties of 64 KiB.</summary>
    public const int MaxStateSize = 15 * 64 * 1024;

    private readonly IGrainStorage _inner;
    private readonly string _tableName;
    private readonly IGrainStorageSerializer _serializer;
    private readonly ILogger _logger;

    public GuardedGrainStorage(IGrainStorage inner, string tableName, IGrainStorageSerializer serializer, ILogger logger)
    {
        _inner = inner;
        _tableName = tableName;
        _serializer = serializer;
        _logger = logger;
    }

    public void Participate(ISiloLifecycle lifecycle) => (_inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        try
        {
            await _inner.ReadStateAsync(stateName, StorageKeys.For(grainId), grainState, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            throw AzureTableErrors.Translate(exception, "ReadState", _tableName, $"state '{stateName}' of grain {grainId}");
        }
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
        => ConfirmAsync(stateName, grainId, grainState, clearing: false, cancellationToken);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
        => ConfirmAsync(stateName, grainId, grainState, clearing: true, cancellationToken);

    private async Task ConfirmAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, bool clearing, CancellationToken cancellationToken)
    {
        var etagBefore = grainState.ETag;
        var storageId = StorageKeys.For(grainId);
        try
        {
            if (clearing)
            {
                await _inner.ClearStateAsync(stateName, storageId, grainState, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _inner.WriteStateAsync(stateName, storageId, grainState, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ArgumentOutOfRangeException) when (!clearing && Serialized(grainState.State) is { Length: > MaxStateSize } tooLarge)
        {
            // Microsoft's provider refuses state over one entity (15 properties of 64 KiB) before sending anything.
            throw new GrainStateTooLargeException(_tableName, stateName, grainId, tooLarge.Length, MaxStateSize);
        }
        catch (Exception exception) when (exception is InconsistentStateException || AzureTableErrors.IsStorageFailure(exception))
        {
            // What the row must hold if the write landed: the state as serialized (the provider leaves it as it was on a
            // failure), or no state at all (a tombstone). Serialized only here, so a write that succeeds pays nothing.
            var intended = clearing ? null : Serialized(grainState.State);
            if (await LandedAsync(stateName, storageId, grainState, etagBefore, intended, cancellationToken).ConfigureAwait(false))
            {
                LogWriteConfirmed(_logger, stateName, grainId, _tableName);
                return;
            }
            if (exception is InconsistentStateException)
            {
                throw;
            }
            throw AzureTableErrors.Translate(exception, clearing ? "ClearState" : "WriteState", _tableName, $"state '{stateName}' of grain {grainId}");
        }
    }

    private byte[] Serialized<T>(T state) => _serializer.Serialize(state).ToArray();

    // Reads the row back: did the write that just failed commit anyway? Only when the row has moved on from the ETag
    // the write started from and holds exactly what was being written. A failed read leaves the outcome unknown.
    private async Task<bool> LandedAsync<T>(string stateName, GrainId storageId, IGrainState<T> grainState, string? etagBefore, byte[]? intended, CancellationToken cancellationToken)
    {
        var stored = new GrainState<T>();
        try
        {
            await _inner.ReadStateAsync(stateName, storageId, stored, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception) || exception is InconsistentStateException)
        {
            return false;
        }
        if (stored.ETag is null || stored.ETag == etagBefore)
        {
            return false;
        }
        if (intended is null)
        {
            if (stored.RecordExists)
            {
                return false;
            }
        }
        else if (!stored.RecordExists || !_serializer.Serialize(stored.State).ToMemory().Span.SequenceEqual(intended))
        {
            return false;
        }
        grainState.ETag = stored.ETag;
        grainState.RecordExists = stored.RecordExists;
        if (intended is null)
        {
            grainState.State = stored.State;
        }
        return true;
    }

    [LoggerMessage(EventId = 4301, Level = LogLevel.Information, Message = "A write of state '{StateName}' of grain {GrainId} to table '{TableName}' failed, but reading it back shows it committed (its reply was lost); it stands")]
    private static partial void LogWriteConfirmed(ILogger logger, string stateName, GrainId grainId, string tableName);
}
