using GrantSilo.Grains.Hosting;
using Orleans.Concurrency;

namespace GrantSilo.Grains.Policies;

/// <summary>Holds one published resource catalog version's text (keyed by version number), so the store's own state stays small.</summary>
[Alias("grantsilo.ICatalogVersionGrain")]
internal interface ICatalogVersionGrain : IGrainWithIntegerKey
{
    /// <summary>Writes the version durably (the store writes it before it records the version).</summary>
    [Alias("Write")]
    Task WriteAsync(StoredCatalogVersion record, string text);

    [AlwaysInterleave, Alias("Read")]
    Task<CatalogVersionState?> ReadAsync();
}

internal sealed class CatalogVersionGrain(
    [PersistentState("catalog-version", GrantSiloStorage.Name)] IPersistentState<CatalogVersionState> state)
    : Grain, ICatalogVersionGrain
{
    public async Task WriteAsync(StoredCatalogVersion record, string text)
    {
        state.State.Record = record;
        state.State.Text = text;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Memory is now ahead of storage; let the next activation reload the truth.
            DeactivateOnIdle();
            throw;
        }
    }

    public Task<CatalogVersionState?> ReadAsync() =>
        Task.FromResult(state.RecordExists && state.State.Record is not null ? state.State : null);
}
