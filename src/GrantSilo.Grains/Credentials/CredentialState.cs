namespace GrantSilo.Grains.Credentials;

/// <summary>The durable state of a credential grain. Holds a hash of the secret, never the token.</summary>
[GenerateSerializer, Alias("grantsilo.credential-state")]
public sealed class CredentialState
{
    [Id(0)] public string TaskId { get; set; } = "";
    [Id(1)] public string Agent { get; set; } = "";
    [Id(2)] public string SessionId { get; set; } = "";
    [Id(3)] public Scope Scope { get; set; } = Scope.Empty;
    [Id(4)] public DateTimeOffset IssuedAt { get; set; }
    [Id(5)] public DateTimeOffset ExpiresAt { get; set; }
    /// <summary>SHA-256 of the token's secret.</summary>
    [Id(6)] public byte[] SecretHash { get; set; } = [];
    [Id(7)] public CredentialStatus Status { get; set; }
    [Id(8)] public string? StatusReason { get; set; }
    [Id(9)] public DateTimeOffset? EndedAt { get; set; }
    /// <summary>
    /// Why decisions deny now that it ended, when its task or session ended it (TaskCompleted, TaskRevoked,
    /// TaskExpired, SessionNotActive); null for its own revocation or expiry.
    /// </summary>
    [Id(10)] public DecisionReason? EndCause { get; set; }
    /// <summary>The task's ancestors, root first, when the credential was issued (for its audit records' lineage).</summary>
    [Id(11)] public List<string> TaskAncestors { get; set; } = [];
    [Id(12)] public string RootPerson { get; set; } = "";
    [Id(13)] public string Orchestrator { get; set; } = "";
    /// <summary>The thumbprint of the key the token is bound to (its <c>cnf.jkt</c>); null for a bearer token.</summary>
    [Id(14)] public string? ConfirmationThumbprint { get; set; }
    /// <summary>The resource the token was issued for (its <c>aud</c>); null when issued for no resource in particular.</summary>
    [Id(15)] public string? Audience { get; set; }
    /// <summary>
    /// The one agent a delegation proved with this credential may name (its <c>may_act.sub</c>); null when any may be
    /// named, and for credentials issued before it was recorded.
    /// </summary>
    [Id(16)] public string? MayAct { get; set; }
}
