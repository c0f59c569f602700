using Orleans.Storage;

namespace GrantSilo.ScheduleExplorer;

/// <summary>Grain storage whose writes go through the seed's <see cref="FaultInjector"/>: failed, held, or committed with a lost reply.</summary>
internal sealed class ExplorerGrainStorage(IGrainStorage inner) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (ExplorerHooks.Current is not { } injector)
        {
            return inner.WriteStateAsync(stateName, grainId, grainState);
        }
        var etag = grainState.ETag;
        return injector.OnWriteAsync(grainId, () => inner.WriteStateAsync(stateName, grainId, grainState), () => grainState.ETag = etag);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);
}
