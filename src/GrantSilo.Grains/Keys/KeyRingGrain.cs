using System.Security.Cryptography;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
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

/// <summary>One key of a ring: its public half in the clear, its private half wrapped.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.stored-key")]
internal sealed record StoredKey
{
    /// <summary>The key's id: its RFC 7638 JWK thumbprint (SHA-256, base64url).</summary>
    [Id(0)] public required string KeyId { get; init; }

    [Id(1)] public required byte[] X { get; init; }

    [Id(2)] public required byte[] Y { get; init; }

    /// <summary>The PKCS#8 private key, wrapped by <see cref="WrappedBy"/> with the ring's name and the key id bound to it.</summary>
    [Id(3)] public required byte[] WrappedPrivateKey { get; init; }

    /// <summary>The key-encryption key's id.</summary>
    [Id(4)] public required string WrappedBy { get; init; }

    [Id(5)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it starts signing.</summary>
    [Id(6)] public DateTimeOffset ActivatesAt { get; init; }

    /// <summary>When it stopped signing (the next key's activation); null while it signs or waits.</summary>
    [Id(7)] public DateTimeOffset? RetiredAt { get; init; }
}

[GenerateSerializer, Alias("grantsilo.key-ring-state")]
internal sealed class KeyRingState
{
    [Id(0)] public List<StoredKey> Keys { get; set; } = [];
}

internal sealed class KeyRingGrain(
    [PersistentState("key-ring", GrantSiloStorage.Name)] IPersistentState<KeyRingState> state,
    IKeyEncryption encryption,
    IOptions<KeyRingOptions> options,
    [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time)
    : Grain, IKeyRingGrain
{
    private KeyRingOptions Options => options.Value;

    public async Task<KeyRingView> GetAsync()
    {
        var now = time.GetUtcNow();
        var keys = state.State.Keys;
        var changed = false;
        if (keys.Count == 0)
        {
            keys.Add(await NewKeyAsync(now, now));
            changed = true;
        }
        // Every key a later one has replaced retires as its successor starts; the latest to have started signs.
        var started = keys.Where(k => k.RetiredAt is null && k.ActivatesAt <= now).OrderBy(k => k.ActivatesAt).ToList();
        for (var i = 0; i < started.Count - 1; i++)
        {
            keys[keys.IndexOf(started[i])] = started[i] with { RetiredAt = started[i + 1].ActivatesAt };
            changed = true;
        }
        var current = started[^1];
        // The next key is made as soon as a key starts signing, so it is published a whole period before it signs.
        // After a long idle spell the schedule starts again from now, never with a key nobody has seen yet.
        if (!keys.Any(k => k.ActivatesAt > now))
        {
            var activates = current.ActivatesAt + Options.RotationPeriod;
            keys.Add(await NewKeyAsync(now, activates > now ? activates : now + Options.RotationPeriod));
            changed = true;
        }
        // Retired keys stay published until nothing they signed can still be valid.
        changed |= keys.RemoveAll(k => k.RetiredAt is { } retired && retired + Options.RetiredKeyPublication <= now) > 0;
        if (changed)
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                // A key not durably kept is never used: the next activation reads the truth again.
                DeactivateOnIdle();
                throw;
            }
        }
        return new KeyRingView
        {
            Current = current,
            Published = [.. keys],
            ValidUntil = keys.Where(k => k.ActivatesAt > now).Select(k => k.ActivatesAt).DefaultIfEmpty(now + Options.RotationPeriod).Min(),
        };
    }

    private async Task<StoredKey> NewKeyAsync(DateTimeOffset now, DateTimeOffset activatesAt)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        var keyId = GrantSilo.Identity.Tokens.JwkThumbprint.OfP256(parameters.Q.X, parameters.Q.Y);
        var wrapped = await encryption.WrapAsync(key.ExportPkcs8PrivateKey(), KeyRing.WrapContext(this.GetPrimaryKeyString(), keyId), CancellationToken.None);
        return new StoredKey
        {
            KeyId = keyId,
            X = parameters.Q.X!,
            Y = parameters.Q.Y!,
            WrappedPrivateKey = wrapped,
            WrappedBy = encryption.KeyId,
            CreatedAt = now,
            ActivatesAt = activatesAt,
        };
    }
}
