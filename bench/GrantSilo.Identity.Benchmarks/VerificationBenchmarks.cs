using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using GrantSilo.Identity;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GrantSilo.Identity.Benchmarks;

/// <summary>
/// A JWT-SVID through <see cref="CallerAuthenticator"/> (cache bypassed, and a cache hit) against the raw
/// ES256 signature check of the same signing input: what verification costs beyond the cryptography.
/// </summary>
[MemoryDiagnoser]
public class VerificationBenchmarks
{
    private string _directory = "";
    private ECDsa _key = null!;
    private CallerAuthenticator _uncached = null!;
    private CallerAuthenticator _cached = null!;
    private string _token = "";
    private byte[] _signingInput = [];
    private byte[] _signature = [];

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "grantsilo-identity-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = _key.ExportParameters(false).Q;
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "EC", ["crv"] = "P-256", ["kid"] = "spire-1", ["use"] = "sig",
                ["x"] = Base64Url.EncodeToString(q.X), ["y"] = Base64Url.EncodeToString(q.Y),
            }),
        };
        var jwksFile = Path.Combine(_directory, "jwks.json");
        File.WriteAllText(jwksFile, jwks.ToJsonString());
        var options = Options.Create(new IdentityOptions
        {
            Issuers = [new TrustedIssuerOptions { Name = "spire", Kind = IssuerKind.Spiffe, Issuer = "https://spire.acme.test", TrustDomain = "acme.dev", JwksFile = jwksFile }],
        });
        _uncached = new CallerAuthenticator(options, TimeProvider.System, NullLoggerFactory.Instance) { CacheEnabled = false };
        _cached = new CallerAuthenticator(options, TimeProvider.System, NullLoggerFactory.Instance);

        var now = DateTimeOffset.UtcNow;
        var header = new JsonObject { ["alg"] = "ES256", ["typ"] = "JWT", ["kid"] = "spire-1" };
        var payload = new JsonObject
        {
            ["iss"] = "https://spire.acme.test", ["sub"] = "spiffe://acme.dev/agent/planner", ["aud"] = "grantsilo",
            ["iat"] = now.ToUnixTimeSeconds(), ["exp"] = now.AddHours(1).ToUnixTimeSeconds(),
        };
        var input = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        _signingInput = Encoding.ASCII.GetBytes(input);
        _signature = _key.SignData(_signingInput, HashAlgorithmName.SHA256);
        _token = input + "." + Base64Url.EncodeToString(_signature);

        if (!_uncached.AuthenticateAsync(_token).AsTask().GetAwaiter().GetResult().IsSuccess
            || !_cached.AuthenticateAsync(_token).AsTask().GetAwaiter().GetResult().IsSuccess)
        {
            throw new InvalidOperationException("the benchmark token does not verify");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _uncached.Dispose();
        _cached.Dispose();
        _key.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "raw ES256 ECDsa.VerifyData")]
    public bool RawEs256Verify() => _key.VerifyData(_signingInput, _signature, HashAlgorithmName.SHA256);

    [Benchmark(Description = "CallerAuthenticator, cache bypassed")]
    public ValueTask<AuthenticationResult> AuthenticateUncached() => _uncached.AuthenticateAsync(_token);

    [Benchmark(Description = "CallerAuthenticator, cache hit")]
    public ValueTask<AuthenticationResult> AuthenticateCacheHit() => _cached.AuthenticateAsync(_token);
}
