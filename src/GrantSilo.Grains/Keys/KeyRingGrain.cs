using System.Security.Cryptography;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Keys;

/// <summary>
/// One named ring of GrantSilo's signing keys (ES256, P-256), kept in grain storage with every private key wrapped by
/// the key-encryption key (<see cref="IKeyEncryption"/>). Internal to the cluster: no outside caller may call it.
/// </summary>
[Alias("grantsilo.IKeyRingGrain")]
internal interface IKeyRingGrain : IGrainWithStringKey
{
    /// <summary>
    /// The ring as it stands now, rotated first if its time has come: the key that signs now, and every key a verifier
    /// must know (the next one, published ahead of use, and retired ones until nothing they signed can still be valid).
    /// </summary>
    [Alias("Get")]
    Task<KeyRingView> GetAsync();
}

/// <summary>What a silo needs of a ring: the signing key (still wrapped) and the keys to publish.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.key-ring-view")]
internal sealed record KeyRingView
{
    [Id(0)] public required StoredKey Current { get; init; }

    [Id(1)] public required IReadOnlyList<StoredKey> Published { get; init; }

    /// <summary>When this view stops being current (the next key takes over).</summary>
    [Id(2)] public DateTimeOffset ValidUntil { get; init; }
}

/// <summary>
/// One key of a ring: its public half in the clear, its private half wrapped. Everything that decides whether and when it
/// is trusted or used is authenticated by the key-encryption key (<see cref="StoredKeyAuthentication"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.stored-key")]
internal sealed record StoredKey
{
    /// <summary>The key's id: its RFC 7638 JWK thumbprint (SHA-256, base64url).</summary>
    [Id(0)] public required string KeyId { get; init; }

    [Id(1)] public required byte[] X { get; init; }

    [Id(2)] public required byte[] Y { get; init; }

    /// <summary>
    /// The PKCS#8 private key, wrapped by <see cref="WrappedBy"/> with the ring's name, the key id and the key's schedule
    /// (<see cref="CreatedAt"/>, <see cref="ActivatesAt"/>, <see cref="SignsUntil"/>) bound to it.
    /// </summary>
    [Id(3)] public required byte[] WrappedPrivateKey { get; init; }

    /// <summary>The key-encryption key's id.</summary>
    [Id(4)] public required string WrappedBy { get; init; }

