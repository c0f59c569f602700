using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Tokens;
using GrantSilo.Identity.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using GrantSilo.Client;

namespace GrantSilo.Http;

/// <summary>
/// The HTTP door's check of a credential token before the online checks: the token is verified offline (signature by a
/// published key of the credentials ring, ES256, <c>at+jwt</c>, this deployment's issuer, its times), then passed on
/// with how it was presented: the DPoP proof that came with it and the request it names (this one, or the one a gateway
/// forwards), and the resource the asker serves (<see cref="AudienceHeader"/>). The credential grain checks the proof and
/// the audience, as it does for the SDK: one checker for every door. A refusal is a deny the caller can act on, logged
/// with its reason and never the token.
/// </summary>
internal sealed partial class CredentialDoor(CredentialTokenVerifier verifier, DpopProofVerifier dpop, IOptions<DpopOptions> dpopOptions, [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time, ILogger<CredentialDoor> logger, CallerAccess access)
{
    // What a refusal of the caller names as asked about, in the log and the audit record: no credential was found.
    private const string UnverifiedTarget = "credential (token not verified here)";

    /// <summary>The request header that carries a DPoP proof.</summary>
    public const string DpopHeader = "DPoP";

    /// <summary>
    /// The resource the asker (a gateway, a resource server) serves: a token issued for a resource (its <c>aud</c>) is
    /// accepted online only when this names that resource.
    /// </summary>
    public const string AudienceHeader = "GrantSilo-Audience";

    /// <summary>Decides as the SDK's <c>AuthorizeAsync</c> does, for a token presented at this door.</summary>
    public async Task<Decision> AuthorizeAsync(HttpContext http, IGrantClient client, string? token, string action, ResourceRef resource, string? approvalId)
    {
        var (refused, presentation, verified) = await CheckTokenAsync(http, token).ConfigureAwait(false);
        if (refused is not null)
        {
            // Only a caller that may ask at all is told why the token is refused; any other is refused itself, as the
            // door would refuse it (a deny saying so, which the endpoints answer 403).
            return await RefuseCallerAsync(http, CallerOperations.CredentialAuthorize).ConfigureAwait(false) is { } forbidden
                ? Decision.Deny(DecisionReason.CallerForbidden, forbidden.Message, time.GetUtcNow())
                : refused;
        }
        // A bearer token presented with nothing beside it (the common case) takes the plain call: nothing more to carry.
        // The HTTP API's own client is given the credential id and secret remembered with the token's verification.
        var plain = ReferenceEquals(presentation, TokenPresentation.None);
        var decision = client is GrantClient direct && verified.Secret is { } secret
            ? await direct.AuthorizeVerifiedAsync(verified.CredentialId, secret, action, resource, plain ? null : presentation, approvalId, http.RequestAborted).ConfigureAwait(false)
            : !plain
            ? await client.AuthorizeAsync(token!, action, resource, presentation!, approvalId, http.RequestAborted).ConfigureAwait(false)
            : approvalId is null
            ? await client.AuthorizeAsync(token!, action, resource, http.RequestAborted).ConfigureAwait(false)
            : await client.AuthorizeAsync(token!, action, resource, approvalId, http.RequestAborted).ConfigureAwait(false);
        Challenge(http, decision.Reason);
        return decision;
    }

    /// <summary>Introspects as the SDK's <c>IntrospectAsync</c> does, for a token presented at this door.</summary>
    public async Task<GrantResult<TokenIntrospection>> IntrospectAsync(HttpContext http, IGrantClient client, string? token)
    {
        var (refused, presentation) = await CheckAsync(http, token).ConfigureAwait(false);
        if (refused is not null)
        {
            return await RefuseCallerAsync(http, CallerOperations.CredentialIntrospect).ConfigureAwait(false) is { } forbidden
                ? GrantResult<TokenIntrospection>.Fail(forbidden)
                : TokenIntrospection.Unknown(refused.Reason, refused.DecidedAt);
        }
        var answer = ReferenceEquals(presentation, TokenPresentation.None)
            ? await client.IntrospectAsync(token!, http.RequestAborted).ConfigureAwait(false)
            : await client.IntrospectAsync(token!, presentation!, http.RequestAborted).ConfigureAwait(false);
        if (answer.IsSuccess)
        {
            Challenge(http, answer.Value.Reason);
        }
        return answer;
    }

    /// <summary>
    /// The door's refusal of the caller for <paramref name="operation"/>, or null when it may ask. Asked only when the
    /// answer about the token is made here, without a grain call: a token that reaches the credential grain passes the
    /// door there (the busy path adds nothing). The rules for these operations see the caller alone, so the answer is
    /// the door's for any credential.
    /// </summary>
    private ValueTask<GrantError?> RefuseCallerAsync(HttpContext http, string operation) =>
        HttpCaller.Of(http) is { } caller
            ? access.CheckAsync(caller.Caller, operation, UnverifiedTarget)
            : ValueTask.FromResult<GrantError?>(null);

    /// <summary>
    /// The deny that ends the request (a token that does not verify offline, a proof header that cannot be read), or how
    /// the token was presented, to pass on to the online check.
    /// </summary>
    public async ValueTask<(Decision? Refused, TokenPresentation? Presentation)> CheckAsync(HttpContext http, string? token)
    {
        var (refused, presentation, _) = await CheckTokenAsync(http, token).ConfigureAwait(false);
        return (refused, presentation);
    }

    // As CheckAsync, with the verified token's claims and secret.
    private async ValueTask<(Decision? Refused, TokenPresentation? Presentation, VerifiedCredentialToken Verified)> CheckTokenAsync(HttpContext http, string? token)
    {
        var (verified, refusal) = await verifier.VerifyAsync(token, http.RequestAborted).ConfigureAwait(false);
        if (verified is not { } credential)
        {
            LogTokenRefused(logger, http.Request.Path.Value ?? "", refusal!);
            // A genuine token past its exp is an expired credential, answered as the credential grain answers it.
            return (refusal == CredentialTokenVerifier.ExpiredRefusal
                ? Decision.Deny(DecisionReason.CredentialExpired, "The credential has expired (its token's exp has passed): ask for a new one.", time.GetUtcNow())
                : Decision.Deny(DecisionReason.TokenNotVerified, $"The credential token was refused: {refusal}.", time.GetUtcNow()), null, default);
        }
        var audiences = http.Request.Headers[AudienceHeader];
        if (audiences.Count > 1)
        {
            return (Decision.Deny(DecisionReason.InvalidRequest, $"{AudienceHeader} names one resource.", time.GetUtcNow()), null, default);
        }
        var audience = audiences.Count == 1 ? audiences[0] : null;
        if (credential.ConfirmationThumbprint is null)
        {
            return (null, audience is null ? TokenPresentation.None : new TokenPresentation { Audience = audience }, credential);
        }
        if (dpopOptions.Value.RequireNonce)
        {
            // Offered on every answer about a bound token, so the next proof can carry it (RFC 9449 §8); every silo accepts it.
            http.Response.Headers["DPoP-Nonce"] = dpop.IssueNonce();
        }
        var proofs = http.Request.Headers[DpopHeader];
        var problem = proofs.Count != 1
            ? "A credential bound to a key needs exactly one DPoP proof by that key (the DPoP header)."
            : ProofTarget(http) is not var (method, url)
            ? $"{ForwardedMethodHeader} and {ForwardedUrlHeader} go together: a method and an absolute http(s) URL without query."
            : null;
        if (problem is not null)
        {
            LogProofRefused(logger, http.Request.Path.Value ?? "", credential.CredentialId, problem);
            Challenge(http, DecisionReason.DpopProofInvalid);
            return (Decision.Deny(DecisionReason.DpopProofInvalid, problem, time.GetUtcNow()), null, default);
        }
        var (proofMethod, proofUrl) = ProofTarget(http)!.Value;
        return (null, new TokenPresentation { DpopProof = proofs[0], Method = proofMethod, Url = proofUrl.AbsoluteUri, Audience = audience }, credential);
    }

    // A refused proof is answered with the RFC 9449 challenge that says what to do.
    private static void Challenge(HttpContext http, DecisionReason reason)
    {
        if (reason == DecisionReason.DpopProofInvalid)
        {
            http.Response.Headers.WWWAuthenticate = "DPoP error=\"invalid_dpop_proof\", algs=\"ES256\"";
        }
        else if (reason == DecisionReason.DpopNonceRequired)
        {
            http.Response.Headers.WWWAuthenticate = "DPoP error=\"use_dpop_nonce\", algs=\"ES256\"";
        }
    }

    /// <summary>
    /// A gateway forwarding the proof an agent made for the gateway's own request names that request's method and URL
    /// in these headers; the proof is then checked against them (the gateway is trusted to name its request, as it is
    /// trusted to ask about the agent's action at all). Without them, the proof is for this request.
    /// </summary>
    public const string ForwardedMethodHeader = "GrantSilo-DPoP-Method";

    /// <inheritdoc cref="ForwardedMethodHeader"/>
    public const string ForwardedUrlHeader = "GrantSilo-DPoP-Url";

    // The method and URL the proof must name: the forwarded request's, or this one's; null when the forwarded pair is malformed.
    private static (string Method, Uri Url)? ProofTarget(HttpContext http)
    {
        var method = http.Request.Headers[ForwardedMethodHeader];
        var url = http.Request.Headers[ForwardedUrlHeader];
        if (method.Count == 0 && url.Count == 0)
        {
            return (http.Request.Method, RequestUrl(http));
        }
        return method.Count == 1 && url.Count == 1 && method[0] is { Length: > 0 and <= 16 } m && m.All(char.IsAsciiLetterUpper)
            && Uri.TryCreate(url[0], UriKind.Absolute, out var target) && target.Scheme is "https" or "http" && target.Query.Length == 0 && target.Fragment.Length == 0
            ? (m, target)
            : null;
    }

    /// <summary>The URL a DPoP proof for this request names (<c>htu</c>): scheme, host and path, without query.</summary>
    public static Uri RequestUrl(HttpContext http) =>
        new($"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{http.Request.Path}", UriKind.Absolute);

    [LoggerMessage(EventId = (int)LogEvents.CredentialTokenRefused, Level = LogLevel.Information, Message = "A credential token was refused at {Path}: {Reason}")]
    private static partial void LogTokenRefused(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = (int)LogEvents.DpopProofRefused, Level = LogLevel.Information, Message = "The DPoP proof for credential {CredentialId} was refused at {Path}: {Reason}")]
    private static partial void LogProofRefused(ILogger logger, string path, string credentialId, string reason);
}
