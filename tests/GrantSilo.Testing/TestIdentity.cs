using System.Security.Cryptography;
using System.Text.Json;
using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Testing;

/// <summary>
/// The trusted issuers of the test clusters: one ES256 key per test process, published as a JWKS file the
/// silos read like any configured issuer (an OIDC issuer for people, one for services, and a SPIFFE issuer
/// per trust domain the tests use), and the tokens a test needs, minted with it.
/// </summary>
public sealed class TestIdentity
{
    public const string Audience = "grantsilo";
    public const string PeopleIssuer = "https://people.test.grantsilo";
    public const string ServiceIssuer = "https://services.test.grantsilo";
    public const string SpiffeIssuer = "https://spiffe.test.grantsilo";

    /// <summary>The trust domains the tests' agents live in.</summary>
    public static readonly string[] TrustDomains = ["test.dev", "acme.dev", "bench.dev", "nobody.dev", "e2e.dev", "example.org", "explorer.dev"];

    /// <summary>Every role GrantSilo's shipped access rules know, except the approvers group.</summary>
    public static readonly string[] HarnessRoles = ["operator", "orchestrator", "auditor", "gateway", "policy-author", "approver"];

    private readonly ECDsa _key;
    private readonly SigningCredentials _signing;
    private readonly JsonWebTokenHandler _handler = new();

    public static TestIdentity Shared { get; } = Create();

    private TestIdentity(ECDsa key, string kid, string folder, string clusterCallKey)
    {
        _key = key;
        _signing = new SigningCredentials(new ECDsaSecurityKey(_key) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256);
        ClusterCallKey = clusterCallKey;
        JwksFile = Path.Combine(folder, "issuer.jwks.json");
        KeyFile = Path.Combine(folder, "issuer.key.json");
    }

    // A new key for this test process: its public half published as the JWKS file, its private half (and the
    // cluster call key) kept beside it, readable by this user only, for the test's own child processes.
    private static TestIdentity Create()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var kid = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var folder = Path.Combine(Path.GetTempPath(), "grantsilo-tests", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        var identity = new TestIdentity(key, kid, folder, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var p = key.ExportParameters(true);
        File.WriteAllText(identity.JwksFile, JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", crv = "P-256", kid, use = "sig", alg = "ES256", x = Base64UrlEncoder.Encode(p.Q.X), y = Base64UrlEncoder.Encode(p.Q.Y) } },
        }));
        var secret = JsonSerializer.SerializeToUtf8Bytes(new PrivateKeyFile(kid, Base64UrlEncoder.Encode(p.Q.X), Base64UrlEncoder.Encode(p.Q.Y), Base64UrlEncoder.Encode(p.D), identity.ClusterCallKey));
        File.Delete(identity.KeyFile);
        if (OperatingSystem.IsWindows())
        {
            File.WriteAllBytes(identity.KeyFile, secret);
        }
        else
        {
            using var stream = new FileStream(identity.KeyFile, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
            stream.Write(secret);
        }
        return identity;
    }

