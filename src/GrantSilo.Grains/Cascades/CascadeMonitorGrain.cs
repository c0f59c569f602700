namespace GrantSilo.Grains.Cascades;

/// <summary>The durable list of cascades awaiting a retry.</summary>
[GenerateSerializer, Alias("grantsilo.cascade-monitor-state")]
public sealed class CascadeMonitorState
{
    [Id(0)] public Dictionary<string, PendingCascade> Pending { get; set; } = [];
}

/// <summary>Keeps the cluster-wide list of pending cascades for operators (query) and dashboards.</summary>
internal sealed class CascadeMonitorGrain(
    [PersistentState("cascades", Hosting.GrantSiloStorage.Name)] IPersistentState<CascadeMonitorState> state)
    : Grain, ICascadeMonitorGrain
{
    public async Task ReportAsync(PendingCascade pending)
    {
        state.State.Pending[$"{pending.Kind}/{pending.Id}"] = pending;
        await state.WriteStateAsync();
    }

    public async Task ResolveAsync(string kind, string id)
    {
        if (state.State.Pending.Remove($"{kind}/{id}"))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<PendingCascade>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<PendingCascade>>([.. state.State.Pending.Values.OrderBy(p => p.Since)]);
}