    [Id(5)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it starts signing.</summary>
    [Id(6)] public DateTimeOffset ActivatesAt { get; init; }

    /// <summary>When it stopped signing (the next key's activation); null while it signs or waits. Sealed by <see cref="RetirementSeal"/>.</summary>
    [Id(7)] public DateTimeOffset? RetiredAt { get; init; }

    /// <summary>
    /// The latest it may sign, fixed when it is made (its activation plus the rotation period): it retires then at the
    /// latest, whatever storage says, so no key is ever used or published past the schedule it was made with.
    /// </summary>
    [Id(8)] public DateTimeOffset SignsUntil { get; init; }

    /// <summary>The key-encryption key's seal over <see cref="RetiredAt"/>, made when the key retired.</summary>
    [Id(9)] public byte[]? RetirementSeal { get; init; }
}

[GenerateSerializer, Alias("grantsilo.key-ring-state")]
internal sealed class KeyRingState
{
    [Id(0)] public List<StoredKey> Keys { get; set; } = [];
}

/// <remarks>
/// The ring trusts nothing it reads from storage until the key-encryption key has authenticated it: once per activation,
/// before its first answer, every stored key is unwrapped and its schedule and retirement checked
/// (<see cref="StoredKeyAuthentication"/>). A key that fails is dropped from the ring, and logged (its id and why): it
/// is never published nor used again. The ring then goes on as it would have without it; when no trustworthy key signs
/// now, a fresh one is made that signs at once. A silo that cannot judge the ring (no stored key names its key-encryption
/// key, or its KMS cannot be reached) answers nothing and writes nothing, rather than remake a ring it cannot read.
/// </remarks>
internal sealed partial class KeyRingGrain(
    [PersistentState("key-ring", GrantSiloStorage.Name)] IPersistentState<KeyRingState> state,
    IKeyEncryption encryption,
    IOptions<KeyRingOptions> options,
    [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time,
    ILogger<KeyRingGrain> logger)
    : Grain, IKeyRingGrain
{
    // Whether this activation has authenticated what it read from storage (what it wrote itself it trusts).
    private bool _authenticated;

    private KeyRingOptions Options => options.Value;

    private string Ring => this.GetPrimaryKeyString();

    public async Task<KeyRingView> GetAsync()
    {
        try
        {
            return await GetOrRotateAsync();
        }
        catch
        {
            // Nothing half done is kept: a key not durably kept is never used, and a ring not authenticated is not
            // trusted. The next activation reads (and authenticates) the truth again.
            DeactivateOnIdle();
            throw;
        }
    }

    private async Task<KeyRingView> GetOrRotateAsync()
    {
        var now = time.GetUtcNow();
        var keys = state.State.Keys;
        var changed = false;
        if (!_authenticated)
        {
            changed |= await DropUnauthenticKeysAsync(keys);
            _authenticated = true;
        }
        // A key retires when the key after it starts, or at the end of its own period, whichever comes first. Both times
        // are authenticated, so a retirement removed in storage is made again, at the same time: retiring is one-way.
        var started = keys.Where(k => k.ActivatesAt <= now).OrderBy(k => k.ActivatesAt).ToList();
        for (var i = 0; i < started.Count; i++)
        {
            var key = started[i];
            if (key.RetiredAt is not null)
            {
                continue;
            }
            var end = i + 1 < started.Count && started[i + 1].ActivatesAt < key.SignsUntil ? started[i + 1].ActivatesAt : key.SignsUntil;
            if (end <= now)
            {
                keys[keys.IndexOf(key)] = key with { RetiredAt = end, RetirementSeal = await StoredKeyAuthentication.SealRetirementAsync(encryption, Ring, key, end, CancellationToken.None) };
                changed = true;
            }
        }
        // At most one started key is left unretired: the one that signs.
        var current = keys.Where(k => k.RetiredAt is null && k.ActivatesAt <= now).MaxBy(k => k.ActivatesAt);
        if (current is null)
        {
            // A new ring; or one idle past the end of every key's period (no verifier can still hold a key set fetched
            // before the spell: fetching it uses the ring); or one whose signing key failed authentication.
            current = await NewKeyAsync(now, now);
            keys.Add(current);
            changed = true;
        }
        // The next key is made as soon as a key starts signing, so it is published a whole period before it signs.
        if (!keys.Any(k => k.ActivatesAt > now))
        {
            keys.Add(await NewKeyAsync(now, current.SignsUntil));
            changed = true;
        }
        // Retired keys stay published until nothing they signed can still be valid.
        changed |= keys.RemoveAll(k => k.RetiredAt is { } retired && retired + Options.RetiredKeyPublication <= now) > 0;
        if (changed)
        {
            await state.WriteStateAsync();
        }
        var nextStart = keys.Where(k => k.ActivatesAt > now).Select(k => k.ActivatesAt).Min();
        return new KeyRingView
        {
            Current = current,
            Published = [.. keys],
            ValidUntil = nextStart < current.SignsUntil ? nextStart : current.SignsUntil,
        };
    }

    // Authenticates every key read from storage, and drops (and logs) each that fails; whether any was dropped.
    private async Task<bool> DropUnauthenticKeysAsync(List<StoredKey> keys)
    {
        if (keys.Count > 0 && !keys.Any(k => k.WrappedBy == encryption.KeyId))
        {
            // Not a judgement on the keys: this silo holds another key-encryption key (or none), and must not remake the ring.
            throw new KeyEncryptionException(
                $"No stored key of ring '{Ring}' was wrapped by the key-encryption key this silo holds ({encryption.KeyId}); configure the same {KeyRingOptions.SectionName}:KeyEncryptionKey on every silo. The ring is left as stored.");
        }
        var dropped = false;
        for (var i = keys.Count - 1; i >= 0; i--)
        {
            var stored = keys[i];
            var (key, refusal) = await StoredKeyAuthentication.UnwrapAsync(encryption, Ring, stored, CancellationToken.None);
            key?.Dispose();
            refusal ??= await StoredKeyAuthentication.CheckRetirementAsync(encryption, Ring, stored, CancellationToken.None);
            if (refusal is not null)
            {
                LogKeyNotAuthentic(logger, Ring, stored.KeyId, refusal);
                keys.RemoveAt(i);
                dropped = true;
            }
        }
        return dropped;
    }

    private async Task<StoredKey> NewKeyAsync(DateTimeOffset now, DateTimeOffset activatesAt)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        var made = new StoredKey
        {
            KeyId = GrantSilo.Identity.Tokens.JwkThumbprint.OfP256(parameters.Q.X, parameters.Q.Y),
            X = parameters.Q.X!,
            Y = parameters.Q.Y!,
            WrappedPrivateKey = [],
            WrappedBy = encryption.KeyId,
            CreatedAt = now,
            ActivatesAt = activatesAt,
            SignsUntil = activatesAt + Options.RotationPeriod,
        };
        var pkcs8 = key.ExportPkcs8PrivateKey();
        try
        {
            return made with { WrappedPrivateKey = await encryption.WrapAsync(pkcs8, StoredKeyAuthentication.KeyContext(Ring, made), CancellationToken.None) };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }
}