    /// <summary>
    /// The identity of another process's <see cref="Shared"/>, from its <see cref="KeyFile"/>: a child process of a
    /// test (the end-to-end workload) mints tokens the test's silos accept.
    /// </summary>
    public static TestIdentity Load(string keyFile)
    {
        var file = JsonSerializer.Deserialize<PrivateKeyFile>(File.ReadAllBytes(keyFile)) ?? throw new InvalidDataException($"{keyFile} is not a test identity key file.");
        var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(file.X), Y = Base64UrlEncoder.DecodeBytes(file.Y) },
            D = Base64UrlEncoder.DecodeBytes(file.D),
        });
        return new TestIdentity(key, file.Kid, Path.GetDirectoryName(Path.GetFullPath(keyFile))!, file.CallKey);
    }

    /// <summary>The private key (and cluster call key) of these issuers, mode 0600, for the test's child processes.</summary>
    public string KeyFile { get; }

    private sealed record PrivateKeyFile(string Kid, string X, string Y, string D, string CallKey)
    {
        public override string ToString() => $"PrivateKeyFile({Kid}, ****)";
    }

    /// <summary>The JWKS file every test issuer points at.</summary>
    public string JwksFile { get; }

    /// <summary>
    /// The silo configuration trusting these issuers (<c>GrantSilo:Identity:*</c>), and a cluster call key
    /// shared by every silo of a test cluster.
    /// </summary>
    public IReadOnlyDictionary<string, string?> SiloConfiguration()
    {
        var settings = new Dictionary<string, string?>
        {
            ["GrantSilo:Identity:Audience"] = Audience,
            ["GrantSilo:Cluster:CallKey"] = ClusterCallKey,
            ["GrantSilo:Keys:KeyEncryptionKey"] = KeyEncryptionKey,
        };
        var i = 0;
        void Issuer(string name, string kind, string? issuer, string? trustDomain, string? callerKind)
        {
            var prefix = $"GrantSilo:Identity:Issuers:{i++}:";
            settings[prefix + "Name"] = name;
            settings[prefix + "Kind"] = kind;
            settings[prefix + "JwksFile"] = JwksFile;
            if (issuer is not null)
            {
                settings[prefix + "Issuer"] = issuer;
            }
            if (trustDomain is not null)
            {
                settings[prefix + "TrustDomain"] = trustDomain;
            }
            if (callerKind is not null)
            {
                settings[prefix + "CallerKind"] = callerKind;
            }
        }
        // The first two are the ones docs/multi-silo.md configures (the workload's services and its e2e.dev agents).
        Issuer("services", "Oidc", ServiceIssuer, null, "Service");
        Issuer("agents", "Spiffe", $"{SpiffeIssuer}/e2e.dev", "e2e.dev", null);
        Issuer("test-people", "Oidc", PeopleIssuer, null, "Person");
        foreach (var domain in TrustDomains.Where(d => d != "e2e.dev"))
        {
            Issuer($"test-spiffe-{domain}", "Spiffe", $"{SpiffeIssuer}/{domain}", domain, null);
        }
        return settings;
    }

    /// <summary>
    /// <see cref="SiloConfiguration"/> as the environment of a silo process (<c>GrantSilo__Identity__Issuers__0__Name</c>...).
    /// </summary>
    public IReadOnlyDictionary<string, string> SiloEnvironment() =>
        SiloConfiguration().ToDictionary(p => p.Key.Replace(":", "__", StringComparison.Ordinal), p => p.Value!, StringComparer.Ordinal);

    /// <summary>The key-encryption key the test silos of this process wrap their signing keys with.</summary>
    public string KeyEncryptionKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>A cluster call key for the test clusters of this process.</summary>
    public string ClusterCallKey { get; }

    /// <summary>A JWT-SVID for the agent.</summary>
    public string AgentToken(string spiffeId, TimeSpan? lifetime = null) => Mint($"{SpiffeIssuer}/{TrustDomainOf(spiffeId)}", spiffeId, [], lifetime);

    // Each trust domain has its own issuer here (a JWT-SVID issuer vouches for one trust domain).
    private static string TrustDomainOf(string spiffeId) =>
        spiffeId.StartsWith("spiffe://", StringComparison.Ordinal) && spiffeId.IndexOf('/', "spiffe://".Length) is var slash and > 0
            ? spiffeId["spiffe://".Length..slash]
            : "unknown.invalid";

    /// <summary>An OIDC token for a person named <c>person:&lt;sub&gt;</c> (the prefix is added when missing).</summary>
    public string PersonToken(string name, params string[] roles) => Mint(PeopleIssuer, Strip(name, "person:"), roles, null);

    /// <summary>An OIDC token of another issuer (<paramref name="issuer"/>, its <c>iss</c>) for a person named <c>person:&lt;sub&gt;</c>, signed with the same key.</summary>
    public string PersonTokenFrom(string issuer, string name, params string[] roles) => Mint(issuer, Strip(name, "person:"), roles, null);

    /// <summary>An OIDC token for a service named <c>service:&lt;sub&gt;</c> (the prefix is added when missing).</summary>
    public string ServiceToken(string name, params string[] roles) => Mint(ServiceIssuer, Strip(name, "service:"), roles, null);

    public ICallerTokenSource Agent(string spiffeId) => Refreshing(() => AgentToken(spiffeId));

    public ICallerTokenSource Person(string name, params string[] roles) => Refreshing(() => PersonToken(name, roles));

    public ICallerTokenSource Service(string name, params string[] roles) => Refreshing(() => ServiceToken(name, roles));

    /// <summary>The test harness: a service with every role (it is never a person or an agent).</summary>
    public ICallerTokenSource Harness => _harness ??= Service(HarnessName, HarnessRoles);

    private ICallerTokenSource? _harness;

    /// <summary>The harness's name as GrantSilo records it (for example as a task's orchestrator).</summary>
    public const string HarnessName = "service:test-harness";

    public string HarnessToken() => ServiceToken(HarnessName, HarnessRoles);

    /// <summary>
    /// Sets the token on the request context of the calling (async) test method, for grain calls it makes
    /// directly through the cluster client.
    /// </summary>
    public static void Attach(string token) => RequestContext.Set(CallerHeaders.Token, CallerHeaders.Encode(token));

    private string Mint(string issuer, string subject, string[] roles, TimeSpan? lifetime)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { ["sub"] = subject };
        if (roles.Length > 0)
        {
            claims["roles"] = roles;
        }
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = Audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now.AddSeconds(-5),
            Expires = now + (lifetime ?? TimeSpan.FromHours(1)),
            SigningCredentials = _signing,
        });
    }

    private static string Strip(string name, string prefix) => name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;

    private static RefreshingCallerToken Refreshing(Func<string> mint) =>
        new(_ => ValueTask.FromResult((mint(), DateTimeOffset.UtcNow.AddHours(1))));
}
