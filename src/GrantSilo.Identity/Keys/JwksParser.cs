using System.Buffers.Text;
using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Identity.Keys;

/// <summary>
/// Reads a JWKS document, keeping only asymmetric signature keys GrantSilo accepts: EC P-256 and P-384, and
/// RSA of 2048 bits or more. Everything else (symmetric "oct" keys, short RSA keys, other curves, keys
/// without a kid, encryption keys, kids used twice) is left out with a warning.
/// </summary>
internal static partial class JwksParser
{
    private const int MinRsaBits = 2048;
    private const int MaxRsaBits = 16384;

    /// <exception cref="JsonException">The document is not JSON or has no "keys" array.</exception>
    public static Dictionary<string, VerificationKey> Parse(ReadOnlySpan<byte> json, IReadOnlySet<string> allowedAlgorithms, string issuer, ILogger logger)
    {
        using var document = JsonDocument.Parse(json.ToArray());
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("keys", out var keys)
            || keys.ValueKind != JsonValueKind.Array)
        {
            throw new JsonException("a JWKS is an object with a \"keys\" array");
        }

        var result = new Dictionary<string, VerificationKey>(StringComparer.Ordinal);
        var duplicates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var jwk in keys.EnumerateArray())
        {
            var kid = GetString(jwk, "kid");
            var (key, reason) = TryRead(jwk, kid, allowedAlgorithms);
            if (key is null)
            {
                LogKeyIgnored(logger, issuer, Safe.Text(kid ?? "(none)"), reason);
                continue;
            }

            if (duplicates.Contains(key.KeyId) || !result.TryAdd(key.KeyId, key))
            {
                // Two keys with one kid: which one a token means is ambiguous, so neither is trusted.
                duplicates.Add(key.KeyId);
                result.Remove(key.KeyId);
                LogKeyIgnored(logger, issuer, Safe.Text(key.KeyId), "its kid appears more than once in the set");
            }
        }

        return result;
    }

    private static (VerificationKey? Key, string Reason) TryRead(JsonElement jwk, string? kid, IReadOnlySet<string> allowedAlgorithms)
    {
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            return (null, "it is not a JSON object");
        }

        if (string.IsNullOrEmpty(kid))
        {
            return (null, "it has no kid (tokens must name their key)");
        }

        if (kid.Length > 128 || kid.Any(c => c is < ' ' or > '~'))
        {
            return (null, "its kid is longer than 128 characters or not printable ASCII");
        }

        var use = GetString(jwk, "use");
        if (use is not null && use != "sig")
        {
            return (null, $"its use is '{Safe.Text(use)}', not 'sig'");
        }

        var alg = GetString(jwk, "alg");
        if (alg is not null && !allowedAlgorithms.Contains(alg))
        {
            return (null, $"its alg '{Safe.Text(alg)}' is not allowed for this issuer");
        }

        try
        {
            var kty = GetString(jwk, "kty");
            VerificationKey? key = kty switch
            {
                "EC" => ReadEc(jwk, kid, alg),
                "RSA" => ReadRsa(jwk, kid, alg, out var bits) ?? throw new NotSupportedException($"RSA key of {bits} bits; at least {MinRsaBits} are required"),
                _ => throw new NotSupportedException($"key type '{Safe.Text(kty ?? "(none)")}' is not an accepted asymmetric type (EC or RSA)"),
            };
            if (key is not null && alg is not null && !key.Accepts(alg))
            {
                return (null, $"its alg '{alg}' does not fit its key type");
            }

            return key is null ? (null, "unsupported key") : (key, "");
        }
        catch (Exception e) when (e is NotSupportedException or CryptographicException or FormatException or JsonException or InvalidOperationException)
        {
            return (null, e is NotSupportedException ? e.Message : "its parameters are not a valid key");
        }
    }

    private static VerificationKey ReadEc(JsonElement jwk, string kid, string? alg)
    {
        var crv = GetString(jwk, "crv");
        var (curve, family, size) = crv switch
        {
            "P-256" => (ECCurve.NamedCurves.nistP256, KeyFamily.EcP256, 32),
            "P-384" => (ECCurve.NamedCurves.nistP384, KeyFamily.EcP384, 48),
            _ => throw new NotSupportedException($"EC curve '{Safe.Text(crv ?? "(none)")}' is not accepted (P-256 or P-384)"),
        };
        var x = Decode(jwk, "x");
        var y = Decode(jwk, "y");
        if (x.Length != size || y.Length != size)
        {
            throw new FormatException("wrong coordinate length");
        }

        // Only the public point is imported, even if the document (wrongly) carries "d".
        var ecdsa = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = x, Y = y } });
        return new VerificationKey(kid, new ECDsaSecurityKey(ecdsa) { KeyId = kid }, family, alg);
    }

    private static VerificationKey? ReadRsa(JsonElement jwk, string kid, string? alg, out int bits)
    {
        var n = Decode(jwk, "n");
        var e = Decode(jwk, "e");
        var start = 0;
        while (start < n.Length && n[start] == 0)
        {
            start++;
        }

        n = n[start..];
        bits = n.Length == 0 ? 0 : ((n.Length - 1) * 8) + (32 - BitOperations.LeadingZeroCount((uint)n[0]));
        if (bits is < MinRsaBits or > MaxRsaBits || e.Length is 0 or > 8)
        {
            return null;
        }

        var rsa = RSA.Create(new RSAParameters { Modulus = n, Exponent = e });
        return new VerificationKey(kid, new RsaSecurityKey(rsa) { KeyId = kid }, KeyFamily.Rsa, alg);
    }

    private static byte[] Decode(JsonElement jwk, string name)
        => GetString(jwk, name) is { } value ? Base64Url.DecodeFromChars(value) : throw new FormatException($"missing '{name}'");

    private static string? GetString(JsonElement jwk, string name)
        => jwk.ValueKind == JsonValueKind.Object && jwk.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [LoggerMessage(EventId = (int)IdentityEventId.KeyIgnored, Level = LogLevel.Warning, Message = "Issuer {Issuer}: key '{KeyId}' in its JWKS is ignored: {Reason}")]
    private static partial void LogKeyIgnored(ILogger logger, string issuer, string keyId, string reason);
}
