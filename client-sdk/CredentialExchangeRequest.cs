namespace GrantSilo.Client;

/// <summary>
/// A token exchange (RFC 8693), as <c>POST /oauth2/token</c> takes it: a planner exchanges its credential (the subject
/// token) and its worker's workload identity (the actor token) for the worker's narrower credential. The client that
/// sends it calls as the planner. <see cref="ToString"/> never shows a token.
/// </summary>
public sealed record CredentialExchangeRequest
{
    /// <summary>The planner's credential (<c>subject_token</c>): a live credential of the task the worker's is delegated from.</summary>
    public required string SubjectToken { get; init; }

    /// <summary>
    /// How the subject token came (<c>DPoP</c> proof, method and URL): required when the subject token is bound to a key
    /// (<c>cnf.jkt</c>), or the exchange is refused with <see cref="GrantErrorCode.InvalidProof"/>.
    /// </summary>
    public TokenPresentation? SubjectPresentation { get; init; }

    /// <summary>The worker's workload id (a SPIFFE ID): the agent the child task and its credential are for.</summary>
    public required string Actor { get; init; }

    /// <summary>
    /// The worker's own identity token (<c>actor_token</c>: its JWT-SVID or OIDC token). The worker's session is opened
    /// and its credential issued with it, so the exchange succeeds only if it proves <see cref="Actor"/>.
    /// </summary>
    public required string ActorToken { get; init; }

    /// <summary>
    /// The worker's scope (<c>scope</c>, <c>max_classification</c>, <c>delegation_depth</c>); null for the subject token's
    /// permissions and classification with no further delegation. Wider than the subject's is refused, never trimmed.
    /// </summary>
    public Scope? Scope { get; init; }

    /// <summary>The worker token's audience (<c>resource</c>, RFC 8707); null for the deployment's default.</summary>
    public string? Resource { get; init; }

    /// <summary>
    /// How long the worker's credential lives (<c>requested_lifetime</c>); null for the subject token's remaining life.
    /// Past the subject token's expiry it is refused with <see cref="GrantErrorCode.LifetimeExceedsParent"/>.
    /// </summary>
    public TimeSpan? Lifetime { get; init; }

    /// <summary>Binds the worker's credential to the worker's key (<c>dpop_jkt</c>): its RFC 7638 thumbprint.</summary>
    public string? DpopKeyThumbprint { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"CredentialExchangeRequest {{ SubjectToken = {CredentialToken.Redact(SubjectToken)}, Actor = {Actor}, ActorToken = ***, Scope = {Scope}, Resource = {Resource}, Lifetime = {Lifetime} }}";
}
