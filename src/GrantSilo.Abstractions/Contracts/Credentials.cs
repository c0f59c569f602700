namespace GrantSilo;

/// <summary>Where a credential is in its life.</summary>
public enum CredentialStatus
{
    Active = 0,
    Revoked = 1,
    Expired = 2,
}

/// <summary>An agent asks, within its session, for a credential for a task it is assigned to.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.issue-credential")]
public sealed record IssueCredentialRequest
{
    [Id(0)] public required string TaskId { get; init; }
    /// <summary>A narrower scope than the task's; null for the task's whole scope.</summary>
    [Id(1)] public Scope? Scope { get; init; }
    /// <summary>
    /// How long the credential lives; null for the configured maximum (<c>GrantSilo:Lifecycle:MaxCredentialLifetime</c>).
    /// Above that maximum, or not positive, it is refused with <see cref="GrantErrorCode.LifetimeInvalid"/>; a
    /// credential never outlives its task or its session, so it is capped by them, and
    /// <see cref="IssuedCredential.ExpiresAt"/> says when it ends.
    /// </summary>
    [Id(2)] public TimeSpan? Lifetime { get; init; }
    /// <summary>
    /// The resource the credential is for (an RFC 8707 resource indicator: an absolute URI without a fragment), which
    /// becomes its <c>aud</c>; null for the deployment's default audience (<c>GrantSilo:Tokens:DefaultAudience</c>).
    /// </summary>
    [Id(3)] public string? Resource { get; init; }
    /// <summary>
    /// Binds the credential to the holder's key (DPoP, RFC 9449): the RFC 7638 thumbprint of its public key, which
    /// becomes the token's <c>cnf.jkt</c>. A bound token is accepted only with a DPoP proof signed by that key.
    /// </summary>
    [Id(4)] public string? DpopKeyThumbprint { get; init; }
    /// <summary>
    /// The one agent this credential may be exchanged for (RFC 8693 <c>may_act</c>): the credential records it, and
    /// GrantSilo refuses any delegation proved with it (a token exchange, <c>DelegateAsync</c>, the delegation route) that
    /// names another agent (<see cref="GrantErrorCode.InvalidProof"/>). Null lets any agent the task may delegate to.
    /// </summary>
    [Id(5)] public string? MayAct { get; init; }
}

/// <summary>
/// How a credential token reached the one asking GrantSilo about it (a gateway, a resource server): the DPoP proof that
/// came with it and the request it came on, and the resource the asker serves. GrantSilo checks the proof itself (the
/// same checker as at its HTTP door) and the audience against the token's <c>aud</c>. A token bound to a key
/// (<c>cnf.jkt</c>) is denied without a valid proof; a token issued for a resource is denied unless
/// <see cref="Audience"/> is that resource.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.token-presentation")]
public sealed record TokenPresentation
{
    /// <summary>Nothing presented beside the token: a bearer token for no resource in particular.</summary>
    public static TokenPresentation None { get; } = new();

    /// <summary>The DPoP proof JWT that came with the token (the request's <c>DPoP</c> header), if any.</summary>
    [Id(0)] public string? DpopProof { get; init; }

    /// <summary>The method of the request the token and proof came on (<c>GET</c>); required with <see cref="DpopProof"/>.</summary>
    [Id(1)] public string? Method { get; init; }

    /// <summary>The absolute URL of that request (scheme, host and path; a query is ignored); required with <see cref="DpopProof"/>.</summary>
    [Id(2)] public string? Url { get; init; }

