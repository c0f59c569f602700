using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.WebConsole.Tests;

/// <summary>
/// A small OpenID Connect provider on loopback, not the development issuer: a discovery document, its JWKS, and the
/// authorization code flow with PKCE (S256 only). It signs in whoever the test says is at its login (no form: the test
/// is the person), and issues an ID token for the console (audience: its client id) and an access token for GrantSilo
/// (audience <c>grantsilo</c>) carrying the person's roles in <see cref="RolesClaim"/>, under a key of its own.
/// </summary>
public sealed class TestOidcProvider : IAsyncDisposable
{
    /// <summary>The console's client id here.</summary>
    public const string ClientId = "grantsilo-console";

    /// <summary>The claim this issuer puts roles in (not GrantSilo's default, so the issuer's own configuration is what maps them).</summary>
    public const string RolesClaim = "org_roles";

    /// <summary>The claim naming the person.</summary>
    public const string NameClaim = "email";

    private readonly WebApplication _app;
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly SigningCredentials _signing;
    private readonly string _kid = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    private readonly JsonWebTokenHandler _handler = new();
    private readonly ConcurrentDictionary<string, Grant> _codes = new(StringComparer.Ordinal);

    private sealed record Grant(string Email, string[] Roles, string RedirectUri, string Challenge, string? Nonce);

