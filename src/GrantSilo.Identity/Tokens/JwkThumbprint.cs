using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Identity.Tokens;

/// <summary>RFC 7638 JWK thumbprints (SHA-256, base64url) of P-256 public keys: a signing key's id, a DPoP key's <c>jkt</c>.</summary>
public static class JwkThumbprint
{
    /// <summary>The thumbprint of the P-256 public key (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public static string OfP256(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(
            $$"""{"crv":"P-256","kty":"EC","x":"{{Base64UrlEncoder.Encode(x.ToArray())}}","y":"{{Base64UrlEncoder.Encode(y.ToArray())}}"}""")));

    /// <summary>True when <paramref name="thumbprint"/> has the shape of a SHA-256 thumbprint: 43 base64url characters.</summary>
    public static bool IsWellFormed(string? thumbprint)
    {
        if (thumbprint is not { Length: 43 })
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[33];
        return System.Buffers.Text.Base64Url.DecodeFromChars(thumbprint, bytes, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32;
    }
}
