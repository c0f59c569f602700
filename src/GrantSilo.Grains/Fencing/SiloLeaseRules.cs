using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GrantSilo.Grains.Fencing;

// A stale activation's last decision lease was granted before its silo lease lapsed (death + L); the
// new activation registers after the directory's hold (death + 1.5 L) and outwaits one decision lease
// from then. The half silo lease between them must absorb how far two monotonic clocks can drift
// apart over a decision lease (2 x rate difference x lease), so the decision lease may not be longer
// than L / (4 x rate difference), 25 L at the assumed 1%.
internal sealed class DecisionLeaseFitsSiloLease(IOptions<ClusterMembershipOptions> membership, IOptions<SiloLeaseOptions> lease) : IValidateOptions<GrantSiloOptions>
{
    public ValidateOptionsResult Validate(string? name, GrantSiloOptions options)
    {
        var timing = SiloLeaseTiming.From(membership.Value, lease.Value);
        var longest = timing.MaxDecisionLeaseDuration;
        return options.DecisionLeaseDuration <= longest
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{GrantSiloOptions.SectionName}:{nameof(GrantSiloOptions.DecisionLeaseDuration)} ({options.DecisionLeaseDuration}) is longer than the silo lease allows ({longest} = " +
                $"{SiloLeaseOptions.SectionName}:Duration {timing.Duration} / (4 x {GrantSiloOptions.MaxClockRateDifference:P0} clock-rate difference)). Shorten the decision lease, or lengthen the silo lease " +
                $"through {SiloLeaseOptions.SectionName}:Duration or the cluster membership options MinProbeTimeout and NumMissedProbesLimit.");
    }
}

// The directory's hold on a dead silo's grains must outlast the silo lease by half a lease (docs/consistency.md), and
// need not be longer: every GrantSilo call on a silo whose lease lapsed is refused, so once the hold is over no stale
// activation can answer. Orleans' default (30 s, which after a restart holds every grain for about 14 s with its
// default probe timing) is replaced by exactly what the lease needs; a longer hold set in code is kept.
internal sealed class DirectoryHoldOutlastsLease(IOptions<ClusterMembershipOptions> membership, IOptions<SiloLeaseOptions> lease) : IPostConfigureOptions<GrainDirectoryOptions>
{
    public void PostConfigure(string? name, GrainDirectoryOptions options)
    {
        var required = SiloLeaseTiming.From(membership.Value, lease.Value).RequiredRangeLeaseDuration;
        if (options.RangeLeaseDuration < required || options.RangeLeaseDuration == GrainDirectoryOptions.DEFAULT_RANGE_LEASE_DURATION)
        {
            options.RangeLeaseDuration = required;
        }
    }
}

/// <summary>Stands in for the lease's renewal loop when a host registered a lease of its own.</summary>
internal sealed class NoParticipant : ILifecycleParticipant<ISiloLifecycle>
{
    public static readonly NoParticipant Instance = new();

    public void Participate(ISiloLifecycle lifecycle)
    {
    }
}
