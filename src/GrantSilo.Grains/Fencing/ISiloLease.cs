namespace GrantSilo.Grains.Fencing;

/// <summary>
/// Fencing for the decision path. An activation answers from memory, and after a silo crash or
/// pause Orleans can briefly run two activations of one grain; a silo that was declared dead but has
/// not noticed yet must not keep allowing what the surviving cluster has revoked. Before returning
/// Allow, a credential asks the lease whether this silo is still known to be a live member of the
/// cluster; if not, the decision is a deny (fail closed).
/// </summary>
public interface ISiloLease
{
    /// <summary>True when this silo may still allow; otherwise <paramref name="reason"/> says why not.</summary>
    bool IsValid(out string? reason);
}
