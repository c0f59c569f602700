using GrantSilo.GrainInterfaces;
using Orleans.Runtime;

namespace GrantSilo.WebConsole;

/// <summary>One silo of the cluster as its membership table describes it.</summary>
/// <param name="Name">The silo's name.</param>
/// <param name="Address">Its silo address.</param>
/// <param name="Status">Its membership status (Active, Joining, ShuttingDown, Dead, ...).</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="AliveAt">When it last said it is alive.</param>
/// <param name="IsThisSilo">Whether it is the silo serving the page.</param>
public sealed record SiloHealth(string Name, string Address, string Status, DateTimeOffset StartedAt, DateTimeOffset AliveAt, bool IsThisSilo)
{
    /// <summary>Whether the membership table says it is serving.</summary>
    public bool IsActive => Status == nameof(SiloStatus.Active);
}

/// <summary>
/// The cluster as the overview shows it, read as the signed-in person: every silo from the membership table (through
/// Orleans' management grain) and every silo's decisions per second (<see cref="IDecisionRatesGrain"/>). The door
/// judges both calls as <c>cluster.manage</c> (operators), exactly as for any client.
/// </summary>
public static class ClusterSilos
{
    /// <summary>The cluster's silos, newest first among the dead; a refusal when the person may not read them.</summary>
    public static Task<GrantResult<IReadOnlyList<SiloHealth>>> ReadAsync(IClusterClient cluster, ConsoleCaller caller, SiloAddress thisSilo) =>
        AsCallerAsync(caller, async () =>
        {
            var hosts = await cluster.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false).ConfigureAwait(false);
            return (IReadOnlyList<SiloHealth>)hosts
                .OrderBy(h => h.Status == SiloStatus.Dead)
                .ThenByDescending(h => h.StartTime)
                .Select(h => new SiloHealth(h.SiloName, h.SiloAddress.ToString(), h.Status.ToString(), h.StartTime, h.IAmAliveTime, h.SiloAddress.Equals(thisSilo)))
                .ToList();
        });

    /// <summary>Every silo's latest report of its decisions per second (those gone quiet are left out); a refusal when the person may not read them.</summary>
    public static Task<GrantResult<IReadOnlyList<SiloDecisionRates>>> ReadRatesAsync(IClusterClient cluster, ConsoleCaller caller, CancellationToken cancellationToken) =>
        AsCallerAsync(caller, () => cluster.GetGrain<IDecisionRatesGrain>(0).ListAsync(cancellationToken));

    // The call carries the person's token, so the door authenticates and judges it as theirs.
    private static async Task<GrantResult<T>> AsCallerAsync<T>(ConsoleCaller caller, Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(caller);
        RequestContext.Set(CallerHeaders.Token, CallerHeaders.Encode(caller.Token));
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (CallerRefusedException refused)
        {
            return GrantResult<T>.Fail(refused.Code, refused.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A silo that just died can leave a call unanswered until the cluster notices: the page says so, and the
            // next refresh asks again.
            return GrantResult<T>.Fail(GrantErrorCode.Unavailable, $"The cluster did not answer ({e.GetType().Name}): {e.Message}");
        }
        finally
        {
            RequestContext.Remove(CallerHeaders.Token);
        }
    }
}

/// <summary>The cluster's decisions per second by result over the last minute: summed over the silos serving, and per silo.</summary>
public sealed class ClusterDecisionRates
{
    /// <summary>Per second, oldest first, a count per kind of <see cref="DecisionRate.Columns"/>, summed over the silos counted.</summary>
    public required IReadOnlyList<long[]> Rows { get; init; }

    /// <summary>Each counted silo's totals over the window by kind of <see cref="DecisionRate.Columns"/>, by silo address.</summary>
    public required IReadOnlyDictionary<string, long[]> PerSilo { get; init; }

    /// <summary>
    /// Sums the reports of the silos the membership table says are active (a silo declared dead, or leaving, stops
    /// counting at once, before its last report goes stale) over the <paramref name="seconds"/> whole seconds before
    /// <paramref name="now"/>. Without a membership read, every fresh report counts.
    /// </summary>
    public static ClusterDecisionRates Sum(IReadOnlyList<SiloDecisionRates> reports, IReadOnlyList<SiloHealth>? silos, DateTimeOffset now, int seconds)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var kinds = DecisionRate.Columns;
        var end = now.ToUnixTimeSeconds();
        var counted = reports.Where(r => silos is null || silos.Any(s => s.Address == r.Silo && s.IsActive)).ToList();
        var rows = new List<long[]>(seconds);
        for (var second = end - seconds; second < end; second++)
        {
            var row = new long[kinds.Count];
            foreach (var report in counted)
            {
                for (var k = 0; k < kinds.Count; k++)
                {
                    row[k] += report.CountAt(second, kinds[k]);
                }
            }
            rows.Add(row);
        }
        var perSilo = counted.ToDictionary(
            r => r.Silo,
            r => kinds.Select(k => Enumerable.Range(0, seconds).Sum(i => r.CountAt(end - seconds + i, k))).ToArray(),
            StringComparer.Ordinal);
        return new ClusterDecisionRates { Rows = rows, PerSilo = perSilo };
    }
}
