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

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly SigningCredentials _signing;
    private readonly Dictionary<string, SigningCredentials> _spiffeSigning = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _spiffeJwks = new(StringComparer.Ordinal);
    private readonly JsonWebTokenHandler _handler = new();

    public static TestIdentity Shared { get; } = new();

    private TestIdentity()
    {
        var kid = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var folder = Path.Combine(Path.GetTempPath(), "grantsilo-tests", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        _signing = Signing(kid);
        JwksFile = WriteJwks(Path.Combine(folder, "issuer.jwks.json"), kid);
        // A SPIFFE issuer is found by the key that signed the token, and a key vouches for one trust domain
        // only: each trust domain gets a key id (and a JWKS file) of its own, over the same key material.
        foreach (var domain in TrustDomains)
        {
            var domainKid = $"{kid}-{domain}";
            _spiffeSigning[domain] = Signing(domainKid);
            _spiffeJwks[domain] = WriteJwks(Path.Combine(folder, $"spiffe-{domain}.jwks.json"), domainKid);
        }
    }

    private SigningCredentials Signing(string kid) => new(new ECDsaSecurityKey(_key) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256);

    private string WriteJwks(string path, string kid)
    {
        var p = _key.ExportParameters(false);
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", crv = "P-256", kid, use = "sig", alg = "ES256", x = Base64UrlEncoder.Encode(p.Q.X), y = Base64UrlEncoder.Encode(p.Q.Y) } },
        }));
        return path;
    }

    /// <summary>The JWKS file of the people's and the services' issuers.</summary>
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
        };
        var i = 0;
        void Issuer(string name, string kind, string? issuer, string? trustDomain, string? callerKind)
        {
            var prefix = $"GrantSilo:Identity:Issuers:{i++}:";
            settings[prefix + "Name"] = name;
            settings[prefix + "Kind"] = kind;
            settings[prefix + "JwksFile"] = trustDomain is null ? JwksFile : _spiffeJwks[trustDomain];
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
        Issuer("test-people", "Oidc", PeopleIssuer, null, "Person");
        Issuer("test-services", "Oidc", ServiceIssuer, null, "Service");
        foreach (var domain in TrustDomains)
        {
            Issuer($"test-spiffe-{domain}", "Spiffe", null, domain, null);
        }
        return settings;
    }

    /// <summary>A cluster call key for the test clusters of this process.</summary>
    public string ClusterCallKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// A JWT-SVID for the agent, signed with its trust domain's key (an ID outside <see cref="TrustDomains"/>
    /// is signed with a key no SPIFFE issuer publishes).
    /// </summary>
    public string AgentToken(string spiffeId, TimeSpan? lifetime = null) =>
        Mint(SpiffeIssuer, spiffeId, [], lifetime, _spiffeSigning.GetValueOrDefault(TrustDomainOf(spiffeId)) ?? _signing);

    private static string TrustDomainOf(string spiffeId) =>
        spiffeId.StartsWith("spiffe://", StringComparison.Ordinal) ? spiffeId["spiffe://".Length..].Split('/')[0] : "";

    /// <summary>An OIDC token for a person named <c>person:&lt;sub&gt;</c> (the prefix is added when missing).</summary>
    public string PersonToken(string name, params string[] roles) => Mint(PeopleIssuer, Strip(name, "person:"), roles, null);

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
    public static void Attach(string token) => RequestContext.Set(CallerHeaders.Token, token);

    private string Mint(string issuer, string subject, string[] roles, TimeSpan? lifetime, SigningCredentials? signing = null)
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
            SigningCredentials = signing ?? _signing,
        });
    }

    private static string Strip(string name, string prefix) => name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;

    private static RefreshingCallerToken Refreshing(Func<string> mint) =>
        new(_ => ValueTask.FromResult((mint(), DateTimeOffset.UtcNow.AddHours(1))));
}
