namespace GrantSilo.Grains.Fencing;

/// <summary>
/// The silo lease of the AzureTable profile. Bound from <c>GrantSilo:Lease</c>. Both values are
/// derived from the cluster's failure-detection settings when unset; see <c>docs/consistency.md</c>.
/// </summary>
public sealed class SiloLeaseOptions
{
    public const string SectionName = "GrantSilo:Lease";

    /// <summary>
    /// How long one confirmation that this silo's membership row is Active lets the silo allow. Must be
    /// shorter than the fastest the cluster can declare a silo dead. Default: half of that time.
    /// </summary>
    public TimeSpan? Duration { get; set; }

    /// <summary>How often the silo re-reads its membership row. Default: a quarter of <see cref="Duration"/>.</summary>
    public TimeSpan? RenewInterval { get; set; }
}
