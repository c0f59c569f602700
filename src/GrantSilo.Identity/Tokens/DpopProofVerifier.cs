using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Identity.Tokens;

/// <summary>How DPoP proofs are checked (RFC 9449).</summary>
public sealed class DpopOptions
{
    /// <summary>The configuration section (<c>GrantSilo:Dpop</c>).</summary>
    public const string SectionName = "GrantSilo:Dpop";

    /// <summary>How old a proof's <c>iat</c> may be (default 60 s).</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How far ahead of this silo's clock a proof's <c>iat</c> may be (default 5 s).</summary>
    public TimeSpan FutureSkew { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether every proof must carry a nonce this server issued (RFC 9449 §8). Default off.</summary>
    public bool RequireNonce { get; set; }

    /// <summary>
    /// The length of a nonce's time window (default 5 minutes): a nonce is accepted in its window and the next, so for
    /// one to two windows.
    /// </summary>
    public TimeSpan NonceLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How many proof ids are remembered to refuse replays (default 100,000). A proof is remembered until it is too old
    /// to be accepted anyway; when the memory is full of proofs still young enough, new proofs are refused (fail
    /// closed) rather than forgetting one that could then be replayed.
    /// </summary>
    public int ReplayCacheSize { get; set; } = 100_000;
}

/// <summary>A DPoP proof that passed: the thumbprint of the key that signed it (to compare with a token's <c>cnf.jkt</c>).</summary>
public sealed record DpopProof(string KeyThumbprint, string ProofId);

/// <summary>Why a DPoP proof was refused: an RFC 9449 error code, and words for the caller (never the proof or a token).</summary>
public sealed record DpopRefusal(string Error, string Description, string? Nonce = null)
{
    /// <summary>The proof is invalid (<c>invalid_dpop_proof</c>).</summary>
    public const string InvalidProof = "invalid_dpop_proof";

    /// <summary>A fresh nonce is needed (<c>use_dpop_nonce</c>); <see cref="Nonce"/> holds one.</summary>
    public const string UseNonce = "use_dpop_nonce";
}

/// <summary>
/// Verifies DPoP proofs (RFC 9449): <c>typ dpop+jwt</c>, ES256, signed by the public key in its own <c>jwk</c> header,
/// for this method and URL, recent, bound to the access token presented with it (<c>ath</c>), never seen before, and,
/// when nonces are required, carrying one this server issued. Nonces are stateless: a time window and an HMAC of it
/// under a key every silo of the deployment derives alike (<see cref="DeriveNonceKey"/>).
/// </summary>
public sealed class DpopProofVerifier
{
    private const string ProofType = "dpop+jwt";
    private const int NonceBytes = 24;
    private readonly DpopOptions _options;
    private readonly TimeProvider _time;
    private readonly byte[] _nonceKey;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private int _sweeping;

    public DpopProofVerifier(DpopOptions options, TimeProvider time, byte[]? nonceKey = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _nonceKey = nonceKey ?? RandomNumberGenerator.GetBytes(32);
    }

    /// <summary>
    /// A nonce to offer callers (in a <c>DPoP-Nonce</c> header): the current time window (<see cref="DpopOptions.NonceLifetime"/>
    /// long) and an HMAC of it under the nonce key. Every verifier made with the same key (every silo of a deployment
    /// derives it from the key the silos share) issues the same nonce in a window and accepts it in that window and the
    /// next, with no state and no call to anyone.
    /// </summary>
    public string IssueNonce() => Nonce(Window(_time.GetUtcNow()));

    private long Window(DateTimeOffset at) => at.ToUnixTimeMilliseconds() / Math.Max(1L, (long)_options.NonceLifetime.TotalMilliseconds);

