using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace GrantSilo.Identity.Tests;

public sealed class VerificationTests : IDisposable
{
    private readonly IdentityWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task Authenticate_AcceptsJwtSvid_AsAgentNamedBySpiffeId()
    {
        var auth = _world.Build();
        var caller = ResultAssert.Accepted(await auth.AuthenticateAsync(_world.AgentToken("spiffe://acme.dev/orchestrator")));

        Assert.Equal(CallerKind.Agent, caller.Kind);
        Assert.Equal("spiffe://acme.dev/orchestrator", caller.Name);
        Assert.Equal("spiffe://acme.dev/orchestrator", caller.Subject);
        Assert.Equal("spire-acme", caller.Issuer);
        Assert.Equal(["orchestrator"], caller.Roles);
        Assert.Equal(_world.Now.AddHours(1), caller.ExpiresAt);
        Assert.Equal("spiffe://acme.dev/orchestrator via spire-acme", caller.ToString());
    }

    [Fact]
    public async Task Authenticate_AcceptsJwtSvidWithoutIss_FromIssuerFoundByKid()
    {
        var auth = _world.Build();
        var token = Jwt.Sign(_world.OtherDomainKey, Jwt.Claims(iss: null, "spiffe://other.dev/agent/reader", _world.Now));

        var caller = ResultAssert.Accepted(await auth.AuthenticateAsync(token));

        Assert.Equal("spire-other", caller.Issuer);
        Assert.Empty(caller.Roles);
    }

    [Fact]
    public async Task Authenticate_AcceptsOidcPerson_WithNameClaimAndLowerCaseRoles()
    {
        var auth = _world.Build();
        var caller = ResultAssert.Accepted(await auth.AuthenticateAsync(_world.PersonToken()));

        Assert.Equal(CallerKind.Person, caller.Kind);
        Assert.Equal("person:alice@acme.dev", caller.Name);
        Assert.Equal("u-123", caller.Subject);
        Assert.Equal(["auditor", "operator"], caller.Roles.Order());
    }

    [Fact]
    public async Task Authenticate_ReadsSpaceSeparatedRolesString()
    {
        var auth = _world.Build();
        var caller = ResultAssert.Accepted(await auth.AuthenticateAsync(_world.PersonToken(roles: JsonValue.Create("operator approver"))));
        Assert.Equal(["approver", "operator"], caller.Roles.Order());
    }

