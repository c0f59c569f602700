using Orleans.Configuration;

namespace GrantSilo.Grains.Fencing;

/// <summary>
/// The lease arithmetic, in one place. Orleans declares a silo dead only after
/// <see cref="ClusterMembershipOptions.NumMissedProbesLimit"/> probes have timed out, and a probe
/// times out no sooner than <see cref="ClusterMembershipOptions.MinProbeTimeout"/>; so the fastest the
/// cluster can declare a paused or crashed silo dead is <see cref="FastestDeathDeclaration"/>. The lease
/// is strictly shorter than that. Independently, the distributed grain directory holds a dead silo's
/// grains for <c>GrainDirectoryOptions.RangeLeaseDuration</c> minus Orleans' failure-detection window
/// (<see cref="FailureDetectionWindow"/>) after the death is declared; the profile raises the range lease
/// so that hold outlasts the silo lease (<see cref="RequiredRangeLeaseDuration"/>).
/// </summary>
public sealed record SiloLeaseTiming(TimeSpan Duration, TimeSpan RenewInterval, TimeSpan FastestDeathDeclaration, TimeSpan FailureDetectionWindow)
{
    /// <summary>The smallest range lease that makes the directory's hold on a dead silo's grains outlast this silo lease, with half a lease of margin for clock-rate differences.</summary>
    public TimeSpan RequiredRangeLeaseDuration => FailureDetectionWindow + Duration + Duration / 2;

    /// <summary>
    /// The longest decision lease this silo lease supports: the directory's spare half lease must absorb
    /// two monotonic clocks drifting apart over one decision lease.
    /// </summary>
    public TimeSpan MaxDecisionLeaseDuration => Duration / (4 * GrantSilo.Grains.Hosting.GrantSiloOptions.MaxClockRateDifference);

    /// <summary>How long the directory holds a dead silo's grains after it is declared dead, given <paramref name="rangeLeaseDuration"/>.</summary>
    public TimeSpan DirectoryHoldAfterDeclaration(TimeSpan rangeLeaseDuration) =>
        rangeLeaseDuration > FailureDetectionWindow ? rangeLeaseDuration - FailureDetectionWindow : TimeSpan.Zero;

    /// <summary>Derives the lease from the membership settings; throws with a fix when a configured duration is unsafe.</summary>
    public static SiloLeaseTiming From(ClusterMembershipOptions membership, SiloLeaseOptions lease)
    {
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(lease);
        var fastest = membership.MinProbeTimeout * membership.NumMissedProbesLimit;
        var window = membership.MaxProbeTimeout * membership.NumMissedProbesLimit;
        var duration = lease.Duration ?? fastest / 2;
        if (duration <= TimeSpan.Zero || duration >= fastest)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(SiloLeaseOptions.SectionName, typeof(SiloLeaseOptions),
                [$"{SiloLeaseOptions.SectionName}:Duration ({duration}) must be positive and shorter than the fastest the cluster can declare a silo dead ({fastest} = MinProbeTimeout {membership.MinProbeTimeout} x NumMissedProbesLimit {membership.NumMissedProbesLimit}); leave it unset to use half of that."]);
        }
        var renew = lease.RenewInterval ?? duration / 4;
        if (renew <= TimeSpan.Zero || renew >= duration)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(SiloLeaseOptions.SectionName, typeof(SiloLeaseOptions),
                [$"{SiloLeaseOptions.SectionName}:RenewInterval ({renew}) must be positive and shorter than the lease ({duration}); leave it unset to use a quarter of the lease."]);
        }
        return new SiloLeaseTiming(duration, renew, fastest, window);
    }
}
