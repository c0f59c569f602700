namespace GrantSilo.Grains.Decisions;

/// <summary>
/// The structured, server-side facts a policy decides on. Built only from GrantSilo's own state; a
/// task's purpose text is deliberately absent (it is attacker-writable and never evidence).
/// </summary>
public sealed record AccessFacts
{
    public required string CredentialId { get; init; }
    public required string TaskId { get; init; }
    public required string RootTaskId { get; init; }
    public required string Agent { get; init; }
    public required string RootPerson { get; init; }
    public required int DelegationDepth { get; init; }
    public required string Action { get; init; }
    public required ResourceRef Resource { get; init; }
    public required DateTimeOffset Now { get; init; }
    public required DateTimeOffset SessionStartedAt { get; init; }
    public required DateTimeOffset CredentialIssuedAt { get; init; }
}

/// <summary>What a policy says about a request that passed the credential, chain and scope checks.</summary>
public readonly record struct PolicyVerdict(bool Allowed, string? Detail = null)
{
    /// <summary>The verdict of a policy that adds no restriction.</summary>
    public static PolicyVerdict Allow { get; } = new(true);
}

/// <summary>
/// The policy decision point, consulted on every decision after the credential, task-chain and scope
/// checks pass. The default adds no restriction (the scope is the policy); the policy-as-code engine
/// plugs in here. An exception is a deny.
/// </summary>
public interface IAccessPolicy
{
    ValueTask<PolicyVerdict> EvaluateAsync(AccessFacts facts, CancellationToken cancellationToken);
}

/// <summary>The default policy: the credential's scope is the whole policy.</summary>
public sealed class ScopeOnlyAccessPolicy : IAccessPolicy
{
    /// <inheritdoc />
    public ValueTask<PolicyVerdict> EvaluateAsync(AccessFacts facts, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyVerdict.Allow);
}
