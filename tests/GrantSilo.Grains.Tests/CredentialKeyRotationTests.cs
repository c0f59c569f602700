using GrantSilo.Grains.Keys;
using GrantSilo.Grains.Tokens;
using GrantSilo.Identity.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Credentials across a rotation of the <c>credentials</c> ring: a token signed by the old key keeps verifying (online
/// and offline) until it expires, new tokens are signed by the key published ahead, and a silo that starts afresh
/// (no key in memory, every ring activation collected) finds the same ring.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CredentialKeyRotationTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private IServiceProvider Silo => ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;

    private static string KeyIdOf(string token) =>
        System.Text.Json.JsonDocument.Parse(Base64UrlEncoder.Decode(token.Split('.')[0])).RootElement.GetProperty("kid").GetString()!;

    // What a silo that has just started has: nothing in memory, the ring in grain storage.
    private (KeyRing Ring, CredentialTokenVerifier Verifier) FreshSilo()
    {
        var ring = ActivatorUtilities.CreateInstance<KeyRing>(Silo);
        return (ring, ActivatorUtilities.CreateInstance<CredentialTokenVerifier>(Silo, ring));
    }

    private async Task<IReadOnlyList<SecurityKey>> PublishedAsync(KeyRing ring) =>
        [.. (await ring.GetPublishedAsync(KeyRing.Credentials, CancellationToken.None)).Select(k => new JsonWebKey { Kty = "EC", Crv = "P-256", Kid = k.Kid, X = k.X, Y = k.Y })];

    [Fact]
    public async Task AVerifiedTokenIsRemembered_ButOnlyItsExactText_AndItsTimesAreCheckedOnEveryAsk()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("remembered", scope);
        var task = await _s.RootTaskAsync(agent, scope, TimeSpan.FromHours(1));
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId, lifetime: TimeSpan.FromMinutes(3));
        var (ring, verifier) = FreshSilo();
        using (ring)
        {
            Assert.True(CredentialToken.TryParse(credential.Token, out _, out var secret));
            byte[]? first = null;
            for (var i = 0; i < 2; i++)
            {
                var (verified, refusal) = await verifier.VerifyAsync(credential.Token, CancellationToken.None);
                Assert.True(verified is not null, refusal);
                Assert.Equal(credential.CredentialId, verified!.Value.CredentialId);
                // The secret the credential grain checks, read once with the verification and remembered with it.
                Assert.Equal(secret, verified.Value.Secret);
                first ??= verified.Value.Secret;
                Assert.Same(first, verified.Value.Secret);
            }
            // One character of the signature changed: another text, verified in full, refused.
            var dot = credential.Token.LastIndexOf('.');
            var last = credential.Token[dot + 5];
            var forged = string.Concat(credential.Token.AsSpan(0, dot + 5), last == 'A' ? "B" : "A", credential.Token.AsSpan(dot + 6));
            Assert.Equal("its signature does not verify", (await verifier.VerifyAsync(forged, CancellationToken.None)).Refusal);
            // ... and the remembered one expires with its token.
            fixture.Time.Advance(TimeSpan.FromMinutes(4));
            Assert.Equal(CredentialTokenVerifier.ExpiredRefusal, (await verifier.VerifyAsync(credential.Token, CancellationToken.None)).Refusal);
        }
    }

    [Fact]
    public async Task Rotation_OldTokensVerifyUntilTheyExpire_NewTokensUseTheKeyPublishedAhead_AndARestartKeepsTheRing()
    {
        // Five minutes before the signing key retires (after a rotation first, if one is about to happen anyway).
        var (ring, _) = FreshSilo();
        var current = await ring.GetSigningKeyAsync(KeyRing.Credentials, CancellationToken.None);
        if (current.ValidUntil - fixture.Time.GetUtcNow() < TimeSpan.FromMinutes(10))
        {
            fixture.Time.Advance(current.ValidUntil - fixture.Time.GetUtcNow() + TimeSpan.FromSeconds(1));
            ring.Dispose();
            (ring, _) = FreshSilo();
            current = await ring.GetSigningKeyAsync(KeyRing.Credentials, CancellationToken.None);
        }
        fixture.Time.Advance(current.ValidUntil - fixture.Time.GetUtcNow() - TimeSpan.FromMinutes(5));
        var next = (await ring.GetPublishedAsync(KeyRing.Credentials, CancellationToken.None)).Select(k => k.Kid).Single(k => k != current.KeyId);
        ring.Dispose();

        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("rotated", scope);
        var task = await _s.RootTaskAsync(agent, scope, TimeSpan.FromHours(1));
        var (_, old) = await _s.CredentialAsync(agent, task.TaskId, lifetime: TimeSpan.FromMinutes(10));
        Assert.Equal(current.KeyId, KeyIdOf(old.Token));

        fixture.Time.Advance(TimeSpan.FromMinutes(6));
        var (_, fresh) = await _s.CredentialAsync(agent, task.TaskId, lifetime: TimeSpan.FromMinutes(10));
        Assert.Equal(next, KeyIdOf(fresh.Token));

        // A silo that starts now, with no key in memory and no ring activation, verifies both.
        await fixture.SiloGrains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var (restarted, verifier) = FreshSilo();
        using (restarted)
        {
            foreach (var credential in new[] { old, fresh })
            {
                var (verified, refusal) = await verifier.VerifyAsync(credential.Token, CancellationToken.None);
                Assert.True(verified is not null, refusal);
                Assert.Equal(credential.CredentialId, verified!.Value.CredentialId);
                var offline = await CredentialJwt.ValidateAsync(credential.Token, "urn:grantsilo:local", "urn:grantsilo:any-resource", await PublishedAsync(restarted), fixture.Time.GetUtcNow());
                Assert.Null(offline.Refusal);
            }
            Assert.True((await _s.AuthorizeAsync(old, "read", "doc", "a")).IsAllowed);

            // Once the old token has expired, it verifies nowhere; the new one still does.
            fixture.Time.Advance(TimeSpan.FromMinutes(5));
            var expired = await verifier.VerifyAsync(old.Token, CancellationToken.None);
            Assert.Null(expired.Token);
            Assert.Equal(CredentialTokenVerifier.ExpiredRefusal, expired.Refusal);
            Assert.NotNull((await CredentialJwt.ValidateAsync(old.Token, "urn:grantsilo:local", "urn:grantsilo:any-resource", await PublishedAsync(restarted), fixture.Time.GetUtcNow())).Refusal);
            Assert.Equal(DecisionReason.CredentialExpired, (await _s.AuthorizeAsync(old, "read", "doc", "a")).Reason);
            Assert.NotNull((await verifier.VerifyAsync(fresh.Token, CancellationToken.None)).Token);
        }
    }
}
