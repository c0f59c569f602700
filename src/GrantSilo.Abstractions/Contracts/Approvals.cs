namespace GrantSilo;

/// <summary>Where a step-up approval is in its life. Every state but Pending and Approved is final.</summary>
public enum ApprovalStatus
{
    /// <summary>Waiting for a person to decide.</summary>
    Pending = 0,
    /// <summary>A person approved it; the agent may use it once, before it expires.</summary>
    Approved = 1,
    /// <summary>A person denied it.</summary>
    Denied = 2,
    /// <summary>It was not decided, or not used, before its deadline (a timeout is a deny).</summary>
    Expired = 3,
    /// <summary>An allow consumed it; it can never be used again.</summary>
    Used = 4,
}

/// <summary>
/// A request for a person's approval of exactly one (credential, action, resource). Carries only
/// structured facts — never the task's purpose text.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.approval-info")]
public sealed record ApprovalInfo
{
    [Id(0)] public required string ApprovalId { get; init; }
    [Id(1)] public required string CredentialId { get; init; }
    [Id(2)] public required string TaskId { get; init; }
    [Id(3)] public required string Agent { get; init; }
    /// <summary>The accountable person of the task tree.</summary>
    [Id(4)] public required string RootPerson { get; init; }
    [Id(5)] public required string Action { get; init; }
    [Id(6)] public required ResourceRef Resource { get; init; }
    /// <summary>The policy version that required the approval.</summary>
    [Id(7)] public long PolicyVersion { get; init; }
    /// <summary>The policies that asked for approval.</summary>
    [Id(8)] public IReadOnlyList<string> ApprovalPolicies { get; init; } = [];
    [Id(9)] public DateTimeOffset RequestedAt { get; init; }
    /// <summary>When it times out: a pending or unused approval after this instant is a deny.</summary>
    [Id(10)] public DateTimeOffset ExpiresAt { get; init; }
    /// <summary>The status as of <see cref="ObservedAt"/> (expiry applied even before a tick enacts it).</summary>
    [Id(11)] public ApprovalStatus Status { get; init; }
    /// <summary>The person who approved or denied it.</summary>
    [Id(12)] public string? DecidedBy { get; init; }
    [Id(13)] public DateTimeOffset? DecidedAt { get; init; }
    /// <summary>The approver's comment or reason.</summary>
    [Id(14)] public string? Note { get; init; }
    [Id(15)] public DateTimeOffset? UsedAt { get; init; }
    [Id(16)] public DateTimeOffset ObservedAt { get; init; }
    /// <summary>The trusted issuer that vouched for the approver (null for a decision made inside the cluster).</summary>
    [Id(17)] public string? DecidedByIssuer { get; init; }
    /// <summary>The approver's subject at that issuer.</summary>
    [Id(18)] public string? DecidedBySubject { get; init; }
}
