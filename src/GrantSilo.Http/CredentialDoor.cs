using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Tokens;
using GrantSilo.Identity.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Http;

/// <summary>
/// The HTTP door's check of a credential token before the online checks: the token is verified offline (signature by a
/// published key of the credentials ring, ES256, <c>at+jwt</c>, this deployment's issuer, its times), and a token
/// bound to a key (<c>cnf.jkt</c>) must come with a DPoP proof (RFC 9449) by that key for this very request: its
/// method, its URL and this token (<c>ath</c>), recent, never seen before. A refusal is a deny the caller can act on,
/// logged with its reason and never the token.
/// </summary>
internal sealed partial class CredentialDoor(CredentialTokenVerifier verifier, DpopProofVerifier dpop, DpopOptions dpopOptions, [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time, ILogger<CredentialDoor> logger)
{
    /// <summary>The request header that carries a DPoP proof.</summary>
    public const string DpopHeader = "DPoP";

    /// <summary>Null when the token may go on to the online checks, or the deny that ends the request.</summary>
    public async ValueTask<Decision?> CheckAsync(HttpContext http, string? token)
    {
        var (verified, refusal) = await verifier.VerifyAsync(token, http.RequestAborted).ConfigureAwait(false);
        if (verified is not { } credential)
        {
            LogTokenRefused(logger, http.Request.Path.Value ?? "", refusal!);
            return Decision.Deny(DecisionReason.TokenNotVerified, $"The credential token was refused: {refusal}.", time.GetUtcNow());
        }
        if (credential.ConfirmationThumbprint is not { } jkt)
        {
            return null;
        }
        var proofs = http.Request.Headers[DpopHeader];
        var (proof, problem) = proofs.Count != 1
            ? (null, new DpopRefusal(DpopRefusal.InvalidProof, "A credential bound to a key needs exactly one DPoP proof by that key (the DPoP header)."))
            : ProofTarget(http) is not var (method, url)
            ? (null, new DpopRefusal(DpopRefusal.InvalidProof, $"{ForwardedMethodHeader} and {ForwardedUrlHeader} go together: a method and an absolute http(s) URL without query."))
            : await dpop.VerifyAsync(proofs[0], method, url, token).ConfigureAwait(false);
        if (dpopOptions.RequireNonce)
        {
            // Offered on every answer about a bound token, so the next proof can carry it (RFC 9449 §8).
            http.Response.Headers["DPoP-Nonce"] = problem?.Nonce ?? dpop.IssueNonce();
        }
        if (proof is null)
        {
            LogProofRefused(logger, http.Request.Path.Value ?? "", credential.CredentialId, problem!.Description);
            http.Response.Headers.WWWAuthenticate = $"DPoP error=\"{problem.Error}\", algs=\"ES256\"";
            return Decision.Deny(DecisionReason.DpopProofInvalid, problem.Description, time.GetUtcNow());
        }
        if (!string.Equals(proof.KeyThumbprint, jkt, StringComparison.Ordinal))
        {
            LogProofRefused(logger, http.Request.Path.Value ?? "", credential.CredentialId, "signed by another key");
            http.Response.Headers.WWWAuthenticate = "DPoP error=\"invalid_dpop_proof\", algs=\"ES256\"";
            return Decision.Deny(DecisionReason.DpopProofInvalid, "The DPoP proof is signed by another key than the one the credential is bound to.", time.GetUtcNow());
        }
        return null;
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
