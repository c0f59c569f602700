using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Keys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tokens;

/// <summary>What a credential token whose signature verified says (its claims are trustworthy; its state is not yet checked).</summary>
public readonly record struct VerifiedCredentialToken(string CredentialId, string? ConfirmationThumbprint, DateTimeOffset ExpiresAt)
{
    /// <summary>
    /// The secret the credential grain checks for this token, as <see cref="CredentialToken.TryParse"/> reads it (the
    /// SHA-256 of the token's text): read once when the token is first verified, then remembered with it, so a door need
    /// not parse and hash the same token again per request. Shared between requests: never written to.
    /// </summary>
    public byte[]? Secret { get; init; }
}

/// <summary>
/// Checks a credential token offline, before the online checks: the header names ES256, <c>at+jwt</c> and a key the
/// <c>credentials</c> ring publishes now; the signature verifies with that key (kept in memory, so no grain call while
/// the ring's view is fresh); the issuer is this deployment's; and the token is within its times (no skew). The hot
/// path of every door that takes a token: it reads with forward-only readers over pooled buffers and allocates
/// little. A refusal says why in words a log may hold, never quoting the token.
/// </summary>
/// <remarks>
/// A token whose signature verified is remembered by the SHA-256 of its exact text (a bounded set), so a gateway asking
/// again and again about one credential pays for an ECDSA verification once, not per request: a hit still checks the
/// token's times and that its key is still published by the ring, and any other text (one character changed) is a miss,
/// verified in full.
/// </remarks>
public sealed class CredentialTokenVerifier(KeyRing keys, IOptions<TokenOptions> options, [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time)
{
    private const int SignatureBytes = 64;

    /// <summary>How many verified tokens are remembered at most (then the set starts again empty).</summary>
    public const int MaxRemembered = 20_000;

    private readonly byte[] _issuer = Encoding.UTF8.GetBytes(options.Value.Issuer);
    private readonly ConcurrentDictionary<Digest, Remembered> _verified = new();

    /// <summary>The claims the online checks need, or why the token was refused.</summary>
    public async ValueTask<(VerifiedCredentialToken? Token, string? Refusal)> VerifyAsync(string? token, CancellationToken cancellationToken)
    {
        if (token is null || token.Length > CredentialToken.MaxLength)
        {
            return (null, "it is not a well-formed JWT");
        }
        var digest = Digest.Of(token);
        if (_verified.TryGetValue(digest, out var remembered))
        {
            // Verified before, by a key that must still be published; its times are checked again now.
            if (await keys.GetVerificationKeyAsync(KeyRing.Credentials, remembered.KeyId, cancellationToken).ConfigureAwait(false) is null)
            {
                _verified.TryRemove(digest, out _);
                return (null, "no published key has its key id");
            }
            return ValidNow(remembered.Token, remembered.NotBefore);
        }
        var (verified, refusal, keyId, notBefore) = await VerifyInFullAsync(token, cancellationToken).ConfigureAwait(false);
        if (verified is { } valid)
        {
            // The credential id and secret exactly as every client reads them from the token (its jti agrees: the same text).
            if (CredentialToken.TryParse(token, out var credentialId, out var secret) && string.Equals(credentialId, valid.CredentialId, StringComparison.Ordinal))
            {
                verified = valid = valid with { Secret = secret };
            }
            if (_verified.Count >= MaxRemembered)
            {
                _verified.Clear();
            }
            _verified[digest] = new Remembered(valid, keyId!, notBefore);
        }
        return (verified, refusal);
    }

    /// <summary>
    /// The refusal of a token that verified in every other way (signature, key, issuer, claims) but whose <c>exp</c> has
    /// passed: the credential has expired, and the door says so as the credential grain would (<c>CredentialExpired</c>).
    /// </summary>
    public const string ExpiredRefusal = "it has expired";

    private (VerifiedCredentialToken? Token, string? Refusal) ValidNow(VerifiedCredentialToken token, long? notBefore)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        return now >= token.ExpiresAt.ToUnixTimeSeconds() ? (null, ExpiredRefusal)
            : notBefore is { } start && now < start ? (null, "it is not valid yet (its nbf is in the future)")
            : (token, null);
    }

    private sealed record Remembered(VerifiedCredentialToken Token, string KeyId, long? NotBefore);

    // The SHA-256 of a token's text, as a dictionary key.
    private readonly record struct Digest(ulong A, ulong B, ulong C, ulong D)
    {
        public static Digest Of(string token)
        {
            var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(token.Length));
            try
            {
                Span<byte> hash = stackalloc byte[32];
                SHA256.HashData(bytes.AsSpan(0, Encoding.UTF8.GetBytes(token, bytes)), hash);
                var words = MemoryMarshal.Cast<byte, ulong>(hash);
                return new Digest(words[0], words[1], words[2], words[3]);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }
        }
    }

    private async ValueTask<(VerifiedCredentialToken? Token, string? Refusal, string? KeyId, long? NotBefore)> VerifyInFullAsync(string token, CancellationToken cancellationToken)
    {
        var first = token.IndexOf('.');
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first <= 0 || second <= first + 1 || second == token.Length - 1 || token.IndexOf('.', second + 1) >= 0)
        {
            return (null, "it is not a well-formed JWT", null, null);
        }
        // The header first, and alone: the algorithm and type are checked before anything else is looked at.
        var (keyId, headerRefusal) = ReadHeader(token.AsSpan(0, first));
        if (keyId is null)
        {
            return (null, headerRefusal, null, null);
        }
        var key = await keys.GetVerificationKeyAsync(KeyRing.Credentials, keyId, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            return (null, "no published key has its key id", null, null);
        }
        if (!VerifySignature(key, token, second))
        {
            return (null, "its signature does not verify", null, null);
        }
        var (verified, refusal, notBefore) = ReadPayload(token.AsSpan(first + 1, second - first - 1));
        return (verified, refusal, keyId, notBefore);
    }

    private static (string? KeyId, string? Refusal) ReadHeader(ReadOnlySpan<char> encoded)
    {
        Span<byte> header = stackalloc byte[512];
        if (encoded.Length > 640 || Base64Url.DecodeFromChars(encoded, header, out _, out var written) != OperationStatus.Done)
        {
            return (null, "it is not a well-formed JWT");
        }
        try
        {
            var reader = new Utf8JsonReader(header[..written]);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (null, "it is not a well-formed JWT");
            }
            bool es256 = false, type = false;
            string? keyId = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueSpan;
                var isAlg = name.SequenceEqual("alg"u8);
                var isTyp = name.SequenceEqual("typ"u8);
                var isKid = name.SequenceEqual("kid"u8);
                if (!reader.Read())
                {
                    return (null, "it is not a well-formed JWT");
                }
                if (isAlg)
                {
                    es256 = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("ES256"u8);
                    if (!es256)
                    {
                        return (null, "its algorithm is not ES256");
                    }
                }
                else if (isTyp)
                {
                    type = reader.TokenType == JsonTokenType.String && (reader.ValueTextEquals("at+jwt"u8) || reader.ValueTextEquals("application/at+jwt"u8));
                }
                else if (isKid)
                {
                    keyId = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else
                {
                    // Nothing else belongs in a GrantSilo header (no crit, no embedded jwk or jku to trust).
                    return (null, "its header holds a member GrantSilo never writes");
                }
            }
            return !es256 ? (null, "its algorithm is not ES256")
                : !type ? (null, "its type is not at+jwt")
                : keyId is null ? (null, "no published key has its key id")
                : (keyId, null);
        }
        catch (JsonException)
        {
            return (null, "it is not a well-formed JWT");
        }
    }

    private static bool VerifySignature(ECDsa key, string token, int second)
    {
        Span<byte> signature = stackalloc byte[SignatureBytes + 3];
        if (Base64Url.DecodeFromChars(token.AsSpan(second + 1), signature, out _, out var written) != OperationStatus.Done || written != SignatureBytes)
        {
            return false;
        }
        // The signing input is ASCII (base64url and one dot).
        var input = ArrayPool<byte>.Shared.Rent(second);
        try
        {
            var length = Encoding.ASCII.GetBytes(token.AsSpan(0, second), input);
            return key.VerifyData(input.AsSpan(0, length), signature[..SignatureBytes], HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    private const int Other = 0, Iss = 1, Exp = 2, Nbf = 3, Jti = 4, Cnf = 5;

    private static int Claim(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("iss"u8) ? Iss
        : reader.ValueTextEquals("exp"u8) ? Exp
        : reader.ValueTextEquals("nbf"u8) ? Nbf
        : reader.ValueTextEquals("jti"u8) ? Jti
        : reader.ValueTextEquals("cnf"u8) ? Cnf
        : Other;

    private (VerifiedCredentialToken? Token, string? Refusal, long? NotBefore) ReadPayload(ReadOnlySpan<char> encoded)
    {
        var payload = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(encoded.Length));
        try
        {
            if (Base64Url.DecodeFromChars(encoded, payload, out _, out var written) != OperationStatus.Done)
            {
                return (null, "it is not a well-formed JWT", null);
            }
            var reader = new Utf8JsonReader(payload.AsSpan(0, written), new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (null, "it is not a well-formed JWT", null);
            }
            bool issuer = false;
            long? expires = null, notBefore = null;
            string? id = null, thumbprint = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var claim = Claim(ref reader);
                if (!reader.Read())
                {
                    return (null, "it is not a well-formed JWT", null);
                }
                if (claim == Iss)
                {
                    issuer = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(_issuer);
                }
                else if (claim == Exp && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var exp))
                {
                    expires = exp;
                }
                else if (claim == Nbf && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var nbf))
                {
                    notBefore = nbf;
                }
                else if (claim == Jti && reader.TokenType == JsonTokenType.String)
                {
                    id = reader.GetString();
                }
                else if (claim == Cnf && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isJkt = reader.ValueTextEquals("jkt"u8);
                        reader.Read();
                        if (isJkt && reader.TokenType == JsonTokenType.String)
                        {
                            thumbprint = reader.GetString();
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            if (!issuer)
            {
                return (null, "another issuer signed it", null);
            }
            if (!CredentialToken.IsCredentialId(id) || expires is null)
            {
                return (null, "its GrantSilo claims are malformed", null);
            }
            var (token, refusal) = ValidNow(new VerifiedCredentialToken(id!, thumbprint, DateTimeOffset.FromUnixTimeSeconds(expires.Value)), notBefore);
            return (token, refusal, notBefore);
        }
        catch (JsonException)
        {
            return (null, "it is not a well-formed JWT", null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }
}
