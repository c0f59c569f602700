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
        var (proof, problem) = proofs.Count == 1
            ? await dpop.VerifyAsync(proofs[0], http.Request.Method, RequestUrl(http), token).ConfigureAwait(false)
            : (null, new DpopRefusal(DpopRefusal.InvalidProof, "A credential bound to a key needs exactly one DPoP proof by that key (the DPoP header)."));
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

    /// <summary>The URL a DPoP proof for this request names (<c>htu</c>): scheme, host and path, without query.</summary>
    public static Uri RequestUrl(HttpContext http) =>
        new($"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{http.Request.Path}", UriKind.Absolute);

    [LoggerMessage(EventId = (int)LogEvents.CredentialTokenRefused, Level = LogLevel.Information, Message = "A credential token was refused at {Path}: {Reason}")]
    private static partial void LogTokenRefused(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = (int)LogEvents.DpopProofRefused, Level = LogLevel.Information, Message = "The DPoP proof for credential {CredentialId} was refused at {Path}: {Reason}")]
    private static partial void LogProofRefused(ILogger logger, string path, string credentialId, string reason);
}
