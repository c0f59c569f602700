using GrantSilo.Grains.Audit;
using GrantSilo.Grains.Decisions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Hosting;

/// <summary>
/// What every lifecycle grain (agent, task, session, credential) is given: the clock that decides
/// validity, the monotonic clock decision leases are counted on, the lifecycle options, and the silo
/// lease that says whether this silo may still answer for the cluster.
/// </summary>
internal sealed class LifecycleServices(
    [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time,
    [FromKeyedServices(GrantSiloTime.LeaseClockKey)] TimeProvider leaseClock,
    IOptions<GrantSiloOptions> options,
    ISiloLease siloLease,
    IAuditTrail audit,
    AuditKeys auditKeys,
    ILocalSiloDetails silo) : IDisposable
{
    /// <summary>Where decisions and lifecycle events are recorded.</summary>
    public IAuditTrail Audit { get; } = audit;

    /// <summary>The audit log's keys (the token hash key among them).</summary>
    public AuditKeys AuditKeys { get; } = auditKeys;

    /// <summary>This silo's name, as records name it.</summary>
    public string SiloName { get; } = silo.Name;

    public TimeProvider Time { get; } = time;

    public TimeProvider LeaseClock { get; } = leaseClock;

    public GrantSiloOptions Options { get; } = options.Value;

    public ISiloLease SiloLease { get; } = siloLease;

    /// <summary>The silo's slots for background cascade steps (<see cref="GrantSiloOptions.MaxConcurrentCascadeSteps"/>).</summary>
    public Lifecycle.CascadeStepSlots CascadeSteps { get; } = new(options.Value.MaxConcurrentCascadeSteps, leaseClock);

    public void Dispose() => CascadeSteps.Dispose();
}
