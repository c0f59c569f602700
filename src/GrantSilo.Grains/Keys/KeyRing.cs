using System.Collections.Concurrent;
using System.Security.Cryptography;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Hosting;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Extensions.DependencyInjection;

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
public sealed class KeyRing(IGrainFactory grains, IKeyEncryption encryption, [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time) : IDisposable
{
    /// <summary>The ring that signs credentials.</summary>
    public const string Credentials = "credentials";

    // A view is asked for again at least this often, so a rotation made by another silo is seen within it.
    private static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Cached> _rings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ECDsa> _unwrapped = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ECDsa> _public = new(StringComparer.Ordinal);

    /// <summary>The key that signs now. Throws <see cref="KeyEncryptionException"/> when it cannot be unwrapped (fail closed).</summary>
    public async ValueTask<SigningKey> GetSigningKeyAsync(string ring, CancellationToken cancellationToken)
    {
        var view = await ViewAsync(ring, cancellationToken).ConfigureAwait(false);
        var current = view.Current;
        if (!_unwrapped.TryGetValue(current.KeyId, out var key))
        {
            if (current.WrappedBy != encryption.KeyId)
            {
                throw new KeyEncryptionException($"The signing key {current.KeyId} was wrapped by key-encryption key {current.WrappedBy}, and {encryption.KeyId} is configured.");
            }
            var pkcs8 = await encryption.UnwrapAsync(current.WrappedPrivateKey, WrapContext(ring, current.KeyId), cancellationToken).ConfigureAwait(false);
            try
            {
                key = ECDsa.Create();
                key.ImportPkcs8PrivateKey(pkcs8, out _);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pkcs8);
            }
            key = _unwrapped.GetOrAdd(current.KeyId, key);
        }
        return new SigningKey(current.KeyId, key, view.ValidUntil);
    }

    /// <summary>The public keys of <paramref name="ring"/> a verifier needs now, the signing key first.</summary>
    public async ValueTask<IReadOnlyList<PublishedKey>> GetPublishedAsync(string ring, CancellationToken cancellationToken)
    {
        var view = await ViewAsync(ring, cancellationToken).ConfigureAwait(false);
        return [.. view.Published.OrderByDescending(k => k.KeyId == view.Current.KeyId).ThenByDescending(k => k.ActivatesAt)
            .Select(k => new PublishedKey { Kid = k.KeyId, X = Base64UrlEncoder.Encode(k.X), Y = Base64UrlEncoder.Encode(k.Y) })];
    }

    /// <summary>
    /// The public key named <paramref name="keyId"/> while <paramref name="ring"/> publishes it, made once and kept; null
    /// for a key the ring does not publish now (unknown, or retired and gone). Verifying with it needs no grain call
    /// while the ring's view is fresh.
    /// </summary>
    public async ValueTask<ECDsa?> GetVerificationKeyAsync(string ring, string keyId, CancellationToken cancellationToken)
    {
        var view = await ViewAsync(ring, cancellationToken).ConfigureAwait(false);
        foreach (var published in view.Published)
        {
            if (published.KeyId == keyId)
            {
                return _public.TryGetValue(keyId, out var known) ? known : _public.GetOrAdd(keyId, _ => PublicKey(published));
            }
        }
        return null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var key in _unwrapped.Values.Concat(_public.Values))
        {
            key.Dispose();
        }
    }

    private static ECDsa PublicKey(StoredKey key) => ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = key.X, Y = key.Y },
    });

    internal static string WrapContext(string ring, string keyId) => $"grantsilo/key-ring/{ring}/{keyId}";

    private async ValueTask<KeyRingView> ViewAsync(string ring, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_rings.TryGetValue(ring, out var cached) && now < cached.FreshUntil)
        {
            return cached.View;
        }
        KeyRingView view;
        // The ring is the cluster's own business, whoever's request needed it.
        using (OutsideCalls.Leave())
        {
            view = await grains.GetGrainByKey<IKeyRingGrain>(ring).GetAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        var freshUntil = now + Refresh;
        _rings[ring] = new Cached(view, view.ValidUntil < freshUntil ? view.ValidUntil : freshUntil);
        return view;
    }

    private sealed record Cached(KeyRingView View, DateTimeOffset FreshUntil);
}
