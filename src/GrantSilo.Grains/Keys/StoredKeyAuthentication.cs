using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GrantSilo.Identity.Tokens;

namespace GrantSilo.Grains.Keys;

/// <summary>
/// How a stored key of a ring proves, with the key-encryption key alone (through <see cref="IKeyEncryption"/>, so a KMS
/// plug-in works unchanged), that it is the ring's own key, with the schedule the ring gave it.
/// </summary>
/// <remarks>
/// <para>
/// What never changes after a key is made (its ring, id, <see cref="StoredKey.CreatedAt"/>, <see cref="StoredKey.ActivatesAt"/>
/// and <see cref="StoredKey.SignsUntil"/>) is the context of its private key's wrap, so the wrap authenticates it: a
/// key whose schedule was moved in storage does not unwrap. Its public half is authenticated by the unwrapped private key
/// (its public point must be the stored one, and the id that point's RFC 7638 thumbprint).
/// </para>
/// <para>
/// The one thing that changes, <see cref="StoredKey.RetiredAt"/>, is sealed when it is set: the key's id wrapped with the
/// retirement time in the context. A retirement moved or forged in storage does not unwrap. A retirement removed in
/// storage needs no seal to be undone: retiring is a function of authenticated times (the key's own
/// <see cref="StoredKey.SignsUntil"/> and its successor's <see cref="StoredKey.ActivatesAt"/>), so the ring retires the
/// key again, at the same time, when it next looks.
/// </para>
/// </remarks>
internal static class StoredKeyAuthentication
{
    private static readonly string P256 = ECCurve.NamedCurves.nistP256.Oid.Value!;

    /// <summary>The context the private key of <paramref name="key"/> is wrapped with: its ring, id and schedule.</summary>
    public static string KeyContext(string ring, StoredKey key) => string.Create(CultureInfo.InvariantCulture,
        $"grantsilo/key-ring/v2/key/{Uri.EscapeDataString(ring)}/{key.KeyId}/created={key.CreatedAt.UtcTicks}/activates={key.ActivatesAt.UtcTicks}/signs-until={key.SignsUntil.UtcTicks}");

    /// <summary>The context of the seal over a key's retirement at <paramref name="retiredAt"/>.</summary>
    public static string RetirementContext(string ring, string keyId, DateTimeOffset retiredAt) => string.Create(CultureInfo.InvariantCulture,
        $"grantsilo/key-ring/v2/retired/{Uri.EscapeDataString(ring)}/{keyId}/at={retiredAt.UtcTicks}");

    /// <summary>The seal of <paramref name="key"/>'s retirement at <paramref name="retiredAt"/>.</summary>
    public static ValueTask<byte[]> SealRetirementAsync(IKeyEncryption encryption, string ring, StoredKey key, DateTimeOffset retiredAt, CancellationToken cancellationToken) =>
        encryption.WrapAsync(Encoding.UTF8.GetBytes(key.KeyId), RetirementContext(ring, key.KeyId, retiredAt), cancellationToken);

    /// <summary>
    /// Unwraps the stored key, which authenticates its ring, id and schedule, and checks that it is a P-256 key whose public
    /// point is the stored one and whose id is that point's thumbprint. The private key when it passes (the caller owns
    /// it), else why not, in words holding no key material. A failure of the key-encryption key other than a
    /// <see cref="KeyEncryptionException"/> (a KMS that cannot be reached) is thrown: it says nothing about the key.
    /// </summary>
    public static async ValueTask<(ECDsa? Key, string? Refusal)> UnwrapAsync(IKeyEncryption encryption, string ring, StoredKey stored, CancellationToken cancellationToken)
    {
        if (stored.X is not { Length: 32 } || stored.Y is not { Length: 32 }
            || !string.Equals(stored.KeyId, JwkThumbprint.OfP256(stored.X, stored.Y), StringComparison.Ordinal))
        {
            return (null, "its key id is not the RFC 7638 thumbprint of its stored public key");
        }
        if (stored.WrappedBy != encryption.KeyId)
        {
            return (null, $"it was wrapped by key-encryption key {stored.WrappedBy}, and {encryption.KeyId} is configured");
        }
        if (stored.SignsUntil == default)
        {
            return (null, "it was stored before key schedules were authenticated, so its schedule cannot be trusted");
        }
        byte[] pkcs8;
        try
        {
            pkcs8 = await encryption.UnwrapAsync(stored.WrappedPrivateKey, KeyContext(ring, stored), cancellationToken).ConfigureAwait(false);
        }
        catch (KeyEncryptionException failed)
        {
            return (null, $"its private key, id and schedule do not authenticate: {failed.Message}");
        }
        var key = ECDsa.Create();
        try
        {
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            var parameters = key.ExportParameters(includePrivateParameters: false);
            if (parameters.Curve.Oid?.Value != P256 || !parameters.Q.X.AsSpan().SequenceEqual(stored.X) || !parameters.Q.Y.AsSpan().SequenceEqual(stored.Y))
            {
                key.Dispose();
                return (null, "its private key is not the one of its stored public key");
            }
            return (key, null);
        }
        catch (CryptographicException)
        {
            key.Dispose();
            return (null, "its unwrapped private key is not a P-256 key");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>
    /// Why the stored key's retirement is not authentic, or null when it is (or the key is not retired). Throws as
    /// <see cref="UnwrapAsync"/> does for a failure that says nothing about the key.
    /// </summary>
    public static async ValueTask<string?> CheckRetirementAsync(IKeyEncryption encryption, string ring, StoredKey stored, CancellationToken cancellationToken)
    {
        if (stored.RetiredAt is not { } retiredAt)
        {
            // A key whose retirement was removed is retired again from authenticated times; a seal left behind means nothing.
            return null;
        }
        if (stored.RetirementSeal is null)
        {
            return "its retirement time is not sealed by the key-encryption key";
        }
        byte[] sealedId;
        try
        {
            sealedId = await encryption.UnwrapAsync(stored.RetirementSeal, RetirementContext(ring, stored.KeyId, retiredAt), cancellationToken).ConfigureAwait(false);
        }
        catch (KeyEncryptionException)
        {
            return "its retirement time is not the one the key-encryption key sealed";
        }
        return sealedId.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(stored.KeyId)) ? null : "its retirement seal is another key's";
    }
}