    private TestOidcProvider(int port, string jwksFile)
    {
        Issuer = $"http://127.0.0.1:{port}";
        JwksFile = jwksFile;
        _signing = new SigningCredentials(new ECDsaSecurityKey(_key) { KeyId = _kid }, SecurityAlgorithms.EcdsaSha256);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Issuer);
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Issuer,
            ["authorization_endpoint"] = Issuer + "/authorize",
            ["token_endpoint"] = Issuer + "/token",
            ["jwks_uri"] = Issuer + "/jwks",
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "ES256" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["grant_types_supported"] = new[] { "authorization_code" },
            ["token_endpoint_auth_methods_supported"] = new[] { "none" },
        }));
        _app.MapGet("/jwks", () => Results.Text(Jwks(), "application/json"));
        _app.MapGet("/authorize", Authorize);
        _app.MapPost("/token", TokenAsync);
    }

    /// <summary>The issuer (<c>http://127.0.0.1:port</c>; loopback only).</summary>
    public string Issuer { get; }

    /// <summary>Its public keys as a JWKS file, for GrantSilo's issuer configuration.</summary>
    public string JwksFile { get; }

    /// <summary>Who is at the provider's login next, and the roles the organisation gives them.</summary>
    public (string Email, string[] Roles) Person { get; set; } = ("nobody@org.test", []);

    /// <summary>The audience of the next access tokens (GrantSilo's, unless a test wants one GrantSilo refuses).</summary>
    public string AccessTokenAudience { get; set; } = TestIdentity.Audience;

    /// <summary>Authorization requests seen, with their PKCE method.</summary>
    public ConcurrentQueue<string> ChallengeMethods { get; } = new();

    /// <summary>Codes redeemed with a verifier that matched their challenge.</summary>
    public int VerifiedExchanges => _verified;

    private int _verified;

    public static async Task<TestOidcProvider> StartAsync(string directory)
    {
        var provider = new TestOidcProvider(Ports.Free(), Path.Combine(directory, "org-oidc.jwks.json"));
        await File.WriteAllTextAsync(provider.JwksFile, provider.Jwks());
        await provider._app.StartAsync();
        return provider;
    }

    /// <summary>GrantSilo's configuration trusting this issuer for people (the silo's environment).</summary>
    public IReadOnlyDictionary<string, string> SiloEnvironment(int index) => new Dictionary<string, string>
    {
        [$"GrantSilo__Identity__Issuers__{index}__Name"] = "org-oidc",
        [$"GrantSilo__Identity__Issuers__{index}__Kind"] = "Oidc",
        [$"GrantSilo__Identity__Issuers__{index}__Issuer"] = Issuer,
        [$"GrantSilo__Identity__Issuers__{index}__JwksFile"] = JwksFile,
        [$"GrantSilo__Identity__Issuers__{index}__CallerKind"] = "Person",
        [$"GrantSilo__Identity__Issuers__{index}__NameClaim"] = NameClaim,
        [$"GrantSilo__Identity__Issuers__{index}__RolesClaim"] = RolesClaim,
        // The organisation's people are named by their e-mail at org.test: the names this issuer vouches for, beside the
        // test issuer of people (docs/identity.md, "Each name belongs to one issuer").
        [$"GrantSilo__Identity__Issuers__{index}__Names__0"] = "person:*@org.test",
        ["GrantSilo__Console__Oidc__Authority"] = Issuer,
        ["GrantSilo__Console__Oidc__ClientId"] = ClientId,
        ["GrantSilo__Console__Oidc__UseAccessToken"] = "true",
        ["GrantSilo__Console__Oidc__RequireHttpsMetadata"] = "false",
    };

    private string Jwks()
    {
        var p = _key.ExportParameters(false);
        return JsonSerializer.Serialize(new { keys = new[] { new { kty = "EC", crv = "P-256", kid = _kid, use = "sig", alg = "ES256", x = Base64UrlEncoder.Encode(p.Q.X), y = Base64UrlEncoder.Encode(p.Q.Y) } } });
    }

    private IResult Authorize(HttpRequest request)
    {
        var q = request.Query;
        ChallengeMethods.Enqueue(q["code_challenge_method"].ToString());
        if (q["client_id"] != ClientId || q["response_type"] != "code" || q["code_challenge_method"] != "S256" || string.IsNullOrEmpty(q["code_challenge"])
            || !Uri.TryCreate(q["redirect_uri"], UriKind.Absolute, out var redirect) || !redirect.IsLoopback)
        {
            return Results.BadRequest("invalid_request");
        }
        var code = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(24));
        _codes[code] = new Grant(Person.Email, Person.Roles, q["redirect_uri"].ToString(), q["code_challenge"]!, q["nonce"]);
        var state = Uri.EscapeDataString(q["state"].ToString());
        return Results.Redirect($"{q["redirect_uri"]}?code={code}&state={state}&iss={Uri.EscapeDataString(Issuer)}");
    }

    private async Task<IResult> TokenAsync(HttpRequest request)
    {
        var form = await request.ReadFormAsync();
        if (form["grant_type"] != "authorization_code" || form["client_id"] != ClientId
            || !_codes.TryRemove(form["code"].ToString(), out var grant) || form["redirect_uri"] != grant.RedirectUri)
        {
            return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
        }
        // PKCE: the verifier's SHA-256 must be the challenge the authorization request carried.
        var verifier = form["code_verifier"].ToString();
        if (verifier.Length < 43 || Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) != grant.Challenge)
        {
            return Results.Json(new { error = "invalid_grant", error_description = "PKCE verification failed" }, statusCode: 400);
        }
        Interlocked.Increment(ref _verified);
        var now = DateTime.UtcNow;
        var access = Mint(AccessTokenAudience, grant, now, new Dictionary<string, object> { [RolesClaim] = grant.Roles });
        var atHash = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(access))[..16]);
        var idClaims = new Dictionary<string, object> { ["at_hash"] = atHash };
        if (grant.Nonce is { } nonce)
        {
            idClaims["nonce"] = nonce;
        }
        var id = Mint(ClientId, grant, now, idClaims);
        return Results.Json(new Dictionary<string, object>
        {
            ["access_token"] = access,
            ["id_token"] = id,
            ["token_type"] = "Bearer",
            ["expires_in"] = 3600,
        });
    }

    private string Mint(string audience, Grant grant, DateTime now, Dictionary<string, object> claims)
    {
        claims["sub"] = "org|" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(grant.Email)))[..16];
        claims[NameClaim] = grant.Email;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now.AddSeconds(-5),
            Expires = now.AddHours(1),
            SigningCredentials = _signing,
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _key.Dispose();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"TestOidcProvider({Issuer})");
}
