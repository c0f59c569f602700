using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace GrantSilo;

/// <summary>
/// The bearer token of a credential: an RFC 9068 JWT access token (<c>header.payload.signature</c>, signed ES256 by
/// GrantSilo's key ring) whose <c>jti</c> is the credential id and names the credential grain. GrantSilo keeps only a
/// hash of the exact token it issued, so the online check compares the presented token with the issued one in constant
/// time; resource servers verify the signature offline from <c>/.well-known/jwks.json</c>. The type never prints a token.
/// </summary>
/// <remarks>
/// The earlier opaque format, <c>gs1.&lt;id&gt;.&lt;secret&gt;</c>, is retired: such a token is malformed now
/// (<see cref="LegacyPrefix"/> is kept only so text that still holds one is scrubbed).
/// </remarks>
public static class CredentialToken
{
    /// <summary>The prefix of the retired opaque format, recognised only to keep such tokens out of text.</summary>
    public const string LegacyPrefix = "gs1.";

    /// <summary>The longest token read: anything longer is malformed before it is decoded.</summary>
    public const int MaxLength = 8192;

    private const int IdBytes = 16;
    private const int IdChars = 22;      // base64url of 16 bytes, unpadded

    /// <summary>A new credential id (the token's <c>jti</c>).</summary>
    public static string NewCredentialId() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(IdBytes));

    /// <summary>The hash GrantSilo stores for an issued token: the hash of its <see cref="TryParse">secret</see>.</summary>
    public static byte[] StoredHash(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        Span<byte> secret = stackalloc byte[32];
        Digest(token, secret);
        return SHA256.HashData(secret);
    }

    /// <summary>
    /// Reads a token's credential id (its <c>jti</c>) and the secret the credential grain checks (the SHA-256 of the
    /// whole token) without any I/O; false for anything not shaped as a GrantSilo JWT (three base64url parts, a JSON
    /// payload with a well-formed <c>jti</c>), so truncated or foreign tokens are rejected cheaply. The signature is
    /// not checked here: the grain compares the secret with the hash of the token it issued, and the HTTP door and
    /// resource servers verify the signature.
    /// </summary>
    public static bool TryParse(string? token, [NotNullWhen(true)] out string? credentialId, out byte[] secret)
    {
        credentialId = null;
        secret = [];
        if (token is null || token.Length is < 16 or > MaxLength)
        {
            return false;
        }
        var first = token.IndexOf('.');
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first <= 0 || second <= first + 1 || second == token.Length - 1 || token.IndexOf('.', second + 1) >= 0)
        {
            return false;
        }
        if (!TryReadId(token.AsSpan(first + 1, second - first - 1), out credentialId))
        {
            return false;
        }
        secret = new byte[32];
        Digest(token, secret);
        return true;
    }

    /// <summary>True when <paramref name="credentialId"/> is a well-formed credential id.</summary>
    public static bool IsCredentialId(string? credentialId) => credentialId is not null && IsCredentialId(credentialId.AsSpan());

    /// <summary>The hash GrantSilo stores for a secret.</summary>
    public static byte[] HashSecret(ReadOnlySpan<byte> secret) => SHA256.HashData(secret);

    /// <summary>Constant-time check of a presented secret against a stored hash.</summary>
    public static bool Verify(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> storedHash)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(secret, hash);
        return storedHash.Length == 32 && CryptographicOperations.FixedTimeEquals(hash, storedHash);
    }

    /// <summary>A loggable form of a token: its credential id only, never the token.</summary>
    public static string Redact(string? token) =>
        TryParse(token, out var id, out _) ? $"jwt(jti={id})" : "<malformed>";

    private static bool IsCredentialId(ReadOnlySpan<char> credentialId)
    {
        if (credentialId.Length != IdChars)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[IdBytes];
        if (Base64Url.DecodeFromChars(credentialId, bytes, out _, out var written) != OperationStatus.Done || written != IdBytes)
        {
            return false;
        }
        // One spelling per id: no trailing bits set.
        Span<char> again = stackalloc char[IdChars];
        return Base64Url.EncodeToChars(bytes, again) == IdChars && again.SequenceEqual(credentialId);
    }

    private static void Digest(string token, Span<byte> destination)
    {
        var length = Encoding.UTF8.GetMaxByteCount(token.Length);
        byte[]? rented = null;
        var bytes = length <= 1024 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(token, bytes);
            SHA256.HashData(bytes[..written], destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // The payload's top-level "jti", read with a forward-only reader from a pooled buffer.
    private static bool TryReadId(ReadOnlySpan<char> payload, [NotNullWhen(true)] out string? credentialId)
    {
        credentialId = null;
        var length = Base64Url.GetMaxDecodedLength(payload.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            if (Base64Url.DecodeFromChars(payload, rented, out _, out var written) != OperationStatus.Done)
            {
                return false;
            }
            var reader = new Utf8JsonReader(rented.AsSpan(0, written), new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            string? found = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("jti"u8);
                if (!reader.Read())
                {
                    return false;
                }
                if (isId)
                {
                    if (found is not null || reader.TokenType != JsonTokenType.String)
                    {
                        return false;
                    }
                    found = reader.GetString();
                }
                else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || found is null || !IsCredentialId(found))
            {
                return false;
            }
            credentialId = found;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
