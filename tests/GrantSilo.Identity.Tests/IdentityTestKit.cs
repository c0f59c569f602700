using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.Identity.Tests;

/// <summary>A signing key of a test issuer.</summary>
internal sealed class TestKey : IDisposable
{
    private TestKey(string kid, ECDsa? ec, RSA? rsa)
    {
        Kid = kid;
        Ec = ec;
        Rsa = rsa;
    }

    public string Kid { get; }

    public ECDsa? Ec { get; }

    public RSA? Rsa { get; }

    public static TestKey Es256(string kid) => new(kid, ECDsa.Create(ECCurve.NamedCurves.nistP256), null);

    public static TestKey Es384(string kid) => new(kid, ECDsa.Create(ECCurve.NamedCurves.nistP384), null);

    public static TestKey RsaKey(string kid, int bits) => new(kid, null, System.Security.Cryptography.RSA.Create(bits));

    public string DefaultAlg => Rsa is not null ? "RS256" : Ec!.KeySize == 384 ? "ES384" : "ES256";

    public JsonObject PublicJwk()
    {
        if (Ec is not null)
        {
            var p = Ec.ExportParameters(false);
            return new JsonObject
            {
                ["kty"] = "EC", ["crv"] = Ec.KeySize == 384 ? "P-384" : "P-256", ["kid"] = Kid, ["use"] = "sig",
                ["x"] = Base64Url.EncodeToString(p.Q.X), ["y"] = Base64Url.EncodeToString(p.Q.Y),
            };
        }

        var r = Rsa!.ExportParameters(false);
        return new JsonObject
        {
            ["kty"] = "RSA", ["kid"] = Kid, ["use"] = "sig",
            ["n"] = Base64Url.EncodeToString(r.Modulus), ["e"] = Base64Url.EncodeToString(r.Exponent),
        };
    }

    public byte[] Sign(string alg, byte[] input) => alg switch
    {
        "ES256" => Ec!.SignData(input, HashAlgorithmName.SHA256),
        "ES384" => Ec!.SignData(input, HashAlgorithmName.SHA384),
        "RS256" => Rsa!.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        "PS256" => Rsa!.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
        _ => throw new ArgumentException(alg),
    };

    public void Dispose()
    {
        Ec?.Dispose();
        Rsa?.Dispose();
    }
}

/// <summary>Builds compact JWTs byte by byte, so tests control every header and claim.</summary>
internal static class Jwt
{
    public static string Compose(JsonObject header, JsonObject payload, Func<byte[], byte[]>? sign)
    {
        var signingInput = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header.ToJsonString())) + "."
            + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var signature = sign is null ? "" : Base64Url.EncodeToString(sign(Encoding.ASCII.GetBytes(signingInput)));
        return signingInput + "." + signature;
    }

    public static string Sign(TestKey key, JsonObject payload, string? alg = null, string? kid = "(key)")
    {
        alg ??= key.DefaultAlg;
        var header = new JsonObject { ["alg"] = alg, ["typ"] = "JWT" };
        if (kid is not null)
        {
            header["kid"] = kid == "(key)" ? key.Kid : kid;
        }

        return Compose(header, payload, input => key.Sign(alg, input));
    }

    public static JsonObject Claims(string? iss, string sub, DateTimeOffset now, TimeSpan? lifetime = null, string aud = "grantsilo", DateTimeOffset? nbf = null)
    {
        var claims = new JsonObject
        {
            ["sub"] = sub,
            ["aud"] = aud,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = (nbf ?? now).ToUnixTimeSeconds(),
            ["exp"] = (now + (lifetime ?? TimeSpan.FromHours(1))).ToUnixTimeSeconds(),
        };
        if (iss is not null)
        {
            claims["iss"] = iss;
        }

        return claims;
    }
}

/// <summary>Log lines captured for assertions.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public string All => string.Join("\n", Entries.Select(e => $"{e.Level} {e.Category}: {e.Message}"));

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Entries.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}

/// <summary>One test's world: a fake clock, a temp folder with JWKS files, captured logs, and keys.</summary>
internal sealed class IdentityWorld : IDisposable
{
    public const string OidcIss = "https://idp.acme.test";
    public const string SpiffeIss = "https://spire.acme.test";

    private readonly List<IDisposable> _disposables = [];

