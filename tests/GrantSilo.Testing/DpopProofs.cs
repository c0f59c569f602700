using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Testing;

/// <summary>DPoP proofs (RFC 9449) as an agent makes them, for tests that present bound tokens through the SDK.</summary>
public static class DpopProofs
{
    /// <summary>
    /// A proof by <paramref name="key"/> for <paramref name="method"/> <paramref name="url"/> presenting
    /// <paramref name="token"/>, issued at <paramref name="issuedAt"/> (the silo's grant clock in tests that move it).
    /// </summary>
    public static string Make(ECDsa key, string method, string url, string? token, DateTimeOffset issuedAt, string? jti = null, string? nonce = null)
    {
        var q = key.ExportParameters(false).Q;
        var header = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["typ"] = "dpop+jwt",
            ["alg"] = "ES256",
            ["jwk"] = new Dictionary<string, string> { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Base64UrlEncoder.Encode(q.X), ["y"] = Base64UrlEncoder.Encode(q.Y) },
        });
        var claims = new Dictionary<string, object>
        {
            ["jti"] = jti ?? Guid.NewGuid().ToString("N"),
            ["htm"] = method,
            ["htu"] = url,
            ["iat"] = issuedAt.ToUnixTimeSeconds(),
        };
        if (token is not null)
        {
            claims["ath"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(token)));
        }
        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }
        var input = Base64UrlEncoder.Encode(header) + "." + Base64UrlEncoder.Encode(JsonSerializer.Serialize(claims));
        return input + "." + Base64UrlEncoder.Encode(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    /// <summary>The RFC 7638 thumbprint of <paramref name="key"/> (what a credential's <c>cnf.jkt</c> holds).</summary>
    public static string Thumbprint(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        return GrantSilo.Identity.Tokens.JwkThumbprint.OfP256(q.X!, q.Y!);
    }
}
