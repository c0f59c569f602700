using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>A credential, keyed by its id (the token's <c>jti</c>).</summary>
[Alias("grantsilo.ICredentialGrain")]
public interface ICredentialGrain : IGrainWithStringKey
{
    /// <summary>
    /// Decides whether the holder of the token whose secret is <paramref name="secret"/> may do
    /// <paramref name="action"/> on <paramref name="resource"/> now. Any error is a deny.
    /// </summary>
    [AlwaysInterleave, Alias("Authorize"), CallerOperation(CallerOperations.CredentialAuthorize)]
    Task<Decision> AuthorizeAsync([Immutable] byte[] secret, string action, ResourceRef resource, CallerProof? caller = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="AuthorizeAsync(byte[], string, ResourceRef, CallerProof?, CancellationToken)"/>, presenting the approval a
    /// <see cref="DecisionKind.StepUpRequired"/> decision named. When policy requires approval, the
    /// request is allowed only if that approval is approved, unexpired, unused and for exactly this
    /// credential, action and resource; the allow consumes it.
    /// </summary>
    [AlwaysInterleave, Alias("AuthorizeWithApproval"), CallerOperation(CallerOperations.CredentialAuthorize)]
    Task<Decision> AuthorizeWithApprovalAsync([Immutable] byte[] secret, string action, ResourceRef resource, string approvalId, CallerProof? caller = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="AuthorizeAsync(byte[], string, ResourceRef, CallerProof?, CancellationToken)"/> (or, with
    /// <paramref name="approvalId"/>, as <see cref="AuthorizeWithApprovalAsync"/>), for a token presented as
    /// <paramref name="presentation"/> says: with its DPoP proof, for a request, at a resource server. The calls without a
    /// presentation present nothing: a token bound to a key, or issued for a resource, is denied through them.
    /// </summary>
    [AlwaysInterleave, Alias("AuthorizePresented"), CallerOperation(CallerOperations.CredentialAuthorize)]
    Task<Decision> AuthorizePresentedAsync([Immutable] byte[] secret, string action, ResourceRef resource, TokenPresentation presentation, string? approvalId = null, CallerProof? caller = null, CancellationToken cancellationToken = default);

    [AlwaysInterleave, Alias("Get"), CallerOperation(CallerOperations.CredentialRead)]
    Task<GrantResult<CredentialInfo>> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Revokes this credential only.</summary>
    [Alias("Revoke"), CallerOperation(CallerOperations.CredentialRevoke)]
    Task<GrantResult<CredentialInfo>> RevokeAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether the token whose secret is <paramref name="secret"/> is active now and, if not, why; with its task,
    /// agent, session, scope and expiry. A wrong secret gets the answer an unknown credential gets. Any error is
    /// an inactive answer.
    /// </summary>
    [AlwaysInterleave, Alias("Introspect"), CallerOperation(CallerOperations.CredentialIntrospect)]
    Task<TokenIntrospection> IntrospectAsync([Immutable] byte[] secret, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="IntrospectAsync(byte[], CancellationToken)"/>, for a token presented as <paramref name="presentation"/>
    /// says (its DPoP proof, the resource asked about). A bound token without a valid proof, or a token for another
    /// resource, is inactive.
    /// </summary>
    [AlwaysInterleave, Alias("IntrospectPresented"), CallerOperation(CallerOperations.CredentialIntrospect)]
    Task<TokenIntrospection> IntrospectPresentedAsync([Immutable] byte[] secret, TokenPresentation presentation, CancellationToken cancellationToken = default);
}
