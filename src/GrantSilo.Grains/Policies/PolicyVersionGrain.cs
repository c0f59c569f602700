using GrantSilo.Grains.Hosting;
using Orleans.Concurrency;

namespace GrantSilo.Grains.Policies;

/// <summary>Holds one published policy version's text (keyed by version number), so the store's own state stays small.</summary>
[Alias("grantsilo.IPolicyVersionGrain")]
internal interface IPolicyVersionGrain : IGrainWithIntegerKey
{
    /// <summary>Writes the version durably (the store writes it before it records the version).</summary>
    [Alias("Write")]
    Task WriteAsync(StoredPolicyVersion record, string text);

    [AlwaysInterleave, Alias("Read")]
    Task<PolicyVersionState?> ReadAsync();
}

internal sealed class PolicyVersionGrain(
    [PersistentState("policy-version", GrantSiloStorage.Name)] IPersistentState<PolicyVersionState> state)
    : Grain, IPolicyVersionGrain
{
    public async Task WriteAsync(StoredPolicyVersion record, string text)
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

    public Task<PolicyVersionState?> ReadAsync() =>
        Task.FromResult(state.RecordExists && state.State.Record is not null ? state.State : null);
}
