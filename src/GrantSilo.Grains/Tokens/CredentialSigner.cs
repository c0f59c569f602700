using GrantSilo.Grains.Keys;
using GrantSilo.Identity.Tokens;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tokens;

/// <summary>Signs credentials as RFC 9068 JWT access tokens with the current key of the <c>credentials</c> ring.</summary>
public sealed class CredentialSigner(KeyRing keys, IOptions<TokenOptions> options)
{
    /// <summary>This deployment's issuer.</summary>
    public string Issuer => options.Value.Issuer;

    /// <summary>The audience of a credential that names no resource.</summary>
    public string DefaultAudience => options.Value.DefaultAudience;

    /// <summary>
    /// The signed token for <paramref name="claims"/>. Throws <see cref="KeyEncryptionException"/> when no key can be
    /// used (fail closed: nothing is issued).
    /// </summary>
    public async ValueTask<string> SignAsync(CredentialClaims claims, CancellationToken cancellationToken)
    {
        var key = await keys.GetSigningKeyAsync(KeyRing.Credentials, cancellationToken).ConfigureAwait(false);
        return CredentialJwt.Create(claims, key.Key, key.KeyId);
    }
}
