namespace GrantSilo;

/// <summary>The answer to an authorization request. Deny is the zero value: anything unset fails closed.</summary>
public enum DecisionKind
{
    Deny = 0,
    Allow = 1,
}

/// <summary>Why a decision came out as it did; stable codes for programs and audit.</summary>
public enum DecisionReason
{
    /// <summary>Unset; never returned with Allow.</summary>
    None = 0,
    /// <summary>Every check passed.</summary>
    Allowed = 1,
    /// <summary>The token is not a well-formed GrantSilo token.</summary>
    MalformedToken = 2,
    /// <summary>No credential has the token's id.</summary>
    UnknownCredential = 3,
    /// <summary>The token's secret does not match the credential.</summary>
    InvalidSecret = 4,
    CredentialRevoked = 5,
    CredentialExpired = 6,
    /// <summary>The credential's session ended, expired or went idle.</summary>
    SessionNotActive = 7,
    /// <summary>The credential's agent is suspended or retired.</summary>
    AgentNotActive = 8,
    /// <summary>The task or an ancestor was revoked.</summary>
    TaskRevoked = 9,
    /// <summary>The task or an ancestor was completed.</summary>
    TaskCompleted = 10,
    /// <summary>The task or an ancestor expired.</summary>
    TaskExpired = 11,
    /// <summary>The task or an ancestor is awaiting re-authorization at a checkpoint.</summary>
    TaskAwaitingReauthorization = 12,
    /// <summary>The credential's scope does not cover the action on the resource.</summary>
    ScopeDoesNotCover = 13,
    /// <summary>The resource is more sensitive than the scope allows.</summary>
    ClassificationExceeded = 14,
    /// <summary>The action or resource is malformed.</summary>
    InvalidRequest = 15,
    /// <summary>Policy denied the request.</summary>
    PolicyDenied = 16,
    /// <summary>Something failed while deciding; GrantSilo fails closed.</summary>
    Error = 17,
}

/// <summary>The resource an action targets.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.resource")]
public sealed record ResourceRef
{
    /// <summary>The resource type, as in permissions (<c>repo</c>).</summary>
    [Id(0)] public required string Type { get; init; }
    /// <summary>The concrete path (<c>acme/payments/ledger</c>).</summary>
    [Id(1)] public required string Path { get; init; }
    /// <summary>How sensitive the resource is; unlabelled resources are Internal.</summary>
    [Id(2)] public DataClassification Classification { get; init; } = DataClassification.Internal;
}

/// <summary>A typed authorization decision.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.decision")]
public sealed record Decision
{
    [Id(0)] public DecisionKind Kind { get; init; }
    [Id(1)] public DecisionReason Reason { get; init; }
    /// <summary>A sentence for people; may name the task or node that was not usable.</summary>
    [Id(2)] public string? Detail { get; init; }
    [Id(3)] public string? CredentialId { get; init; }
    [Id(4)] public string? TaskId { get; init; }
    [Id(5)] public string? Agent { get; init; }
    [Id(6)] public DateTimeOffset DecidedAt { get; init; }

    /// <summary>True only for an explicit Allow.</summary>
    public bool IsAllowed => Kind == DecisionKind.Allow && Reason == DecisionReason.Allowed;

    /// <summary>A deny with a reason.</summary>
    public static Decision Deny(DecisionReason reason, string detail, DateTimeOffset at, string? credentialId = null) =>
        new() { Kind = DecisionKind.Deny, Reason = reason, Detail = detail, DecidedAt = at, CredentialId = credentialId };
}
