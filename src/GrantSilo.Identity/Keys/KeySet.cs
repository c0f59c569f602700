using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Identity.Keys;

/// <summary>The curve or key type a verification key has, to match against a token's <c>alg</c>.</summary>
internal enum KeyFamily
{
    EcP256,
    EcP384,
    Rsa,
}

/// <summary>One accepted (asymmetric) verification key.</summary>
internal sealed record VerificationKey(string KeyId, SecurityKey Key, KeyFamily Family, string? Algorithm)
{
    /// <summary>Whether a token signed with <paramref name="alg"/> may be verified with this key.</summary>
    public bool Accepts(string alg)
    {
        if (Algorithm is not null && !string.Equals(Algorithm, alg, StringComparison.Ordinal))
        {
            return false;
        }

        return Family switch
        {
            KeyFamily.EcP256 => alg == "ES256",
            KeyFamily.EcP384 => alg == "ES384",
            KeyFamily.Rsa => alg.StartsWith("RS", StringComparison.Ordinal) || alg.StartsWith("PS", StringComparison.Ordinal),
            _ => false,
        };
    }
}

/// <summary>An immutable key set as last loaded, with the SHA-256 of the content it came from.</summary>
internal sealed class KeySet(IReadOnlyDictionary<string, VerificationKey> keys, byte[] fingerprint, long generation)
{
    public IReadOnlyDictionary<string, VerificationKey> Keys { get; } = keys;

    public byte[] Fingerprint { get; } = fingerprint;

    /// <summary>Increases by one every time the issuer's keys change; cached callers of older generations are stale.</summary>
    public long Generation { get; } = generation;

    public VerificationKey? Find(string kid) => Keys.GetValueOrDefault(kid);
}
