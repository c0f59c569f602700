using System.Collections.Concurrent;
using Orleans.Storage;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Grain storage that fails on demand for chosen grains (by grain id key): writes that fail outright
/// (retried cascades), and the nastier kind whose outcome is unknown — a write that commits and then
/// loses its reply, followed by reads that fail. Given the storage serializer, it also measures what
/// chosen grains write.
/// </summary>
internal sealed class FlakyGrainStorage(IGrainStorage inner, IGrainStorageSerializer? serializer = null) : IGrainStorage
{
    /// <summary>Keys whose writes are measured (when a serializer was given).</summary>
    public static readonly ConcurrentDictionary<string, bool> MeasuredKeys = new();

    /// <summary>The serialized size, in bytes, of the last write of each measured key and state name.</summary>
    public static readonly ConcurrentDictionary<(string Key, string StateName), int> WrittenSizes = new();

    /// <summary>Keys whose writes fail without committing.</summary>
    public static readonly ConcurrentDictionary<string, bool> FailingKeys = new();

    /// <summary>Sessions whose new credentials' records (written by the session, keyed by the credential) fail to write.</summary>
    public static readonly ConcurrentDictionary<string, bool> FailingCredentialsOfSession = new();

    /// <summary>
    /// Sessions whose next new credential's record waits (before reaching storage) until released; the task completes
    /// with the credential's id when one waits.
    /// </summary>
    public static readonly ConcurrentDictionary<string, (TaskCompletionSource<string> Entered, TaskCompletionSource Release)> HeldCredentialsOfSession = new();

    /// <summary>Keys whose next write commits and then throws as if its reply were lost (once each).</summary>
    public static readonly ConcurrentDictionary<string, bool> CommitThenFailKeys = new();

    /// <summary>Keys whose writes wait (before reaching storage) until released; the first task completes when one waits.</summary>
    public static readonly ConcurrentDictionary<string, (TaskCompletionSource Entered, TaskCompletionSource Release)> HeldWrites = new();

    /// <summary>Holds the next writes of <paramref name="key"/>; returns a task that completes when one is held.</summary>
    public static Task Hold(string key) =>
        HeldWrites.GetOrAdd(key, _ => (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))).Entered.Task;

    public static void Release(string key)
    {
        if (HeldWrites.TryRemove(key, out var held))
        {
            held.Release.TrySetResult();
        }
    }

    /// <summary>Keys and how many of their next reads fail.</summary>
    public static readonly ConcurrentDictionary<string, int> FailingReads = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = grainId.Key.ToString()!;
        if (FailingReads.TryGetValue(key, out var left) && left > 0 && FailingReads.TryUpdate(key, left - 1, left))
        {
            throw new IOException($"Injected read failure for {grainId}.");
        }
        return inner.ReadStateAsync(stateName, grainId, grainState);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = grainId.Key.ToString()!;
        if (HeldWrites.TryGetValue(key, out var held))
        {
            held.Entered.TrySetResult();
            await held.Release.Task;
        }
        if (grainState.State is GrantSilo.Grains.Credentials.CredentialState created && HeldCredentialsOfSession.TryRemove(created.SessionId, out var heldCredential))
        {
            heldCredential.Entered.TrySetResult(key);
            await heldCredential.Release.Task;
        }
        if (FailingKeys.ContainsKey(key)
            || (grainState.State is GrantSilo.Grains.Credentials.CredentialState credential && FailingCredentialsOfSession.ContainsKey(credential.SessionId)))
        {
            throw new IOException($"Injected write failure for {grainId}.");
        }
        if (CommitThenFailKeys.TryRemove(key, out _))
        {
            // The write lands, but the caller never learns it (and keeps the ETag it had).
            var etag = grainState.ETag;
            await inner.WriteStateAsync(stateName, grainId, grainState);
            grainState.ETag = etag;
            throw new TimeoutException($"Injected lost reply after a committed write for {grainId}.");
        }
        await inner.WriteStateAsync(stateName, grainId, grainState);
        if (serializer is not null && MeasuredKeys.ContainsKey(key))
        {
            WrittenSizes[(key, stateName)] = serializer.Serialize(grainState.State).ToMemory().Length;
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);
}
