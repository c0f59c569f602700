using GrantSilo.Grains.Hosting;
using Orleans.Concurrency;

namespace GrantSilo.Grains.Policies;

/// <summary>Holds one published access rules version's text (keyed by version number), so the store's own state stays small.</summary>
[Alias("grantsilo.IAccessRulesVersionGrain")]
internal interface IAccessRulesVersionGrain : IGrainWithIntegerKey
{
    /// <summary>Writes the version durably (the store writes it before it records the version).</summary>
    [Alias("Write")]
    Task WriteAsync(StoredAccessRulesVersion record, string text);

    [AlwaysInterleave, Alias("Read")]
    Task<AccessRulesVersionState?> ReadAsync();
}

internal sealed class AccessRulesVersionGrain(
    [PersistentState("access-rules-version", GrantSiloStorage.Name)] IPersistentState<AccessRulesVersionState> state)
    : Grain, IAccessRulesVersionGrain
{
    public async Task WriteAsync(StoredAccessRulesVersion record, string text)
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

    public Task<AccessRulesVersionState?> ReadAsync() =>
        Task.FromResult(state.RecordExists && state.State.Record is not null ? state.State : null);
}
