using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace GrantSilo.Grains.Hosting;

/// <summary>
/// Grain state held in this silo's memory, for a cluster of one silo (the embedded default). It keeps the contract of
/// Orleans' memory storage: state is stored as a deep copy made by Orleans' copiers (a grain never shares a mutable
/// object with storage: a copy is taken on every write and handed out on every read), every write and
/// clear is checked against the ETag the caller last saw and a stale one fails with
/// <see cref="InconsistentStateException"/>, and a cleared record reads as absent. It differs in where the state lives:
/// in a dictionary of this process, not behind an Orleans storage grain, so a read or a write is a deep copy and a
/// compare-and-swap instead of a grain call (two messages, a deep copy of the state and a turn of the storage grain's
/// queue). A copy, not a serialization: nothing leaves the process, and a copier shares what cannot change (strings,
/// types marked <c>[Immutable]</c>) where a serializer would encode every byte of it on every write. Its state is
/// visible to this silo alone: a cluster of several silos needs a storage every silo reaches.
/// </summary>
/// <remarks>
/// Stricter than Orleans' memory storage in one place: that one accepts any ETag for a key it has never seen (its
/// storage grain may have been lost with a silo, and its data with it). Here the store lives exactly as long as the
/// silo whose grains use it, so a record it does not hold was never written or was cleared, and only a writer that saw
/// it absent (no ETag) may create it.
/// </remarks>
internal sealed class LocalGrainStorage(DeepCopier copier) : IGrainStorage
{
    // Every operation is done when it returns. A failure (a conflict, a state that cannot be copied) is the returned
    // task's, as an asynchronous provider's would be, not thrown at the call.

    // A stored record: the copy of the state its write made (never handed out: every read copies it again) and the ETag
    // of that write. A reference type compared by reference, so a compare-and-swap replaces exactly the record the check
    // was made against.
    private sealed class Stored(object? state, string etag)
    {
        public object? State { get; } = state;

        public string ETag { get; } = etag;
    }

    private readonly ConcurrentDictionary<(string StateName, GrainId GrainId), Stored> _records = new();
    private long _lastETag;

    /// <summary>The number of records held (for tests).</summary>
    internal int Count => _records.Count;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        Done(static (store, name, id, state) => store.Read(name, id, state), stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        Done(static (store, name, id, state) => store.Write(name, id, state), stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        Done(static (store, name, id, state) => store.Clear(name, id, state), stateName, grainId, grainState);

    // Runs an operation to its end; its failure is the returned task's. Static lambdas: nothing is allocated per call.
    private Task Done<T>(Action<LocalGrainStorage, string, GrainId, IGrainState<T>> operation, string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        try
        {
            operation(this, stateName, grainId, grainState);
            return Task.CompletedTask;
        }
        catch (Exception failure)
        {
            return Task.FromException(failure);
        }
    }

    private void Read<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_records.TryGetValue((stateName, grainId), out var stored))
        {
            grainState.State = stored.State is T state ? copier.Copy(state) : Activator.CreateInstance<T>();
            grainState.ETag = stored.ETag;
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
    }

    private void Write<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        // Copied before the check: the state is the caller's, and a conflict costs only the wasted copy.
        var replacement = new Stored(copier.Copy(grainState.State), NewETag());
        var key = (stateName, grainId);
        while (true)
        {
            if (_records.TryGetValue(key, out var current))
            {
                Check(current, grainState.ETag, stateName, grainId, "write");
                if (_records.TryUpdate(key, replacement, current))
                {
                    break;
                }
            }
            else
            {
                Check(null, grainState.ETag, stateName, grainId, "write");
                if (_records.TryAdd(key, replacement))
                {
                    break;
                }
            }
            // Another writer got in between the check and the swap: check again against what it wrote.
        }
        grainState.ETag = replacement.ETag;
        grainState.RecordExists = true;
    }

    private void Clear<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        while (true)
        {
            if (_records.TryGetValue(key, out var current))
            {
                Check(current, grainState.ETag, stateName, grainId, "clear");
                if (_records.TryRemove(KeyValuePair.Create(key, current)))
                {
                    break;
                }
            }
            else
            {
                // Nothing to remove; but a caller that saw a record (it holds an ETag) is stale once the record has gone.
                Check(null, grainState.ETag, stateName, grainId, "clear");
                break;
            }
        }
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private string NewETag() => Interlocked.Increment(ref _lastETag).ToString(CultureInfo.InvariantCulture);

    // A caller may change a record only as of the version it last read or wrote: with its ETag, or with none when there is
    // no record. "*" (Orleans' any-ETag) skips the check, as in every Orleans provider.
    private static void Check(Stored? current, string? seen, string stateName, GrainId grainId, string operation)
    {
        if (seen == "*" || seen == current?.ETag)
        {
            return;
        }
        throw Conflict(stateName, grainId, operation, seen, current?.ETag);
    }

    private static InconsistentStateException Conflict(string stateName, GrainId grainId, string operation, string? seen, string? stored) =>
        new($"The {operation} of state '{stateName}' of grain {grainId} was made as of ETag '{seen ?? "(none)"}', but the stored record is at '{stored ?? "(none: absent or cleared)"}'; the activation reads its state again.", stored ?? "", seen ?? "");
}

/// <summary>Registers <see cref="LocalGrainStorage"/>.</summary>
public static class LocalGrainStorageExtensions
{
    /// <summary>
    /// Adds grain storage named <paramref name="name"/> held in this silo's memory, without a storage grain. For a
    /// cluster of exactly one silo (the embedded default): other silos cannot see it.
    /// </summary>
    public static ISiloBuilder AddLocalGrainStorage(this ISiloBuilder silo, string name)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentException.ThrowIfNullOrEmpty(name);
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (sp, _) => new LocalGrainStorage(sp.GetRequiredService<DeepCopier>()));
        return silo;
    }
}