    [Fact]
    public async Task Authenticate_OidcService_GetsConfiguredRolesToo()
    {
        _world.Options.Issuers[0].CallerKind = CallerKind.Service;
        _world.Options.Services = [new ServiceRolesOptions { Issuer = "corp", Name = "release-bot@acme.dev", Roles = ["orchestrator"] }];
        var auth = _world.Build();

        var caller = ResultAssert.Accepted(await auth.AuthenticateAsync(_world.PersonToken("release-bot@acme.dev", new JsonArray("reader"))));

        Assert.Equal(CallerKind.Service, caller.Kind);
        Assert.Equal("service:release-bot@acme.dev", caller.Name);
        Assert.Equal(["orchestrator", "reader"], caller.Roles.Order());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task Authenticate_RefusesMissingToken(string? token)
        => ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.Missing);

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30")]
    public async Task Authenticate_RefusesMalformedToken(string token)
        => ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.Malformed);

    [Fact]
    public async Task Authenticate_RefusesWrongSignature()
    {
        using var impostor = TestKey.Es256("spire-1");
        var token = Jwt.Sign(impostor, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/agent/planner", _world.Now));

        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.BadSignature);
    }

    [Fact]
    public async Task Authenticate_RefusesTamperedPayload()
    {
        var token = _world.AgentToken("spiffe://acme.dev/agent/planner");
        var parts = token.Split('.');
        var forged = Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/orchestrator", _world.Now);
        var tampered = parts[0] + "." + System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(forged.ToJsonString())) + "." + parts[2];

        ResultAssert.Refused(await _world.Build().AuthenticateAsync(tampered), AuthenticationFailure.BadSignature);
    }

    [Fact]
    public async Task Authenticate_RefusesAlgNone()
    {
        var header = new JsonObject { ["alg"] = "none", ["typ"] = "JWT", ["kid"] = "spire-1" };
        var token = Jwt.Compose(header, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/orchestrator", _world.Now), sign: null);

        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.AlgorithmNotAllowed);
    }

    public static TheoryData<string> PublicKeyForms => ["spki-der", "pem", "jwk-json", "raw-point"];

    [Theory]
    [MemberData(nameof(PublicKeyForms))]
    public async Task Authenticate_RefusesHs256SignedWithThePublicKeyAsSecret(string form)
    {
        var key = _world.SpiffeKey;
        var secret = form switch
        {
            "spki-der" => key.Ec!.ExportSubjectPublicKeyInfo(),
            "pem" => Encoding.ASCII.GetBytes(key.Ec!.ExportSubjectPublicKeyInfoPem()),
            "jwk-json" => Encoding.UTF8.GetBytes(key.PublicJwk().ToJsonString()),
            _ => [.. key.Ec!.ExportParameters(false).Q.X!, .. key.Ec!.ExportParameters(false).Q.Y!],
        };
        var header = new JsonObject { ["alg"] = "HS256", ["typ"] = "JWT", ["kid"] = key.Kid };
        var token = Jwt.Compose(header, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/orchestrator", _world.Now), input => HMACSHA256.HashData(secret, input));

        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.AlgorithmNotAllowed);
    }

    [Fact]
    public async Task Authenticate_RefusesAlgorithmThatDoesNotFitTheKey()
    {
        // ES384 is allowed for the issuer, but the key is P-256.
        var header = new JsonObject { ["alg"] = "ES384", ["kid"] = _world.SpiffeKey.Kid };
        var token = Jwt.Compose(header, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now), input => _world.SpiffeKey.Ec!.SignData(input, HashAlgorithmName.SHA384));

        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.AlgorithmNotAllowed);
    }

    [Fact]
    public async Task Authenticate_RefusesAlgorithmNotAllowedForThatIssuer()
    {
        _world.Options.Issuers[1].Algorithms = ["RS256"];
        var token = _world.AgentToken();

        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.AlgorithmNotAllowed);
    }

    [Fact]
    public async Task Authenticate_RefusesUnknownKid()
    {
        var token = Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now), kid: "no-such-key");
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.UnknownKey);
    }

    [Fact]
    public async Task Authenticate_RefusesTokenWithoutKid_EvenIfTheIssuerHasOneKey()
    {
        var token = Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now), kid: null);
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.UnknownKey);
    }

    [Fact]
    public async Task Authenticate_RefusesUntrustedIssuer()
    {
        var token = Jwt.Sign(_world.OidcKey, Jwt.Claims("https://evil.test", "u-1", _world.Now));
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.UntrustedIssuer);
    }

    [Fact]
    public async Task Authenticate_RefusesIssuerThatDiffersOnlyInCaseOrTrailingSlash()
    {
        var auth = _world.Build();
        foreach (var iss in new[] { "https://IDP.acme.test", "https://idp.acme.test/" })
        {
            var token = Jwt.Sign(_world.OidcKey, Jwt.Claims(iss, "u-1", _world.Now));
            ResultAssert.Refused(await auth.AuthenticateAsync(token), AuthenticationFailure.UntrustedIssuer);
        }
    }

    [Fact]
    public async Task Authenticate_RefusesOneIssuersKeyUsedUnderAnothersIss()
    {
        // Signed by the SPIRE key but claiming the OIDC issuer: that issuer does not publish this kid.
        var token = Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.OidcIss, "u-1", _world.Now));
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.UnknownKey);
    }

    [Fact]
    public async Task Authenticate_RefusesWrongAudience()
    {
        var token = Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now, aud: "some-other-api"));
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.WrongAudience);
    }

    [Fact]
    public async Task Authenticate_ExpiryRespectsClockSkewOnBothSides()
    {
        var auth = _world.Build();
        auth.CacheEnabled = false;
        var token = _world.AgentToken(lifetime: TimeSpan.FromMinutes(10));

        _world.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(29));
        ResultAssert.Accepted(await auth.AuthenticateAsync(token));

        _world.Time.Advance(TimeSpan.FromSeconds(2));
        ResultAssert.Refused(await auth.AuthenticateAsync(token), AuthenticationFailure.Expired);
    }

    [Fact]
    public async Task Authenticate_NotBeforeRespectsClockSkewOnBothSides()
    {
        var auth = _world.Build();
        var early = Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/a", _world.Now, nbf: _world.Now.AddSeconds(31)));
        var justInside = Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/b", _world.Now, nbf: _world.Now.AddSeconds(29)));

        ResultAssert.Refused(await auth.AuthenticateAsync(early), AuthenticationFailure.NotYetValid);
        ResultAssert.Accepted(await auth.AuthenticateAsync(justInside));

        _world.Time.Advance(TimeSpan.FromSeconds(2));
        ResultAssert.Accepted(await auth.AuthenticateAsync(early));
    }

    [Fact]
    public async Task Authenticate_ClockSkewIsConfigurable()
    {
        _world.Options.ClockSkew = TimeSpan.Zero;
        var auth = _world.Build();
        var token = _world.AgentToken(lifetime: TimeSpan.FromMinutes(1));

        _world.Time.Advance(TimeSpan.FromMinutes(1));
        ResultAssert.Refused(await auth.AuthenticateAsync(token), AuthenticationFailure.Expired);
    }

    [Fact]
    public async Task Authenticate_RefusesTokenWithoutExp()
    {
        var claims = Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now);
        claims.Remove("exp");
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(Jwt.Sign(_world.SpiffeKey, claims)), AuthenticationFailure.Malformed);
    }

    [Fact]
    public async Task Authenticate_RefusesSpiffeIdOfAnotherTrustDomain()
    {
        var token = _world.AgentToken("spiffe://other.dev/agent/reader");
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.WrongTrustDomain);
    }

    [Fact]
    public async Task Authenticate_RefusesAnotherTrustDomainsKeyNamingThisTrustDomain()
    {
        var token = Jwt.Sign(_world.OtherDomainKey, Jwt.Claims(iss: null, "spiffe://acme.dev/orchestrator", _world.Now));
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.WrongTrustDomain);
    }

    [Theory]
    [InlineData("alice@acme.dev")]
    [InlineData("spiffe://acme.dev")]
    [InlineData("spiffe://acme.dev/")]
    [InlineData("spiffe://ACME.dev/agent")]
    [InlineData("spiffe://acme.dev/agent/../orchestrator")]
    [InlineData("spiffe://acme.dev//agent")]
    [InlineData("spiffe://acme.dev/agent?x=1")]
    [InlineData("spiffe://user@acme.dev/agent")]
    [InlineData("spiffe://acme.dev:443/agent")]
    [InlineData("https://acme.dev/agent")]
    public async Task Authenticate_RefusesSubThatIsNotASpiffeWorkloadId(string sub)
    {
        var token = _world.AgentToken(sub);
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.NotAnAgentId);
    }

    [Fact]
    public async Task Jwks_IgnoresRsaKeyOf1024Bits_AndAccepts2048()
    {
        using var weak = TestKey.RsaKey("rsa-weak", 1024);
        using var strong = TestKey.RsaKey("rsa-strong", 2048);
        _world.WriteJwks("oidc.json", _world.OidcKey, weak, strong);
        var auth = _world.Build();

        var weakToken = Jwt.Sign(weak, Jwt.Claims(IdentityWorld.OidcIss, "u-1", _world.Now).With("email", "a@b"));
        var strongToken = Jwt.Sign(strong, Jwt.Claims(IdentityWorld.OidcIss, "u-1", _world.Now).With("email", "a@b"));

        ResultAssert.Refused(await auth.AuthenticateAsync(weakToken), AuthenticationFailure.UnknownKey);
        ResultAssert.Accepted(await auth.AuthenticateAsync(strongToken));
        Assert.Contains(_world.Logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.Contains("rsa-weak") && e.Message.Contains("1024 bits"));
    }

    [Fact]
    public async Task Jwks_IgnoresSymmetricKeys()
    {
        var oct = new JsonObject { ["kty"] = "oct", ["kid"] = "shared", ["k"] = System.Buffers.Text.Base64Url.EncodeToString(new byte[32]) };
        _world.WriteJwks("oidc.json", _world.OidcKey.PublicJwk(), oct);
        var auth = _world.Build();

        var header = new JsonObject { ["alg"] = "HS256", ["kid"] = "shared" };
        var token = Jwt.Compose(header, Jwt.Claims(IdentityWorld.OidcIss, "u-1", _world.Now).With("email", "a@b"), input => HMACSHA256.HashData(new byte[32], input));

        ResultAssert.Refused(await auth.AuthenticateAsync(token), AuthenticationFailure.AlgorithmNotAllowed);
        Assert.DoesNotContain("shared", auth.Issuers[0].Keys.Current!.Keys.Keys);
        Assert.Contains(_world.Logs.Entries, e => e.Message.Contains("'shared'") && e.Message.Contains("oct"));
    }

    [Fact]
    public async Task Authenticate_RefusesOidcTokenWithoutItsNameClaim()
    {
        var token = Jwt.Sign(_world.OidcKey, Jwt.Claims(IdentityWorld.OidcIss, "u-1", _world.Now));
        ResultAssert.Refused(await _world.Build().AuthenticateAsync(token), AuthenticationFailure.Malformed);
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject With(this JsonObject o, string name, JsonNode? value)
    {
        o[name] = value;
        return o;
    }
}
