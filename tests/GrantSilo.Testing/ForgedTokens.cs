using System.Security.Cryptography;
using GrantSilo.Identity.Tokens;

namespace GrantSilo.Testing;

/// <summary>
/// Credential tokens GrantSilo never issued: well-formed RFC 9068 JWTs naming a credential id, signed by a key of no
/// deployment. What a forger holding a credential's id (never its token) can make.
/// </summary>
public static class ForgedTokens
{
    /// <summary>A token for <paramref name="credentialId"/> signed by a fresh key.</summary>
    public static string For(string credentialId)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        return CredentialJwt.Create(new CredentialClaims
        {
            Issuer = "urn:grantsilo:local",
            Subject = "spiffe://forger.dev/agent",
            Audience = "urn:grantsilo:any-resource",
            CredentialId = credentialId,
            ClientId = "spiffe://forger.dev/agent",
            Permissions = ["doc:read:*"],
            IssuedAt = now,
            NotBefore = now,
            ExpiresAt = now.AddHours(1),
            TaskId = "t-forged",
            RootPerson = "person:nobody@forger.dev",
            MaxClassification = "restricted",
        }, key, "forged-key");
    }

    /// <summary>A forged token for <paramref name="credentialId"/> and the hash GrantSilo would store for it.</summary>
    public static (string Token, byte[] StoredHash) WithHash(string credentialId)
    {
        var token = For(credentialId);
        return (token, CredentialToken.StoredHash(token));
    }
}
