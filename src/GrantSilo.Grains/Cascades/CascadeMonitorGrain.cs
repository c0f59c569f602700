using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Cascades;

/// <summary>The durable list of cascades awaiting a retry.</summary>
[GenerateSerializer, Alias("grantsilo.cascade-monitor-state")]
public sealed class CascadeMonitorState
{
    [Id(0)] public Dictionary<string, PendingCascade> Pending { get; set; } = [];
}

/// <summary>
/// Keeps the cluster-wide list of pending cascades for operators (query) and dashboards. The list is one
/// stored entity, so it is bounded (<see cref="GrantSiloOptions.MaxPendingCascadesListed"/>): past it, new
/// reports are refused and logged, and each cascade is still retried by its own grain's reminder.
/// </summary>
internal sealed partial class CascadeMonitorGrain(
    [PersistentState("cascades", GrantSiloStorage.Name)] IPersistentState<CascadeMonitorState> state,
    IOptions<GrantSiloOptions> options,
    ILogger<CascadeMonitorGrain> logger)
    : Grain, ICascadeMonitorGrain
{
    public async Task<GrantResult<PendingCascade>> ReportAsync(PendingCascade pending)
    {
        var key = $"{pending.Kind}/{pending.Id}";
        if (!state.State.Pending.ContainsKey(key) && state.State.Pending.Count >= options.Value.MaxPendingCascadesListed)
        {
            LogListFull(logger, pending.Kind, pending.Id, options.Value.MaxPendingCascadesListed);
            return GrantResult<PendingCascade>.Fail(GrantErrorCode.QuotaExceeded, $"The cascade monitor already lists {options.Value.MaxPendingCascadesListed} pending cascades, the limit (GrantSilo:Lifecycle:{nameof(GrantSiloOptions.MaxPendingCascadesListed)}); this one is retried by its reminder all the same.", target: pending.Id);
        }
        state.State.Pending[key] = pending;
        await state.WriteStateAsync();
        return pending;
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

    [LoggerMessage(EventId = (int)LogEvents.CascadeListFull, Level = LogLevel.Warning, Message = "The cascade monitor lists {Limit} pending cascades, the limit; the pending cascade of {Kind} {Id} is not listed (its reminder still retries it)")]
    private static partial void LogListFull(ILogger logger, string kind, string id, int limit);
}
