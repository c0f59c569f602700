using System.Collections.Concurrent;
using System.Security.Cryptography;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Hosting;
using GrantSilo.Identity.Tokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Keys;

/// <summary>A ring's signing key, ready to sign: its id and its private key, unwrapped in this silo's memory only.</summary>
public sealed record SigningKey(string KeyId, ECDsa Key, DateTimeOffset ValidUntil);

/// <summary>A public key a verifier needs, as a JSON Web Key (RFC 7517) of an ES256 key.</summary>
public sealed record PublishedKey
{
    public string Kty => "EC";

    public string Crv => "P-256";

    public required string Kid { get; init; }

    public required string X { get; init; }

    public required string Y { get; init; }

    public string Use => "sig";

    public string Alg => "ES256";
}

/// <summary>
/// GrantSilo's signing keys on this silo: each ring's current key, unwrapped once and kept in memory until the ring
/// rotates, and the public keys a verifier needs (the JWKS). The rings themselves are grains, shared by every silo.
/// </summary>
/// <remarks>
/// The ring's grain authenticates every key it reads from storage (<see cref="StoredKeyAuthentication"/>) before it
/// answers, and drops those that fail. A silo checks each key of a view again, once (when a view of the ring first holds
/// it), never per token: it unwraps it (which authenticates its ring, id and schedule) and checks that its private key's
/// public point is the stored one and that its id is that point's RFC 7638 thumbprint. A key written into storage by
/// someone without the key-encryption key is neither published nor trusted.
/// </remarks>
public sealed partial class KeyRing(IGrainFactory grains, IKeyEncryption encryption, [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time, ILogger<KeyRing> logger) : IDisposable
{
    /// <summary>The ring that signs credentials.</summary>
    public const string Credentials = "credentials";

    // A view is asked for again at least this often, so a rotation made by another silo is seen within it.
    private static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Cached> _rings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ECDsa> _unwrapped = new(StringComparer.Ordinal);
    // Keys that passed the check, by ring and id: the public point they were checked with, and the key made from it.
    private readonly ConcurrentDictionary<string, Authentic> _authentic = new(StringComparer.Ordinal);
    // Keys that failed it, by ring and id: what was stored (a digest), so an unchanged key is neither checked nor logged again.
    private readonly ConcurrentDictionary<string, Refused> _refused = new(StringComparer.Ordinal);

    /// <summary>The key that signs now. Throws <see cref="KeyEncryptionException"/> when it cannot be unwrapped or does not match its public half (fail closed).</summary>
    public async ValueTask<SigningKey> GetSigningKeyAsync(string ring, CancellationToken cancellationToken)
    {
        var cached = await ViewAsync(ring, cancellationToken).ConfigureAwait(false);
        var current = cached.View.Current;
        if (!cached.Trusted.Any(k => k.KeyId == current.KeyId))
        {
            var why = _refused.TryGetValue(Name(ring, current.KeyId), out var refused) ? refused.Reason : "it is not among the ring's authenticated keys";
            throw new KeyEncryptionException($"The signing key {current.KeyId} of ring '{ring}' cannot be used: {why}.");
        }
        if (!_unwrapped.TryGetValue(Name(ring, current.KeyId), out var key))
        {
            var (unwrapped, refusal) = await StoredKeyAuthentication.UnwrapAsync(encryption, ring, current, cancellationToken).ConfigureAwait(false);
            key = unwrapped ?? throw new KeyEncryptionException($"The signing key {current.KeyId} of ring '{ring}' cannot be used: {refusal}.");
            var kept = _unwrapped.GetOrAdd(Name(ring, current.KeyId), key);
            if (!ReferenceEquals(kept, key))
            {
                key.Dispose();
            }
            key = kept;
        }
        return new SigningKey(current.KeyId, key, cached.View.ValidUntil);
    }

    /// <summary>
    /// The public keys of <paramref name="ring"/> a verifier needs now, the signing key first: only keys whose stored public
    /// half the ring's own wrapped private key vouches for. Throws <see cref="KeyEncryptionException"/> when no key of the ring
    /// can be used on this silo (no key-encryption key, or another one).
    /// </summary>
    public async ValueTask<IReadOnlyList<PublishedKey>> GetPublishedAsync(string ring, CancellationToken cancellationToken)
    {
        var cached = await ViewAsync(ring, cancellationToken).ConfigureAwait(false);
        if (cached.Trusted.Count == 0)
        {
            var current = cached.View.Current;
            var why = _refused.TryGetValue(Name(ring, current.KeyId), out var refused) ? refused.Reason : "none could be checked";
            throw new KeyEncryptionException($"No key of ring '{ring}' can be used on this silo; its signing key {current.KeyId}: {why}.");
        }
        return [.. cached.Trusted.OrderByDescending(k => k.KeyId == cached.View.Current.KeyId).ThenByDescending(k => k.ActivatesAt)
            .Select(k => new PublishedKey { Kid = k.KeyId, X = Base64UrlEncoder.Encode(k.X), Y = Base64UrlEncoder.Encode(k.Y) })];
    }

    /// <summary>
    /// The public key named <paramref name="keyId"/> while <paramref name="ring"/> publishes it, made once and kept; null
    /// for a key the ring does not publish now (unknown, retired and gone, or not vouched for by its wrapped private key).
    /// Verifying with it needs no grain call while the ring's view is fresh.
    /// </summary>
    public async ValueTask<ECDsa?> GetVerificationKeyAsync(string ring, string keyId, CancellationToken cancellationToken)
    {
        var cached = await ViewAsync(ring, cancellationToken).ConfigureAwait(false);
        foreach (var trusted in cached.Trusted)
        {
            if (trusted.KeyId == keyId && _authentic.TryGetValue(Name(ring, keyId), out var authentic))
            {
                return authentic.Key;
            }
        }
        return null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var key in _unwrapped.Values.Concat(_authentic.Values.Select(a => a.Key)))
        {
            key.Dispose();
        }
    }

    private static ECDsa PublicKey(StoredKey key) => ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = key.X, Y = key.Y },
    });

    private static string Name(string ring, string keyId) => $"{ring}/{keyId}";

    private async ValueTask<Cached> ViewAsync(string ring, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_rings.TryGetValue(ring, out var cached) && now < cached.FreshUntil)
        {
            return cached;
        }
        KeyRingView view;
        // The ring is the cluster's own business, whoever's request needed it.
        using (OutsideCalls.Leave())
        {
            view = await grains.GetGrainByKey<IKeyRingGrain>(ring).GetAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        var trusted = new List<StoredKey>(view.Published.Count);
        foreach (var key in view.Published)
        {
            if (await IsAuthenticAsync(ring, key, keepUnwrapped: key.KeyId == view.Current.KeyId, cancellationToken).ConfigureAwait(false))
            {
                trusted.Add(key);
            }
        }
        var freshUntil = now + Refresh;
        cached = new Cached(view, trusted, view.ValidUntil < freshUntil ? view.ValidUntil : freshUntil);
        _rings[ring] = cached;
        return cached;
    }

    // Whether the stored key may be published and trusted: checked the first time this silo sees it (as stored now).
    private async ValueTask<bool> IsAuthenticAsync(string ring, StoredKey stored, bool keepUnwrapped, CancellationToken cancellationToken)
    {
        var name = Name(ring, stored.KeyId);
        if (_authentic.TryGetValue(name, out var known))
        {
            // The id is the thumbprint of the point it was checked with: the same id with another point is not this key.
            return known.X.AsSpan().SequenceEqual(stored.X) && known.Y.AsSpan().SequenceEqual(stored.Y);
        }
        var digest = Digest(stored);
        if (_refused.TryGetValue(name, out var refused) && refused.Digest.AsSpan().SequenceEqual(digest))
        {
            return false;
        }
        var (key, refusal) = await StoredKeyAuthentication.UnwrapAsync(encryption, ring, stored, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            var entry = new Refused(digest, refusal!);
            if (refused is null ? _refused.TryAdd(name, entry) : _refused.TryUpdate(name, entry, refused))
            {
                LogKeyRefused(logger, ring, stored.KeyId, refusal!);
            }
            return false;
        }
        // Only the key that signs now is kept unwrapped; the others were unwrapped to be checked, and are let go.
        if (!keepUnwrapped || !_unwrapped.TryAdd(name, key))
        {
            key.Dispose();
        }
        var made = new Authentic(stored.X, stored.Y, PublicKey(stored));
        if (!ReferenceEquals(_authentic.GetOrAdd(name, made), made))
        {
            made.Key.Dispose();
        }
        return true;
    }

    private static byte[] Digest(StoredKey stored)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(stored.X ?? []);
        hash.AppendData(stored.Y ?? []);
        hash.AppendData(stored.WrappedPrivateKey ?? []);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(stored.WrappedBy ?? ""));
        // The schedule is authenticated with the wrap, so a key whose schedule changed is checked again.
        Span<byte> times = stackalloc byte[3 * sizeof(long)];
        BitConverter.TryWriteBytes(times, stored.CreatedAt.UtcTicks);
        BitConverter.TryWriteBytes(times[sizeof(long)..], stored.ActivatesAt.UtcTicks);
        BitConverter.TryWriteBytes(times[(2 * sizeof(long))..], stored.SignsUntil.UtcTicks);
        hash.AppendData(times);
        return hash.GetHashAndReset();
    }

    private sealed record Cached(KeyRingView View, IReadOnlyList<StoredKey> Trusted, DateTimeOffset FreshUntil);

    private sealed record Authentic(byte[] X, byte[] Y, ECDsa Key);

    private sealed record Refused(byte[] Digest, string Reason);
}
