using System.Security.Cryptography;
using GrantSilo.Grains.Keys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// GrantSilo's signing key rings: made on first use, the next key published a period ahead, rotated on schedule, a
/// retired key published until nothing it signed can be valid, kept across activations, and stored only wrapped by the
/// key-encryption key, which must match for a key to be used.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class KeyRingTests(ClusterFixture fixture)
{
    private IServiceProvider Silo => ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;

    private KeyRingOptions Options => Silo.GetRequiredService<IOptions<KeyRingOptions>>().Value;

    // A ring of its own per test: the silo's rings outlive a test, and time moves for every test of the collection.
    private static string NewRing() => $"test-{Guid.NewGuid():N}";

    // A fresh view each time (the silo's service keeps one for a minute).
    private KeyRing NewService() => ActivatorUtilities.CreateInstance<KeyRing>(Silo);

    [Fact]
    public async Task FirstUse_MakesTheSigningKey_AndPublishesTheNextAhead()
    {
        var ring = NewRing();
        using var keys = NewService();

        var signing = await keys.GetSigningKeyAsync(ring, CancellationToken.None);
        var published = await keys.GetPublishedAsync(ring, CancellationToken.None);

        Assert.Equal(2, published.Count);
        Assert.Equal(signing.KeyId, published[0].Kid);
        Assert.NotEqual(published[0].Kid, published[1].Kid);
        Assert.All(published, key => Assert.Equal(("EC", "P-256", "ES256", "sig"), (key.Kty, key.Crv, key.Alg, key.Use)));
        // What it signs verifies with the published key, whose id is its RFC 7638 thumbprint.
        var data = "a credential"u8.ToArray();
        var signature = signing.Key.SignData(data, HashAlgorithmName.SHA256);
        using var verifier = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlDecode(published[0].X), Y = Base64UrlDecode(published[0].Y) },
        });
        Assert.True(verifier.VerifyData(data, signature, HashAlgorithmName.SHA256));
        Assert.Equal(published[0].Kid, GrantSilo.Identity.Tokens.JwkThumbprint.OfP256(Base64UrlDecode(published[0].X), Base64UrlDecode(published[0].Y)));
    }

    [Fact]
    public async Task Rotation_TheNextKeySigns_TheOldStaysPublishedUntilItsTokensCannotBeValid()
    {
        var ring = NewRing();
        using (var keys = NewService())
        {
            var first = await keys.GetSigningKeyAsync(ring, CancellationToken.None);
            var next = (await keys.GetPublishedAsync(ring, CancellationToken.None))[1].Kid;

            fixture.Time.Advance(Options.RotationPeriod);
            using var later = NewService();
            var second = await later.GetSigningKeyAsync(ring, CancellationToken.None);
            Assert.Equal(next, second.KeyId);
            var published = (await later.GetPublishedAsync(ring, CancellationToken.None)).Select(k => k.Kid).ToList();
            Assert.Equal(second.KeyId, published[0]);
            Assert.Contains(first.KeyId, published);
            Assert.Equal(3, published.Count);

            // Once nothing the first key signed can still be valid, it is no longer published.
            fixture.Time.Advance(Options.RetiredKeyPublication);
            using var afterwards = NewService();
            var remaining = (await afterwards.GetPublishedAsync(ring, CancellationToken.None)).Select(k => k.Kid).ToList();
            Assert.DoesNotContain(first.KeyId, remaining);
            Assert.Contains(second.KeyId, remaining);
        }
    }

    [Fact]
    public async Task TheRing_OutlivesItsActivation()
    {
        var ring = NewRing();
        using var keys = NewService();
        var before = await keys.GetSigningKeyAsync(ring, CancellationToken.None);

        await fixture.SiloGrains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        using var again = NewService();
        var after = await again.GetSigningKeyAsync(ring, CancellationToken.None);

        Assert.Equal(before.KeyId, after.KeyId);
    }

    [Fact]
    public async Task StoredRing_HoldsPrivateKeysOnlyWrapped()
    {
        var ring = NewRing();
        using var keys = NewService();
        var signing = await keys.GetSigningKeyAsync(ring, CancellationToken.None);
        var privateScalar = signing.Key.ExportParameters(includePrivateParameters: true).D!;
        var pkcs8 = signing.Key.ExportPkcs8PrivateKey();

        var storage = Silo.GetRequiredKeyedService<IGrainStorage>(GrantSilo.Grains.Hosting.GrantSiloStorage.Name);
        var stored = new StateHolder();
        await storage.ReadStateAsync("key-ring", GrainId.Create("keyring", ring), stored);

        Assert.NotEmpty(stored.State.Keys);
        foreach (var key in stored.State.Keys)
        {
            Assert.False(key.WrappedPrivateKey.AsSpan().IndexOf(privateScalar) >= 0, "the private scalar is stored in the clear");
            Assert.False(key.WrappedPrivateKey.AsSpan().IndexOf(pkcs8) >= 0, "the PKCS#8 key is stored in the clear");
            Assert.Equal(Silo.GetRequiredService<IKeyEncryption>().KeyId, key.WrappedBy);
        }
    }

    [Fact]
    public async Task AnotherKeyEncryptionKey_CannotUseTheRing_FailClosed()
    {
        var ring = NewRing();
        using var keys = NewService();
        var signing = await keys.GetSigningKeyAsync(ring, CancellationToken.None);

        // A silo configured with another key-encryption key refuses the stored key rather than misreading it.
        var other = new ConfiguredKeyEncryption(Microsoft.Extensions.Options.Options.Create(new KeyRingOptions { KeyEncryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }));
        using var elsewhere = ActivatorUtilities.CreateInstance<KeyRing>(Silo, (IKeyEncryption)other);
        var refused = await Assert.ThrowsAsync<KeyEncryptionException>(() => elsewhere.GetSigningKeyAsync(ring, CancellationToken.None).AsTask());
        Assert.Contains(signing.KeyId, refused.Message, StringComparison.Ordinal);

        // Ciphertext altered in storage, or unwrapped for another key's context: refused too.
        var mine = Silo.GetRequiredService<IKeyEncryption>();
        var wrapped = await mine.WrapAsync(new byte[] { 1, 2, 3 }, "grantsilo/key-ring/a/b", CancellationToken.None);
        await Assert.ThrowsAsync<KeyEncryptionException>(() => mine.UnwrapAsync(wrapped, "grantsilo/key-ring/a/c", CancellationToken.None).AsTask());
        wrapped[^1] ^= 1;
        await Assert.ThrowsAsync<KeyEncryptionException>(() => mine.UnwrapAsync(wrapped, "grantsilo/key-ring/a/b", CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task WithoutAKeyEncryptionKey_NoKeyIsMadeOrUsed()
    {
        var none = new ConfiguredKeyEncryption(Microsoft.Extensions.Options.Options.Create(new KeyRingOptions()));

        var refused = await Assert.ThrowsAsync<KeyEncryptionException>(() => none.WrapAsync(new byte[32], "x", CancellationToken.None).AsTask());

        Assert.Contains("GrantSilo:Keys:KeyEncryptionKey", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStoredKeyItsWrappedPrivateKeyDoesNotVouchFor_IsNeitherPublishedNorTrusted()
    {
        // Someone who can write grain storage, but does not hold the key-encryption key, appends a key of their own to the
        // credentials ring: its public half and its thumbprint as kid are right, its wrapped private half is junk, and it
        // would sign only years from now (so it never disturbs the ring's schedule for the other tests).
        using var keys = NewService();
        var genuine = await keys.GetSigningKeyAsync(KeyRing.Credentials, CancellationToken.None);
        var storage = Silo.GetRequiredKeyedService<IGrainStorage>(GrantSilo.Grains.Hosting.GrantSiloStorage.Name);
        var grainId = GrainId.Create("keyring", KeyRing.Credentials);
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = attacker.ExportParameters(includePrivateParameters: false).Q;
        var attackerKid = GrantSilo.Identity.Tokens.JwkThumbprint.OfP256(q.X, q.Y);
        var now = fixture.Time.GetUtcNow();
        var stored = new StateHolder();
        await storage.ReadStateAsync("key-ring", grainId, stored);
        stored.State.Keys.Add(new StoredKey
        {
            KeyId = attackerKid,
            X = q.X!,
            Y = q.Y!,
            WrappedPrivateKey = RandomNumberGenerator.GetBytes(180),
            WrappedBy = Silo.GetRequiredService<IKeyEncryption>().KeyId,
            CreatedAt = now,
            ActivatesAt = now + TimeSpan.FromDays(3650),
        });
        await storage.WriteStateAsync("key-ring", grainId, stored);
        try
        {
            // A silo that reads the ring afresh.
            await fixture.SiloGrains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
            using var fresh = NewService();
            var verifier = ActivatorUtilities.CreateInstance<GrantSilo.Grains.Tokens.CredentialTokenVerifier>(Silo, fresh);

            var published = (await fresh.GetPublishedAsync(KeyRing.Credentials, CancellationToken.None)).Select(k => k.Kid).ToList();
            Assert.DoesNotContain(attackerKid, published);
            Assert.Contains(genuine.KeyId, published);

            // A token the attacker signs is refused; the same claims signed by the ring's own key verify.
            var claims = Claims(now);
            var (forged, refusal) = await verifier.VerifyAsync(GrantSilo.Identity.Tokens.CredentialJwt.Create(claims, attacker, attackerKid), CancellationToken.None);
            Assert.Null(forged);
            Assert.Equal("no published key has its key id", refusal);
            var signing = await fresh.GetSigningKeyAsync(KeyRing.Credentials, CancellationToken.None);
            var (real, realRefusal) = await verifier.VerifyAsync(GrantSilo.Identity.Tokens.CredentialJwt.Create(claims, signing.Key, signing.KeyId), CancellationToken.None);
            Assert.True(real is not null, realRefusal);
        }
        finally
        {
            var restored = new StateHolder();
            await storage.ReadStateAsync("key-ring", grainId, restored);
            restored.State.Keys.RemoveAll(k => k.KeyId == attackerKid);
            await storage.WriteStateAsync("key-ring", grainId, restored);
            await fixture.SiloGrains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        }
    }

    [Fact]
    public async Task ARetirementExtendedInStorage_IsNeitherPublishedNorTrusted()
    {
        // After a rotation, someone who can write grain storage pushes the retired key's retirement years ahead, to keep
        // it published (and tokens it signed, or a thief of it signs, trusted) long after it should have gone.
        var ring = NewRing();
        var (retired, current) = await RotatedAsync(ring);
        await EditStoredAsync(ring, keys => [.. keys.Select(k => k.KeyId == retired ? k with { RetiredAt = k.RetiredAt!.Value.AddYears(10) } : k)]);

        using var fresh = NewService();
        var published = (await fresh.GetPublishedAsync(ring, CancellationToken.None)).Select(k => k.Kid).ToList();
        Assert.DoesNotContain(retired, published);
        Assert.Null(await fresh.GetVerificationKeyAsync(ring, retired, CancellationToken.None));
        // The ring goes on with the keys that authenticate.
        Assert.Equal(current, (await fresh.GetSigningKeyAsync(ring, CancellationToken.None)).KeyId);
        Assert.NotNull(await fresh.GetVerificationKeyAsync(ring, current, CancellationToken.None));
    }

    [Fact]
    public async Task ARetiredKeyReplayedWithoutItsRetirement_NeverSignsAgain_AndLeavesOnSchedule()
    {
        // After a rotation, storage is set back to the retired key's own earlier entry (authentic: wrapped by the ring,
        // not yet retired), and every later key is removed: a replay meant to make the old key sign again.
        var ring = NewRing();
        var (retired, current) = await RotatedAsync(ring);
        await EditStoredAsync(ring, keys => [.. keys.Where(k => k.KeyId == retired).Select(k => k with { RetiredAt = null, RetirementSeal = null })]);

        using var fresh = NewService();
        var signing = await fresh.GetSigningKeyAsync(ring, CancellationToken.None);
        Assert.NotEqual(retired, signing.KeyId);
        Assert.NotEqual(current, signing.KeyId);
        // It retires again at the end of the period it was made with, so it leaves the key set when it would have.
        fixture.Time.Advance(Options.RetiredKeyPublication);
        using var later = NewService();
        Assert.DoesNotContain(retired, (await later.GetPublishedAsync(ring, CancellationToken.None)).Select(k => k.Kid));
        Assert.Null(await later.GetVerificationKeyAsync(ring, retired, CancellationToken.None));
        Assert.Equal(signing.KeyId, (await later.GetSigningKeyAsync(ring, CancellationToken.None)).KeyId);
    }

    [Fact]
    public async Task AKeyWhoseActivationWasMovedInStorage_NeverSigns_AndTheRingMakesAnotherNext()
    {
        // The next key is moved to sign now, a period early.
        var ring = NewRing();
        using var keys = NewService();
        var signing = await keys.GetSigningKeyAsync(ring, CancellationToken.None);
        var next = (await keys.GetPublishedAsync(ring, CancellationToken.None))[1].Kid;
        var now = fixture.Time.GetUtcNow();
        await EditStoredAsync(ring, stored => [.. stored.Select(k => k.KeyId == next ? k with { ActivatesAt = now - TimeSpan.FromSeconds(1) } : k)]);

        using var fresh = NewService();
        Assert.Equal(signing.KeyId, (await fresh.GetSigningKeyAsync(ring, CancellationToken.None)).KeyId);
        var published = (await fresh.GetPublishedAsync(ring, CancellationToken.None)).Select(k => k.Kid).ToList();
        Assert.DoesNotContain(next, published);
        Assert.Null(await fresh.GetVerificationKeyAsync(ring, next, CancellationToken.None));
        // A new next key is published ahead in its place, and signs when the period ends.
        Assert.Equal(2, published.Count);
        fixture.Time.Advance(Options.RotationPeriod);
        using var later = NewService();
        Assert.Equal(published[1], (await later.GetSigningKeyAsync(ring, CancellationToken.None)).KeyId);
    }

    [Fact]
    public async Task ASigningKeyWhoseScheduleWasMovedInStorage_IsDropped_AndAFreshKeySigns()
    {
        var ring = NewRing();
        using var keys = NewService();
        var signing = await keys.GetSigningKeyAsync(ring, CancellationToken.None);
        var next = (await keys.GetPublishedAsync(ring, CancellationToken.None))[1].Kid;
        await EditStoredAsync(ring, stored => [.. stored.Select(k => k.KeyId == signing.KeyId ? k with { ActivatesAt = k.ActivatesAt - TimeSpan.FromDays(1) } : k)]);

        using var fresh = NewService();
        var recovered = await fresh.GetSigningKeyAsync(ring, CancellationToken.None);
        Assert.NotEqual(signing.KeyId, recovered.KeyId);
        Assert.NotEqual(next, recovered.KeyId);
        var published = (await fresh.GetPublishedAsync(ring, CancellationToken.None)).Select(k => k.Kid).ToList();
        Assert.Equal([recovered.KeyId, next], published);
        Assert.Null(await fresh.GetVerificationKeyAsync(ring, signing.KeyId, CancellationToken.None));
        // What the fresh key signs verifies with its published key.
        var data = "a credential"u8.ToArray();
        var verifier = await fresh.GetVerificationKeyAsync(ring, recovered.KeyId, CancellationToken.None);
        Assert.True(verifier!.VerifyData(data, recovered.Key.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256));
        // The next key still takes over on its schedule.
        fixture.Time.Advance(Options.RotationPeriod);
        using var later = NewService();
        Assert.Equal(next, (await later.GetSigningKeyAsync(ring, CancellationToken.None)).KeyId);
    }

    [Fact]
    public async Task AfterAnIdleSpellPastEveryKeysPeriod_AFreshKeySigns_AndTheOldOnesRetire()
    {
        var ring = NewRing();
        using var keys = NewService();
        var first = (await keys.GetPublishedAsync(ring, CancellationToken.None)).Select(k => k.Kid).ToList();

        fixture.Time.Advance(Options.RotationPeriod * 2 + TimeSpan.FromHours(1));
        using var later = NewService();
        var signing = await later.GetSigningKeyAsync(ring, CancellationToken.None);
        Assert.DoesNotContain(signing.KeyId, first);
        Assert.True(signing.ValidUntil > fixture.Time.GetUtcNow());
        fixture.Time.Advance(Options.RetiredKeyPublication);
        using var afterwards = NewService();
        var published = (await afterwards.GetPublishedAsync(ring, CancellationToken.None)).Select(k => k.Kid).ToList();
        Assert.Equal(signing.KeyId, published[0]);
        Assert.Empty(published.Intersect(first));
    }

    // A ring rotated once: the key that retired, and the one that signs now.
    private async Task<(string Retired, string Current)> RotatedAsync(string ring)
    {
        using var keys = NewService();
        var first = await keys.GetSigningKeyAsync(ring, CancellationToken.None);
        fixture.Time.Advance(Options.RotationPeriod);
        using var later = NewService();
        var second = await later.GetSigningKeyAsync(ring, CancellationToken.None);
        Assert.NotEqual(first.KeyId, second.KeyId);
        Assert.Contains(first.KeyId, (await later.GetPublishedAsync(ring, CancellationToken.None)).Select(k => k.Kid));
        return (first.KeyId, second.KeyId);
    }

    // What someone who can write grain storage (without the key-encryption key) does to a ring; the ring is then read afresh.
    private async Task EditStoredAsync(string ring, Func<List<StoredKey>, List<StoredKey>> edit)
    {
        var storage = Silo.GetRequiredKeyedService<IGrainStorage>(GrantSilo.Grains.Hosting.GrantSiloStorage.Name);
        var grainId = GrainId.Create("keyring", ring);
        var stored = new StateHolder();
        await storage.ReadStateAsync("key-ring", grainId, stored);
        stored.State.Keys = edit(stored.State.Keys);
        await storage.WriteStateAsync("key-ring", grainId, stored);
        await fixture.SiloGrains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
    }

    private GrantSilo.Identity.Tokens.CredentialClaims Claims(DateTimeOffset now) => new()
    {
        Issuer = Silo.GetRequiredService<IOptions<GrantSilo.Grains.Tokens.TokenOptions>>().Value.Issuer,
        Subject = "spiffe://test.dev/agent/forged",
        Audience = Silo.GetRequiredService<IOptions<GrantSilo.Grains.Tokens.TokenOptions>>().Value.DefaultAudience,
        CredentialId = CredentialToken.NewCredentialId(),
        ClientId = "spiffe://test.dev/agent/forged",
        Permissions = ["doc:read:*"],
        IssuedAt = now,
        NotBefore = now,
        ExpiresAt = now + TimeSpan.FromMinutes(5),
        TaskId = "t-forged",
        RootPerson = "person:someone@test.dev",
        MaxClassification = "internal",
        Actors = ["spiffe://test.dev/orchestrator"],
    };

    private static byte[] Base64UrlDecode(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '='));
    }

#pragma warning disable CS8767 // IGrainState's setter allows null; this holder never holds it.
    private sealed class StateHolder : IGrainState<KeyRingState>
    {
        public KeyRingState State { get; set; } = new();

        public string? ETag { get; set; }

        public bool RecordExists { get; set; }
    }
}
#pragma warning restore CS8767
