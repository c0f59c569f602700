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
}
