
namespace GrantSilo.Grains.Fencing;

/// <summary>
/// Fences every GrantSilo grain on this silo with the silo lease: a call arriving while the lease is
/// not valid fails before the grain runs. The credential grain checks the lease again right before an
/// Allow; this filter also covers the task, session and agent answers an Allow is built from, which a
/// stale activation could otherwise give from memory. Methods marked <see cref="RunsWhenFencedAttribute"/>
/// (they only take permission away) still run.
/// </summary>
internal sealed class SiloLeaseCallFilter(ISiloLease lease) : IIncomingGrainCallFilter
{
    private static readonly System.Reflection.Assembly GrainsAssembly = typeof(GrantSilo.Grains.Hosting.GrantSiloStorage).Assembly;

    public Task Invoke(IIncomingGrainCallContext context)
    {
        Check(context);
        return context.Invoke();
    }

    /// <summary>Throws <see cref="SiloLeaseExpiredException"/> when the call may not run on this silo now.</summary>
    public void Check(IIncomingGrainCallContext context)
    {
        // The lease first: it is two field reads, and the mark is looked up only on a fenced silo.
        if (context.Grain?.GetType().Assembly == GrainsAssembly
            && !lease.IsValid(out var reason)
            && !(context.InterfaceMethod?.IsDefined(typeof(RunsWhenFencedAttribute), inherit: false) ?? false))
        {
            throw new SiloLeaseExpiredException(reason ?? "unknown");
        }
    }
}
