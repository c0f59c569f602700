using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace GrantSilo.Grains.Diagnostics;

/// <summary>
/// Holds each silo's latest report of its decisions per second (in memory: the figures are a minute long and every
/// silo sends them again each second, so a reactivation elsewhere after a silo failure is full again at once).
/// </summary>
internal sealed class DecisionRatesGrain([FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time) : Grain, IDecisionRatesGrain
{
    private readonly Dictionary<string, SiloDecisionRates> _reports = new(StringComparer.Ordinal);

    public Task ReportAsync(SiloDecisionRates rates)
    {
        ArgumentNullException.ThrowIfNull(rates);
        _reports[rates.Silo] = rates with { ReceivedAt = time.GetUtcNow() };
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SiloDecisionRates>> ListAsync(CancellationToken cancellationToken = default)
    {
        var oldest = time.GetUtcNow() - SiloDecisionRates.StaleAfter;
        // A silo that stopped reporting is forgotten: a dead silo's figures stop counting.
        foreach (var stale in _reports.Where(r => r.Value.ReceivedAt < oldest).Select(r => r.Key).ToList())
        {
            _reports.Remove(stale);
        }
        return Task.FromResult<IReadOnlyList<SiloDecisionRates>>([.. _reports.Values.OrderBy(r => r.SiloName, StringComparer.Ordinal)]);
    }
}