    /// <summary>
    /// The resource the asker serves (an RFC 8707 resource indicator, as given at issuance): a token issued for another
    /// resource is denied (<see cref="DecisionReason.AudienceMismatch"/>).
    /// </summary>
    [Id(3)] public string? Audience { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"TokenPresentation {{ DpopProof = {(DpopProof is null ? "none" : "***")}, Method = {Method}, Url = {Url}, Audience = {Audience} }}";
}

/// <summary>
/// A newly minted credential, the only time its token is ever returned. <see cref="ToString"/>
/// never shows the token.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.issued-credential")]
public sealed record IssuedCredential
{
    [Id(0)] public required string CredentialId { get; init; }
    /// <summary>The bearer token. Keep it secret; GrantSilo stores only a hash of it.</summary>
    [Id(1)] public required string Token { get; init; }
    [Id(2)] public required string TaskId { get; init; }
    [Id(3)] public required string Agent { get; init; }
    [Id(4)] public required string SessionId { get; init; }
    [Id(5)] public required Scope Scope { get; init; }
    [Id(6)] public DateTimeOffset IssuedAt { get; init; }
    [Id(7)] public DateTimeOffset ExpiresAt { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"IssuedCredential {{ CredentialId = {CredentialId}, Token = ***, TaskId = {TaskId}, Agent = {Agent}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>What GrantSilo knows about a credential (never its token).</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.credential-info")]
public sealed record CredentialInfo
{
    [Id(0)] public required string CredentialId { get; init; }
    [Id(1)] public required string TaskId { get; init; }
    [Id(2)] public required string Agent { get; init; }
    [Id(3)] public required string SessionId { get; init; }
    [Id(4)] public required Scope Scope { get; init; }
    [Id(5)] public DateTimeOffset IssuedAt { get; init; }
    [Id(6)] public DateTimeOffset ExpiresAt { get; init; }
    /// <summary>The status as of <see cref="ObservedAt"/> (expiry applied even before a tick enacts it).</summary>
    [Id(7)] public CredentialStatus Status { get; init; }
    [Id(8)] public string? StatusReason { get; init; }
    [Id(9)] public DateTimeOffset ObservedAt { get; init; }
    /// <summary>When it ended: when it was revoked (or its task or session ended), or for an expiry the instant it expired, even if that was enacted later.</summary>
    [Id(10)] public DateTimeOffset? EndedAt { get; init; }
    /// <summary>The one resource it was issued for (its <c>aud</c>, RFC 8707), or null when it was issued for none in particular.</summary>
    [Id(11)] public string? Audience { get; init; }
    /// <summary>The RFC 7638 thumbprint of the key it is bound to (its <c>cnf.jkt</c>, DPoP), or null for a bearer credential.</summary>
    [Id(12)] public string? KeyThumbprint { get; init; }
}

/// <summary>
/// What introspecting a token says: whether it is active now and, if not, why (a <see cref="DecisionReason"/>:
/// <see cref="DecisionReason.Allowed"/> when active). The facts about the credential are given only to a holder of
/// its token: a token with a wrong secret gets exactly the answer an unknown one gets. Never holds the secret.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.token-introspection")]
public sealed record TokenIntrospection
{
    /// <summary>True when the credential, its session, its task chain and every agent along it are usable now.</summary>
    [Id(0)] public bool Active { get; init; }
    /// <summary>Why not active (<see cref="DecisionReason.Allowed"/> when active).</summary>
    [Id(1)] public DecisionReason Reason { get; init; }
    [Id(2)] public string? CredentialId { get; init; }
    [Id(3)] public string? TaskId { get; init; }
    [Id(4)] public string? Agent { get; init; }
    [Id(5)] public string? SessionId { get; init; }
    [Id(6)] public Scope? Scope { get; init; }
    [Id(7)] public DateTimeOffset? IssuedAt { get; init; }
    [Id(8)] public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>When the answer was given.</summary>
    [Id(9)] public DateTimeOffset ObservedAt { get; init; }

    /// <summary>The answer for a malformed, forged or unknown token: inactive, and nothing else.</summary>
    public static TokenIntrospection Unknown(DecisionReason reason, DateTimeOffset at) =>
        new() { Active = false, Reason = reason, ObservedAt = at };
}
