namespace GrantSilo;

/// <summary>The answer to an authorization request. Deny is the zero value: anything unset fails closed.</summary>
public enum DecisionKind
{
    Deny = 0,
    Allow = 1,
    /// <summary>
    /// Policy permits the request only with a human's approval: the decision carries an approval id;
    /// once a person approves it, the agent retries with that id. Not an allow.
    /// </summary>
    StepUpRequired = 2,
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
    /// <summary>
    /// No credential matches the token: no credential has its id, or its secret is wrong. The two are
    /// deliberately not told apart, so a caller cannot learn which credential ids exist (silo logs tell
    /// them apart at Debug level).
    /// </summary>
    UnknownCredential = 3,
    /// <summary>
    /// No longer returned: a wrong secret is reported as <see cref="UnknownCredential"/>. Kept so the value
    /// keeps its meaning in stored audit records.
    /// </summary>
    InvalidSecret = 4,
    /// <summary>The credential itself was revoked.</summary>
    CredentialRevoked = 5,
    /// <summary>The credential's lifetime ran out.</summary>
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
    /// <summary>
    /// The task or an ancestor is awaiting re-authorization at a checkpoint; the detail names the task to
    /// re-authorize (<c>ReauthorizeTaskAsync</c>) and who may.
    /// </summary>
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
    /// <summary>Policy requires a human's approval; see <see cref="Decision.ApprovalId"/>.</summary>
    StepUpRequired = 18,
    /// <summary>The approval presented has not been decided yet.</summary>
    ApprovalPending = 19,
    /// <summary>A person denied the approval.</summary>
    ApprovalDenied = 20,
    /// <summary>The approval timed out before it was used (a timeout is a deny).</summary>
    ApprovalExpired = 21,
    /// <summary>The approval presented is unknown, already used, or for another credential, action or resource.</summary>
    ApprovalInvalid = 22,
    /// <summary>The caller asking for the decision did not authenticate (no valid caller token): nothing was decided.</summary>
    CallerUnauthenticated = 40,
    /// <summary>The caller asking for the decision may not ask (it lacks the gateway role): nothing was decided.</summary>
    CallerForbidden = 41,
    /// <summary>
    /// The decision's audit record could not be made durable within the bound (the audit store is unavailable,
    /// stalled or its queue is full): GrantSilo fails closed. It recovers by itself when the store returns; retry.
    /// </summary>
    AuditUnavailable = 42,
    /// <summary>
    /// The token failed offline verification at the door: its signature, algorithm, type, key id, issuer or times
    /// (the detail says which, never quoting the token).
    /// </summary>
    TokenNotVerified = 43,
    /// <summary>The credential is bound to a key (<c>cnf.jkt</c>) and no valid DPoP proof by that key came with it.</summary>
    DpopProofInvalid = 44,
    /// <summary>
    /// The credential is bound to a key and its DPoP proof carried no fresh nonce while nonces are required: retry with
    /// the nonce offered (the HTTP door's <c>DPoP-Nonce</c> header).
    /// </summary>
    DpopNonceRequired = 45,
    /// <summary>
    /// The credential was issued for one resource (its <c>aud</c>) and was presented for another, or by a caller that
    /// did not say which resource it serves (<see cref="TokenPresentation.Audience"/>).
    /// </summary>
    AudienceMismatch = 46,
    /// <summary>
    /// The caller asking for the decision made more calls than its rate allows through the silo's gateway
    /// (<c>GrantSilo:Callers</c>): nothing was decided; retry after <see cref="Decision.RetryAfter"/>.
    /// </summary>
    CallerRateLimited = 47,
}

/// <summary>The resource an action targets.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.resource")]
public sealed record ResourceRef
{
    /// <summary>The resource type, as in permissions (<c>repo</c>).</summary>
    [Id(0)] public required string Type { get; init; }
    /// <summary>The concrete path (<c>acme/payments/ledger</c>).</summary>
    [Id(1)] public required string Path { get; init; }
    /// <summary>
    /// How sensitive the caller asserts the resource is. The resource catalog labels it (docs/resource-catalog.md):
    /// an assertion may raise the catalog's classification, never lower it.
    /// </summary>
    [Id(2)] public DataClassification Classification { get; init; } = DataClassification.Internal;

    /// <summary>
    /// Further facts about the resource the caller (the gateway) vouches for; policies read them as
    /// <c>resource.&lt;name&gt;</c>. The catalog's labels take precedence: a catalogued <c>environment</c> replaces
    /// the caller's, and <c>owner</c> only ever comes from the catalog. Names are
    /// lower-case identifiers (<see cref="MaxAttributes"/> at most, none of <c>type</c>, <c>path</c>,
    /// <c>classification</c>, <c>classificationLevel</c>); values are canonical text up to
    /// <see cref="MaxAttributeValueLength"/> characters.
    /// </summary>
    [Id(3)] public IReadOnlyDictionary<string, string>? Attributes { get; init; }

    /// <summary>The most caller-supplied attributes a resource may carry.</summary>
    public const int MaxAttributes = 32;

    /// <summary>The longest attribute value accepted.</summary>
    public const int MaxAttributeValueLength = 256;

    /// <summary>True when both name the same resource with the same classification and attributes.</summary>
    public bool SameAs(ResourceRef? other)
    {
        if (other is null || Type != other.Type || Path != other.Path || Classification != other.Classification)
        {
            return false;
        }
        var mine = Attributes ?? EmptyAttributes;
        var theirs = other.Attributes ?? EmptyAttributes;
        if (mine.Count != theirs.Count)
        {
            return false;
        }
        foreach (var (name, value) in mine)
        {
            if (!theirs.TryGetValue(name, out var theirValue) || !string.Equals(value, theirValue, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyAttributes = new Dictionary<string, string>();
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
    /// <summary>The policy version the request was evaluated against; null when it was refused before policy was consulted.</summary>
    [Id(7)] public long? PolicyVersion { get; init; }
    /// <summary>The ids of the policies that determined the outcome (the satisfied forbids of a deny, the satisfied permits of an allow).</summary>
    [Id(8)] public IReadOnlyList<string> DeterminingPolicies { get; init; } = [];
    /// <summary>For <see cref="DecisionKind.StepUpRequired"/>, the approval a person must decide; for an allow, the approval it used.</summary>
    [Id(9)] public string? ApprovalId { get; init; }
    /// <summary>
    /// The resource catalog version that labelled the resource (docs/resource-catalog.md); null when the request was
    /// refused before it was labelled. A resource that version does not know is said so in <see cref="Detail"/>.
    /// </summary>
    [Id(10)] public long? CatalogVersion { get; init; }
    /// <summary>
    /// The id of this decision's audit record (docs/audit.md): an investigator, or a resource server's own log, looks
    /// the record and its lineage up by it. Null only for a refusal made before any decision (an unauthenticated or
    /// forbidden caller), which is audited under its own id.
    /// </summary>
    [Id(11)] public string? DecisionId { get; init; }

    /// <summary>For <see cref="DecisionReason.CallerRateLimited"/>, how long until the caller may ask again.</summary>
    [Id(12)] public TimeSpan? RetryAfter { get; init; }

    /// <summary>True only for an explicit Allow.</summary>
    public bool IsAllowed => Kind == DecisionKind.Allow && Reason == DecisionReason.Allowed;

    /// <summary>A deny with a reason.</summary>
    public static Decision Deny(DecisionReason reason, string detail, DateTimeOffset at, string? credentialId = null) =>
        new() { Kind = DecisionKind.Deny, Reason = reason, Detail = detail, DecidedAt = at, CredentialId = credentialId };
}
