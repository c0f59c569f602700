using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GrantSilo.Identity.Tokens;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Identity.Tests;

/// <summary>
/// DPoP proofs (RFC 9449): a proof by the bound key for this method, URL and token is accepted once; a proof for
/// another key, URL, method or token, a replayed one, a stale one, one carrying a private key, or one without a fresh
/// nonce when nonces are required, is refused.
/// </summary>
public sealed class DpopProofTests : IDisposable
{
    private static readonly Uri Url = new("https://grantsilo.test/v1/authorize");
    private const string AccessToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly ECDsa _agentKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _thiefKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose()
    {
        _agentKey.Dispose();
        _thiefKey.Dispose();
    }

    private DpopProofVerifier Verifier(bool requireNonce = false) => new(new DpopOptions { RequireNonce = requireNonce }, _time);

    private string Proof(ECDsa key, string method = "POST", string url = "https://grantsilo.test/v1/authorize", string? token = AccessToken,
        string? jti = null, DateTimeOffset? iat = null, string? nonce = null, bool includePrivate = false, string typ = "dpop+jwt")
    {
        var parameters = key.ExportParameters(includePrivate);
        var jwk = new Dictionary<string, string> { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Base64UrlEncoder.Encode(parameters.Q.X), ["y"] = Base64UrlEncoder.Encode(parameters.Q.Y) };
        if (includePrivate)
        {
            jwk["d"] = Base64UrlEncoder.Encode(parameters.D);
        }
        var header = JsonSerializer.Serialize(new Dictionary<string, object> { ["typ"] = typ, ["alg"] = "ES256", ["jwk"] = jwk });
        var claims = new Dictionary<string, object>
        {
            ["jti"] = jti ?? Guid.NewGuid().ToString("N"),
            ["htm"] = method,
            ["htu"] = url,
            ["iat"] = (iat ?? _time.GetUtcNow()).ToUnixTimeSeconds(),
        };
        if (token is not null)
        {
            claims["ath"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(token)));
        }
        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }
        var input = Base64UrlEncoder.Encode(header) + "." + Base64UrlEncoder.Encode(JsonSerializer.Serialize(claims));
        return input + "." + Base64UrlEncoder.Encode(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    private static string Thumbprint(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        return Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes($$"""{"crv":"P-256","kty":"EC","x":"{{Base64UrlEncoder.Encode(q.X)}}","y":"{{Base64UrlEncoder.Encode(q.Y)}}"}""")));
    }

    [Fact]
    public async Task AProofByTheKey_ForThisRequestAndToken_IsAcceptedOnce()
    {
        var verifier = Verifier();
        var proof = Proof(_agentKey);

        var (accepted, refusal) = await verifier.VerifyAsync(proof, "POST", Url, AccessToken);

        Assert.Null(refusal);
        Assert.Equal(Thumbprint(_agentKey), accepted!.KeyThumbprint);
        // The query string is not part of the target (RFC 9449 §4.3).
        Assert.Null((await verifier.VerifyAsync(Proof(_agentKey), "POST", new Uri("https://grantsilo.test/v1/authorize?x=1"), AccessToken)).Refusal);
        // Replayed: refused.
        var replay = await verifier.VerifyAsync(proof, "POST", Url, AccessToken);
        Assert.Equal(DpopRefusal.InvalidProof, replay.Refusal!.Error);
        Assert.Contains("used before", replay.Refusal.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStolenTokenWithAnotherKeysProof_HasAnotherThumbprint()
    {
        // The proof itself is valid, but for the thief's key: the token's cnf.jkt names the agent's.
        var (accepted, _) = await Verifier().VerifyAsync(Proof(_thiefKey), "POST", Url, AccessToken);

        Assert.NotEqual(Thumbprint(_agentKey), accepted!.KeyThumbprint);
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { "another URL", "another URL" },
        { "another method", "another method" },
        { "another token", "another access token" },
        { "too old", "too old" },
        { "from the future", "from the future" },
        { "private key in jwk", "private key" },
        { "wrong typ", "typ" },
        { "signed by another key", "signature" },
        { "not a JWT", "DPoP proof JWT" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task AProofForAnotherRequest_OrMalformed_IsRefused(string attack, string reason)
    {
        var proof = attack switch
        {
            "another URL" => Proof(_agentKey, url: "https://grantsilo.test/v1/credentials/introspect"),
            "another method" => Proof(_agentKey, method: "GET"),
            "another token" => Proof(_agentKey, token: AccessToken + "x"),
            "too old" => Proof(_agentKey, iat: _time.GetUtcNow().AddMinutes(-2)),
            "from the future" => Proof(_agentKey, iat: _time.GetUtcNow().AddMinutes(1)),
            "private key in jwk" => Proof(_agentKey, includePrivate: true),
            "wrong typ" => Proof(_agentKey, typ: "JWT"),
            "signed by another key" => SwapSignature(Proof(_agentKey), Proof(_thiefKey)),
            _ => "not.a.jwt",
        };

        var (accepted, refusal) = await Verifier().VerifyAsync(proof, "POST", Url, AccessToken);

        Assert.Null(accepted);
        Assert.Equal(DpopRefusal.InvalidProof, refusal!.Error);
        Assert.Contains(reason, refusal.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(AccessToken, refusal.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WhenNoncesAreRequired_AProofWithoutAFreshOne_IsAskedForOne()
    {
        var verifier = Verifier(requireNonce: true);

        var first = await verifier.VerifyAsync(Proof(_agentKey), "POST", Url, AccessToken);
        Assert.Equal(DpopRefusal.UseNonce, first.Refusal!.Error);
        var nonce = first.Refusal.Nonce!;

        Assert.Null((await verifier.VerifyAsync(Proof(_agentKey, nonce: nonce), "POST", Url, AccessToken)).Refusal);
        // A forged nonce, or one past its lifetime, is not fresh.
        Assert.Equal(DpopRefusal.UseNonce, (await verifier.VerifyAsync(Proof(_agentKey, nonce: nonce[..^2] + "AA"), "POST", Url, AccessToken)).Refusal!.Error);
        _time.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal(DpopRefusal.UseNonce, (await verifier.VerifyAsync(Proof(_agentKey, nonce: nonce), "POST", Url, AccessToken)).Refusal!.Error);
        // Another server's nonce (another key) is not this server's.
        Assert.Equal(DpopRefusal.UseNonce, (await verifier.VerifyAsync(Proof(_agentKey, nonce: Verifier(requireNonce: true).IssueNonce()), "POST", Url, AccessToken)).Refusal!.Error);
    }

    [Fact]
    public async Task Nonces_AreAcceptedByEveryVerifierWithTheSameKey_InTheirWindowAndTheNext_AndNoLonger()
    {
        var shared = DpopProofVerifier.DeriveNonceKey(RandomNumberGenerator.GetBytes(32));
        var options = new DpopOptions { RequireNonce = true, NonceLifetime = TimeSpan.FromMinutes(5) };
        var (one, two) = (new DpopProofVerifier(options, _time, shared), new DpopProofVerifier(options, _time, shared));
        var stranger = new DpopProofVerifier(options, _time, DpopProofVerifier.DeriveNonceKey(RandomNumberGenerator.GetBytes(32)));
        _time.Advance(TimeSpan.FromMinutes(1));
        var nonce = one.IssueNonce();
        Assert.Equal(nonce, two.IssueNonce());
        Assert.NotEqual(nonce, stranger.IssueNonce());
        Assert.Null((await two.VerifyAsync(Proof(_agentKey, nonce: nonce), "POST", Url, AccessToken)).Refusal);
        Assert.Equal(DpopRefusal.UseNonce, (await stranger.VerifyAsync(Proof(_agentKey, nonce: nonce), "POST", Url, AccessToken)).Refusal!.Error);
        // The next window: a new nonce is offered, the previous one still works.
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.NotEqual(nonce, two.IssueNonce());
        Assert.Null((await two.VerifyAsync(Proof(_agentKey, nonce: nonce), "POST", Url, AccessToken)).Refusal);
        // Two windows on, it is refused, with the current nonce offered.
        _time.Advance(TimeSpan.FromMinutes(5));
        var refused = (await one.VerifyAsync(Proof(_agentKey, nonce: nonce), "POST", Url, AccessToken)).Refusal!;
        Assert.Equal(DpopRefusal.UseNonce, refused.Error);
        Assert.Equal(one.IssueNonce(), refused.Nonce);
    }

    [Fact]
    public async Task AFullReplayMemory_RefusesNewProofs_UntilOldOnesAgeOut()
    {
        var verifier = new DpopProofVerifier(new DpopOptions { ReplayCacheSize = 2 }, _time);
        Assert.Null((await verifier.VerifyAsync(Proof(_agentKey), "POST", Url, AccessToken)).Refusal);
        Assert.Null((await verifier.VerifyAsync(Proof(_agentKey), "POST", Url, AccessToken)).Refusal);

        var full = await verifier.VerifyAsync(Proof(_agentKey), "POST", Url, AccessToken);
        Assert.Contains("replay", full.Refusal!.Description, StringComparison.Ordinal);

        // Once the remembered proofs are too old to be accepted anyway, they are forgotten.
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null((await verifier.VerifyAsync(Proof(_agentKey), "POST", Url, AccessToken)).Refusal);
    }

    [Fact]
    public async Task ProofsByOtherKeys_TakeNoPlaceInTheReplayMemory_SoTheBoundKeysProofIsStillAccepted()
    {
        // A memory of two proofs, and a flood of valid proofs by throwaway keys presented with a token bound to the agent's.
        var verifier = new DpopProofVerifier(new DpopOptions { ReplayCacheSize = 2 }, _time);
        var bound = Thumbprint(_agentKey);
        var flood = new List<(DpopProof? Proof, DpopRefusal? Refusal)>();
        for (var i = 0; i < 5; i++)
        {
            using var throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            flood.Add(await verifier.VerifyAsync(Proof(throwaway), "POST", Url, AccessToken, expectedKeyThumbprint: bound));
        }

        var (accepted, refusal) = await verifier.VerifyAsync(Proof(_agentKey), "POST", Url, AccessToken, expectedKeyThumbprint: bound);
        Assert.True(accepted is not null, refusal?.Description);
        Assert.Equal(bound, accepted.KeyThumbprint);
        Assert.All(flood, answer =>
        {
            Assert.Null(answer.Proof);
            Assert.Equal(DpopRefusal.InvalidProof, answer.Refusal!.Error);
            Assert.Contains("another key", answer.Refusal.Description, StringComparison.Ordinal);
        });
        // The bound key's own proofs still count against the bound: the memory still refuses when they fill it.
        Assert.Null((await verifier.VerifyAsync(Proof(_agentKey), "POST", Url, AccessToken, expectedKeyThumbprint: bound)).Refusal);
        Assert.Contains("replay", (await verifier.VerifyAsync(Proof(_agentKey), "POST", Url, AccessToken, expectedKeyThumbprint: bound)).Refusal!.Description, StringComparison.Ordinal);
    }

    private static string SwapSignature(string proof, string other) => string.Join('.', proof.Split('.')[..2]) + "." + other.Split('.')[2];
}