    public IdentityWorld()
    {
        Directory = Path.Combine(Path.GetTempPath(), "grantsilo-identity-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        OidcKey = Track(TestKey.Es256("oidc-1"));
        SpiffeKey = Track(TestKey.Es256("spire-1"));
        OtherDomainKey = Track(TestKey.Es256("spire-other-1"));
        WriteJwks("oidc.json", OidcKey);
        WriteJwks("spiffe.json", SpiffeKey);
        WriteJwks("other.json", OtherDomainKey);
        Options = new IdentityOptions
        {
            Issuers =
            [
                new TrustedIssuerOptions { Name = "corp", Kind = IssuerKind.Oidc, Issuer = OidcIss, JwksFile = PathOf("oidc.json"), NameClaim = "email" },
                new TrustedIssuerOptions { Name = "spire-acme", Kind = IssuerKind.Spiffe, Issuer = SpiffeIss, TrustDomain = "acme.dev", JwksFile = PathOf("spiffe.json") },
                new TrustedIssuerOptions { Name = "spire-other", Kind = IssuerKind.Spiffe, TrustDomain = "other.dev", JwksFile = PathOf("other.json") },
            ],
            Workloads = [new WorkloadRolesOptions { SpiffeId = "spiffe://acme.dev/orchestrator", Roles = ["orchestrator"] }],
        };
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero));

    public string Directory { get; }

    public CapturedLogs Logs { get; } = new();

    public ILoggerFactory LoggerFactory { get; }

    public TestKey OidcKey { get; }

    public TestKey SpiffeKey { get; }

    public TestKey OtherDomainKey { get; }

    public IdentityOptions Options { get; }

    public DateTimeOffset Now => Time.GetUtcNow();

    public T Track<T>(T disposable) where T : IDisposable
    {
        _disposables.Add(disposable);
        return disposable;
    }

    public string PathOf(string name) => Path.Combine(Directory, name);

    public void WriteJwks(string name, params TestKey[] keys) => WriteJwks(name, keys.Select(k => k.PublicJwk()).ToArray());

    public void WriteJwks(string name, params JsonObject[] jwks)
        => File.WriteAllText(PathOf(name), new JsonObject { ["keys"] = new JsonArray([.. jwks]) }.ToJsonString());

    public static string JwksJson(params TestKey[] keys)
        => new JsonObject { ["keys"] = new JsonArray([.. keys.Select(k => (JsonNode)k.PublicJwk())]) }.ToJsonString();

    public CallerAuthenticator Build(DevelopmentIssuer? dev = null, JwksHttpClient? http = null)
        => Track(new CallerAuthenticator(Microsoft.Extensions.Options.Options.Create(Options), Time, LoggerFactory, dev, http));

    /// <summary>A valid JWT-SVID of the acme.dev SPIRE issuer.</summary>
    public string AgentToken(string spiffeId = "spiffe://acme.dev/agent/planner", TimeSpan? lifetime = null)
        => Jwt.Sign(SpiffeKey, Jwt.Claims(SpiffeIss, spiffeId, Now, lifetime));

    /// <summary>A valid token of the corp OIDC issuer for a person.</summary>
    public string PersonToken(string email = "alice@acme.dev", JsonNode? roles = null)
    {
        var claims = Jwt.Claims(OidcIss, "u-123", Now);
        claims["email"] = email;
        claims["roles"] = roles ?? new JsonArray("Operator", "auditor");
        return Jwt.Sign(OidcKey, claims);
    }

    public void Dispose()
    {
        foreach (var d in Enumerable.Reverse(_disposables))
        {
            d.Dispose();
        }

        LoggerFactory.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class ResultAssert
{
    public static void Refused(AuthenticationResult result, AuthenticationFailure failure)
    {
        Assert.False(result.IsSuccess, $"expected {failure}, got {result}");
        Assert.Equal(failure, result.Failure);
        Assert.Null(result.Caller);
        Assert.False(string.IsNullOrEmpty(result.Detail));
    }

    public static Caller Accepted(AuthenticationResult result)
    {
        Assert.True(result.IsSuccess, $"expected success, got {result}");
        return result.Caller!;
    }
}

internal static class OptionsExtensions
{
    public static IOptions<IdentityOptions> Wrap(this IdentityOptions options) => Microsoft.Extensions.Options.Options.Create(options);

    public static string ToJson(this object value) => JsonSerializer.Serialize(value);
}
