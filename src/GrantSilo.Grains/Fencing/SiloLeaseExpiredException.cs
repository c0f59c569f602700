namespace GrantSilo.Grains.Fencing;

/// <summary>
/// Thrown to a caller of any GrantSilo grain on a silo that cannot confirm it is still a live member
/// of its cluster: such a silo may hold stale activations, so it answers nothing. Callers fail closed.
/// It derives from <see cref="OrleansException"/> so a client without this assembly still receives
/// the message.
/// </summary>
[GenerateSerializer, Alias("grantsilo.silo-lease-expired")]
public sealed class SiloLeaseExpiredException : OrleansException
{
    public SiloLeaseExpiredException()
        : this("unknown")
    {
    }

    public SiloLeaseExpiredException(string reason)
        : base($"GrantSilo silo lease expired: this silo cannot confirm it is a live cluster member ({reason}); it refuses to answer from memory.")
    {
    }

    public SiloLeaseExpiredException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
