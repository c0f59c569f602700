using System.Collections.Concurrent;
using Orleans.Storage;

namespace GrantSilo.Grains.Tests;

/// <summary>Grain storage that fails writes for chosen grains, to exercise retried cascades.</summary>
internal sealed class FlakyGrainStorage(IGrainStorage inner) : IGrainStorage
{
    /// <summary>Keys (grain id key strings) whose writes fail.</summary>
    public static readonly ConcurrentDictionary<string, bool> FailingKeys = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        FailingKeys.ContainsKey(grainId.Key.ToString()!)
            ? throw new IOException($"Injected write failure for {grainId}.")
            : inner.WriteStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);
}
