using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Identity;

/// <summary>
/// Mints tokens the development issuer accepts, in any process that can read its key file (the SDK, demos,
/// tests). Development only: whoever holds the key file can be any agent, person or service.
/// </summary>
public sealed class DevelopmentTokens : IDisposable
{
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly ECDsa _key;
    private readonly SigningCredentials _credentials;
    private readonly TimeProvider _time;

    /// <summary>Mints with <paramref name="privateKey"/> (P-256), which this instance then owns.</summary>
    public DevelopmentTokens(ECDsa privateKey, string keyId, string issuer = "grantsilo-development", string audience = "grantsilo", TimeProvider? timeProvider = null)
    {
        _key = privateKey;
        KeyId = keyId;
        Issuer = issuer;
        Audience = audience;
        _time = timeProvider ?? TimeProvider.System;
        _credentials = new SigningCredentials(new ECDsaSecurityKey(privateKey) { KeyId = keyId }, SecurityAlgorithms.EcdsaSha256);
    }

    /// <summary>The <c>iss</c> of minted tokens.</summary>
    public string Issuer { get; }

    /// <summary>The <c>aud</c> of minted tokens.</summary>
    public string Audience { get; }

    /// <summary>The signing key's <c>kid</c>.</summary>
    public string KeyId { get; }

    /// <summary>How long person and service tokens live.</summary>
    public TimeSpan DefaultLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long agent tokens (JWT-SVIDs) live unless asked.</summary>
    public TimeSpan DefaultAgentLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Loads the development issuer's key file (default <c>&lt;temp&gt;/grantsilo-dev/dev-issuer.jwk</c>).</summary>
    public static DevelopmentTokens Load(string? keyFile = null, TimeProvider? timeProvider = null)
    {
        var path = keyFile ?? DevelopmentIssuerOptions.DefaultKeyFile;
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        string Get(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new InvalidDataException($"The development key file {path} has no '{name}'.");
        if (Get("kty") != "EC" || Get("crv") != "P-256")
        {
            throw new InvalidDataException($"The development key file {path} is not a P-256 EC key.");
        }

        var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64Url.DecodeFromChars(Get("x")), Y = Base64Url.DecodeFromChars(Get("y")) },
            D = Base64Url.DecodeFromChars(Get("d")),
        });
        return new DevelopmentTokens(key, Get("kid"), Get(DevelopmentIssuer.IssuerMember), Get(DevelopmentIssuer.AudienceMember), timeProvider);
    }

    /// <summary>A JWT-SVID for an agent: <c>sub</c> is its SPIFFE ID (any trust domain).</summary>
    public string ForAgent(string spiffeId, TimeSpan? lifetime = null)
        => Mint(spiffeId, lifetime ?? DefaultAgentLifetime, new Dictionary<string, object>());

    /// <summary>A token for a person (<c>person:&lt;name&gt;</c>) with the given roles.</summary>
    public string ForPerson(string name, params string[] roles) => ForNamed("person", name, roles);

    /// <summary>A token for a service (<c>service:&lt;name&gt;</c>) with the given roles.</summary>
    public string ForService(string name, params string[] roles) => ForNamed("service", name, roles);

    private string ForNamed(string kind, string name, string[] roles)
        => Mint(name, DefaultLifetime, new Dictionary<string, object>
        {
            [CallerAuthenticator.KindClaim] = kind,
            ["name"] = name,
            ["roles"] = roles,
        });

    private string Mint(string subject, TimeSpan lifetime, Dictionary<string, object> claims)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        claims[JwtRegisteredClaimNames.Sub] = subject;
        claims[JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N");
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = claims,
            SigningCredentials = _credentials,
        });
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
