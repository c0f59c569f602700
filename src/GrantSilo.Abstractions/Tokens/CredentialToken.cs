using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace GrantSilo;

/// <summary>
/// The bearer token of a credential: <c>gs1.&lt;credential id&gt;.&lt;secret&gt;</c>, where the id
/// (the token's <c>jti</c>) names the credential grain and the secret is 256 random bits. GrantSilo
/// stores only the SHA-256 of the secret (the secret is high-entropy, so a fast hash suffices, as for
/// API keys) and compares in constant time. The type never prints the secret.
/// </summary>
public static class CredentialToken
{
    /// <summary>The token prefix, which also versions the format.</summary>
    public const string Prefix = "gs1.";

    private const int IdBytes = 16;
    private const int SecretBytes = 32;
    private const int IdChars = 22;      // base64url of 16 bytes, unpadded
    private const int SecretChars = 43;  // base64url of 32 bytes, unpadded

    /// <summary>The exact length of a well-formed token.</summary>
    public const int Length = 4 + IdChars + 1 + SecretChars;

    /// <summary>A new credential id (the token's <c>jti</c>).</summary>
    public static string NewCredentialId() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(IdBytes));

    /// <summary>Mints a token for a credential id; returns the token and the hash to store.</summary>
    public static (string Token, byte[] SecretHash) Mint(string credentialId)
    {
        Span<byte> secret = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(secret);
        var token = string.Concat(Prefix, credentialId, ".", Base64Url.EncodeToString(secret));
        var hash = SHA256.HashData(secret);
        CryptographicOperations.ZeroMemory(secret);
        return (token, hash);
    }

    /// <summary>
    /// Splits a token into its credential id and secret without any I/O; false for anything
    /// malformed (wrong prefix, length or alphabet), so forged or truncated tokens are rejected cheaply.
    /// </summary>
    public static bool TryParse(string? token, [NotNullWhen(true)] out string? credentialId, out byte[] secret)
    {
        credentialId = null;
        secret = [];
        if (token is null || token.Length != Length || !token.StartsWith(Prefix, StringComparison.Ordinal) || token[4 + IdChars] != '.')
        {
            return false;
        }
        var id = token.AsSpan(4, IdChars);
        var secretText = token.AsSpan(4 + IdChars + 1);
        Span<byte> idBytes = stackalloc byte[IdBytes];
        var decoded = new byte[SecretBytes];
        if (Base64Url.DecodeFromChars(id, idBytes, out _, out var idWritten) != System.Buffers.OperationStatus.Done || idWritten != IdBytes
            || Base64Url.DecodeFromChars(secretText, decoded, out _, out var secretWritten) != System.Buffers.OperationStatus.Done || secretWritten != SecretBytes)
        {
            return false;
        }
        // Reject non-canonical encodings (trailing bits set) so one secret has one spelling.
        Span<char> idAgain = stackalloc char[IdChars];
        Span<char> secretAgain = stackalloc char[secretText.Length];
        if (Base64Url.EncodeToChars(idBytes, idAgain) != IdChars || !idAgain.SequenceEqual(id)
            || Base64Url.EncodeToChars(decoded, secretAgain) != secretText.Length || !secretAgain.SequenceEqual(secretText))
        {
            return false;
        }
        credentialId = id.ToString();
        secret = decoded;
        return true;
    }

    /// <summary>True when <paramref name="credentialId"/> is a well-formed credential id.</summary>
    public static bool IsCredentialId(string? credentialId)
    {
        if (credentialId is null || credentialId.Length != IdChars)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[IdBytes];
        return Base64Url.DecodeFromChars(credentialId, bytes, out _, out var written) == System.Buffers.OperationStatus.Done && written == IdBytes;
    }

    /// <summary>The hash GrantSilo stores for a secret.</summary>
    public static byte[] HashSecret(ReadOnlySpan<byte> secret) => SHA256.HashData(secret);

    /// <summary>Constant-time check of a presented secret against a stored hash.</summary>
    public static bool Verify(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> storedHash)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(secret, hash);
        return storedHash.Length == 32 && CryptographicOperations.FixedTimeEquals(hash, storedHash);
    }

    /// <summary>A loggable form of a token: its credential id only, never the secret.</summary>
    public static string Redact(string? token) =>
        TryParse(token, out var id, out _) ? $"{Prefix}{id}.***" : "<malformed>";
}