    private string Nonce(long window)
    {
        Span<byte> bytes = stackalloc byte[NonceBytes];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes, window);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_nonceKey, bytes[..8], mac);
        mac[..16].CopyTo(bytes[8..]);
        return Base64UrlEncoder.Encode(bytes.ToArray());
    }

    /// <summary>
    /// The key nonces are made with, derived from key material every silo of a deployment shares (the cluster's call
    /// key), so a nonce one silo offers is accepted by all: HMAC-SHA256 of a fixed label, never the material itself.
    /// </summary>
    public static byte[] DeriveNonceKey(ReadOnlySpan<byte> sharedSecret) => HMACSHA256.HashData(sharedSecret, "grantsilo dpop nonce key v1"u8);

    /// <summary>
    /// Checks <paramref name="proof"/> for a request of <paramref name="method"/> to <paramref name="url"/>, presented with
    /// <paramref name="accessToken"/> (or none, at a token endpoint). The key's thumbprint, or why not. With
    /// <paramref name="expectedKeyThumbprint"/> (the token's <c>cnf.jkt</c>), a proof by any other key is refused before
    /// its signature is checked or it takes a place in the replay memory: give it whenever the bound key is known, or
    /// proofs by throwaway keys can fill the memory, which then refuses every proof.
    /// </summary>
    public Task<(DpopProof? Proof, DpopRefusal? Refusal)> VerifyAsync(string? proof, string method, Uri url, string? accessToken, string? expectedKeyThumbprint = null) =>
        VerifyAsync(proof, method, url, accessToken is null ? null : SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)), expectedKeyThumbprint);

    /// <summary>
    /// As <see cref="VerifyAsync(string?, string, Uri, string?, string?)"/>, with the access token known by its SHA-256 only
    /// (what a proof's <c>ath</c> names): the credential grain, which never sees the token, checks proofs this way.
    /// </summary>
    public async Task<(DpopProof? Proof, DpopRefusal? Refusal)> VerifyAsync(string? proof, string method, Uri url, byte[]? accessTokenHash, string? expectedKeyThumbprint = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(url);
        if (string.IsNullOrEmpty(proof) || !_handler.CanReadToken(proof))
        {
            return Refuse("The DPoP header must hold one DPoP proof JWT.");
        }
        JsonWebToken unverified;
        try
        {
            unverified = _handler.ReadJsonWebToken(proof);
        }
        catch (ArgumentException)
        {
            return Refuse("The DPoP header must hold one DPoP proof JWT.");
        }
        if (unverified.Typ != ProofType)
        {
            return Refuse($"A DPoP proof's typ is {ProofType}.");
        }
        if (unverified.Alg != SecurityAlgorithms.EcdsaSha256)
        {
            return Refuse("A DPoP proof is signed ES256 here.");
        }
        if (!TryPublicKey(unverified, out var key, out var thumbprint, out var keyProblem))
        {
            return Refuse(keyProblem);
        }
        if (expectedKeyThumbprint is not null && !string.Equals(thumbprint, expectedKeyThumbprint, StringComparison.Ordinal))
        {
            return Refuse("The DPoP proof is signed by another key than the one the token is bound to.");
        }
        var result = await _handler.ValidateTokenAsync(proof, new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidTypes = [ProofType],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            // The proof names no kid: its one key is the jwk it carries.
            TryAllIssuerSigningKeys = true,
        }).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            return Refuse("The DPoP proof's signature does not verify with the key it carries.");
        }
        if (!token.TryGetPayloadValue<string>("jti", out var jti) || string.IsNullOrEmpty(jti) || jti.Length > 256)
        {
            return Refuse("A DPoP proof carries a jti.");
        }
        if (!token.TryGetPayloadValue<string>("htm", out var htm) || !string.Equals(htm, method, StringComparison.Ordinal))
        {
            return Refuse("The DPoP proof is for another method.");
        }
        if (!token.TryGetPayloadValue<string>("htu", out var htu) || !Uri.TryCreate(htu, UriKind.Absolute, out var proofUrl) || !SameTarget(proofUrl, url))
        {
            return Refuse("The DPoP proof is for another URL.");
        }
        var now = _time.GetUtcNow();
        if (!token.TryGetPayloadValue<long>("iat", out var iatSeconds))
        {
            return Refuse("A DPoP proof carries an iat.");
        }
        var iat = DateTimeOffset.FromUnixTimeSeconds(iatSeconds);
        if (iat < now - _options.MaxAge || iat > now + _options.FutureSkew)
        {
            return Refuse("The DPoP proof is too old, or from the future.");
        }
        if (accessTokenHash is not null)
        {
            var expected = Base64UrlEncoder.Encode(accessTokenHash);
            if (!token.TryGetPayloadValue<string>("ath", out var ath) || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(ath ?? ""), Encoding.ASCII.GetBytes(expected)))
            {
                return Refuse("The DPoP proof is for another access token (ath).");
            }
        }
        if (_options.RequireNonce)
        {
            if (!token.TryGetPayloadValue<string>("nonce", out var nonce) || !NonceIsFresh(nonce, now))
            {
                return (null, new DpopRefusal(DpopRefusal.UseNonce, "Use the nonce in the DPoP-Nonce header.", IssueNonce()));
            }
        }
        // Replay: each proof once, remembered for as long as it could otherwise be accepted.
        var replayKey = thumbprint + " " + jti;
        if (_seen.Count >= _options.ReplayCacheSize)
        {
            Sweep(now);
            if (_seen.Count >= _options.ReplayCacheSize)
            {
                return Refuse("Too many DPoP proofs are in flight to check this one for replay; retry shortly.");
            }
        }
        if (!_seen.TryAdd(replayKey, iat + _options.MaxAge + _options.FutureSkew))
        {
            return Refuse("This DPoP proof was used before.");
        }
        return (new DpopProof(thumbprint, jti), null);
    }

    private static (DpopProof?, DpopRefusal?) Refuse(string description) => (null, new DpopRefusal(DpopRefusal.InvalidProof, description));

    // htu is compared without query and fragment (RFC 9449 §4.3), scheme and host case-insensitively.
    private static bool SameTarget(Uri proof, Uri request) =>
        string.Equals(proof.GetLeftPart(UriPartial.Path), request.GetLeftPart(UriPartial.Path), StringComparison.OrdinalIgnoreCase)
        && string.Equals(proof.AbsolutePath, request.AbsolutePath, StringComparison.Ordinal);

    // The nonce of this window or of the one before (so a nonce offered just before a window ends still works).
    private bool NonceIsFresh(string? nonce, DateTimeOffset now)
    {
        if (nonce is null || nonce.Length > 64)
        {
            return false;
        }
        var window = Window(now);
        var given = Encoding.ASCII.GetBytes(nonce);
        return CryptographicOperations.FixedTimeEquals(given, Encoding.ASCII.GetBytes(Nonce(window)))
            | CryptographicOperations.FixedTimeEquals(given, Encoding.ASCII.GetBytes(Nonce(window - 1)));
    }

    private void Sweep(DateTimeOffset now)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }
        try
        {
            foreach (var (key, until) in _seen)
            {
                if (until < now)
                {
                    _seen.TryRemove(key, out _);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    // The proof's own jwk header: an EC P-256 public key, nothing private.
    private static bool TryPublicKey(JsonWebToken proof, out SecurityKey key, out string thumbprint, out string problem)
    {
        key = null!;
        thumbprint = "";
        problem = "A DPoP proof carries its public key (an EC P-256 jwk) in its header.";
        if (!proof.TryGetHeaderValue<JsonElement>("jwk", out var jwk) || jwk.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        if (jwk.TryGetProperty("d", out _))
        {
            problem = "A DPoP proof's jwk must not hold a private key.";
            return false;
        }
        string? Member(string name) => jwk.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        if (Member("kty") != "EC" || Member("crv") != "P-256" || Member("x") is not { } x || Member("y") is not { } y)
        {
            return false;
        }
        byte[] xBytes, yBytes;
        try
        {
            (xBytes, yBytes) = (Base64UrlEncoder.DecodeBytes(x), Base64UrlEncoder.DecodeBytes(y));
        }
        catch (FormatException)
        {
            return false;
        }
        if (xBytes.Length != 32 || yBytes.Length != 32)
        {
            return false;
        }
        try
        {
            var ecdsa = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = xBytes, Y = yBytes } });
            key = new ECDsaSecurityKey(ecdsa);
        }
        catch (CryptographicException)
        {
            problem = "A DPoP proof's jwk is not a point on P-256.";
            return false;
        }
        thumbprint = JwkThumbprint.OfP256(xBytes, yBytes);
        return true;
    }
}
