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
public sealed record SiloHealth(string Name, string Address, string Status, DateTimeOffset StartedAt, DateTimeOffset AliveAt, bool IsThisSilo);

/// <summary>
/// Every silo of the cluster, read from the membership table through Orleans' management grain as the signed-in
/// person: the door judges that call as <c>cluster.manage</c> (operators), exactly as for any client.
/// </summary>
public static class ClusterSilos
{
    /// <summary>The cluster's silos, newest first among the dead; a refusal when the person may not read them.</summary>
    public static async Task<GrantResult<IReadOnlyList<SiloHealth>>> ReadAsync(IClusterClient cluster, ConsoleCaller caller, SiloAddress thisSilo)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(caller);
        RequestContext.Set(CallerHeaders.Token, CallerHeaders.Encode(caller.Token));
        try
        {
            var hosts = await cluster.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false).ConfigureAwait(false);
            return hosts
                .OrderBy(h => h.Status == SiloStatus.Dead)
                .ThenByDescending(h => h.StartTime)
                .Select(h => new SiloHealth(h.SiloName, h.SiloAddress.ToString(), h.Status.ToString(), h.StartTime, h.IAmAliveTime, h.SiloAddress.Equals(thisSilo)))
                .ToList();
        }
        catch (CallerRefusedException refused)
        {
            return GrantResult<IReadOnlyList<SiloHealth>>.Fail(refused.Code, refused.Message);
        }
        finally
        {
            RequestContext.Remove(CallerHeaders.Token);
        }
    }
}
