namespace GrantSilo.Grains.Decisions;

/// <summary>
/// The structured, server-side facts a policy decides on. Built only from GrantSilo's own state and
/// the gateway's description of the resource; a task's purpose text is deliberately absent (it is
/// attacker-writable and never evidence).
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
    /// <summary>The resource, its path canonical and its attributes validated.</summary>
    public required ResourceRef Resource { get; init; }
    public required DateTimeOffset Now { get; init; }
    public required DateTimeOffset SessionStartedAt { get; init; }
    public required DateTimeOffset CredentialIssuedAt { get; init; }
    /// <summary>The agent's accountable owner.</summary>
    public string AgentOwner { get; init; } = "";
    /// <summary>The agent's registered attributes.</summary>
    public IReadOnlyDictionary<string, string> AgentAttributes { get; init; } = new Dictionary<string, string>();
    /// <summary>The agent's registered groups.</summary>
    public IReadOnlyList<string> AgentGroups { get; init; } = [];

    /// <summary>
    /// Optional: an immutable object whose identity stands for the agent's owner, attributes and groups
    /// above (the registration they were read from). A policy may keep what it builds from them under
    /// this key, so a warm credential does not rebuild its principal on every decision.
    /// </summary>
    public object? AgentKey { get; init; }
}

/// <summary>What a policy says about a request that passed the credential, chain and scope checks.</summary>
public sealed record PolicyVerdict(bool Allowed, string? Detail = null)
{
    /// <summary>The policy version evaluated, when the policy is versioned.</summary>
    public long? PolicyVersion { get; init; }

    /// <summary>The ids of the policies that determined the verdict.</summary>
    public IReadOnlyList<string> DeterminingPolicies { get; init; } = [];

    /// <summary>The determining permit policies that demand a person's approval; non-empty means step-up.</summary>
    public IReadOnlyList<string> ApprovalPolicies { get; init; } = [];

    /// <summary>True when the policy could not be evaluated at all (no confirmed policy version); the decision is an error deny.</summary>
    public bool Unavailable { get; init; }

    /// <summary>True when the request is allowed only with a person's approval.</summary>
    public bool RequiresApproval => Allowed && ApprovalPolicies.Count > 0;
}

/// <summary>
/// The policy decision point, consulted on every decision after the credential, task-chain and scope
/// checks pass, and by tasks re-checking their scope at checkpoints. The default evaluates the active
/// Cedar policy set (<see cref="Policies.CedarAccessPolicy"/>). An exception is a deny.
/// </summary>
public interface IAccessPolicy
{
    ValueTask<PolicyVerdict> EvaluateAsync(AccessFacts facts, CancellationToken cancellationToken);
}
