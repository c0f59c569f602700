namespace GrantSilo.Grains.Hosting;

/// <summary>
/// The keyed <see cref="TimeProvider"/> GrantSilo's grains decide with. It is keyed so tests can
/// substitute a fake clock for grant lifetimes without changing the clock Orleans itself runs on
/// (membership, timers, response timeouts).
/// </summary>
public static class GrantSiloTime
{
    /// <summary>The service key.</summary>
    public const string ServiceKey = "grantsilo";

    /// <summary>
    /// The key of the monotonic clock decision leases are measured on (the system clock unless a test
    /// substitutes one). It never decides validity; it only bounds how long a holder may rely on an answer.
    /// </summary>
    public const string LeaseClockKey = "grantsilo-leases";

    /// <summary>
    /// How far two silos' clocks may disagree when one grain checks an instant another computed (a child task's
    /// or a credential's expiry against the configured maximum lifetime). Only loosens those re-checks; every
    /// bound that comes from another grain's stored instant (a parent's or a task's expiry) is exact.
    /// </summary>
    internal static readonly TimeSpan SpecClockSkew = TimeSpan.FromMinutes(1);
}
