using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Identity.Tests;

/// <summary>
/// A caller name means one caller whichever issuer vouched for it, so no two issuers may vouch for the same name: each
/// OIDC issuer is believed only for its own Names, overlapping issuers do not start, and a single issuer of a kind
/// needs nothing configured.
/// </summary>
public sealed class IssuerNamesTests : IDisposable
{
    private const string PartnerIss = "https://idp.partner.example";

    private readonly IdentityWorld _world = new();
    private readonly TestKey _partnerKey;

    public IssuerNamesTests()
    {
        _partnerKey = _world.Track(TestKey.Es256("partner-1"));
        _world.WriteJwks("partner.json", _partnerKey);
    }

    public void Dispose() => _world.Dispose();

    // corp (acme.dev people) and partner (partner.example people), each authoritative for its own domain.
    private CallerAuthenticator TwoPersonIssuers()
    {
        _world.Options.Issuers[0].Names = ["person:*@acme.dev"];
        _world.Options.Issuers.Add(new TrustedIssuerOptions
        {
            Name = "partner", Kind = IssuerKind.Oidc, Issuer = PartnerIss, JwksFile = _world.PathOf("partner.json"), NameClaim = "email",
            Names = ["person:*@partner.example"],
        });
        return _world.Build();
    }

    private string PartnerToken(string email)
    {
        var claims = Jwt.Claims(PartnerIss, "p-1", _world.Now);
        claims["email"] = email;
        claims["roles"] = new JsonArray("approver");
        return Jwt.Sign(_partnerKey, claims);
    }

    [Fact]
    public async Task TwoIssuers_AUserOfTheSecondNamedAsAUserOfTheFirst_IsRefused()
    {
        var auth = TwoPersonIssuers();
        var token = PartnerToken("alice@acme.dev");

        var result = await auth.AuthenticateAsync(token);

        ResultAssert.Refused(result, AuthenticationFailure.NameOutsideIssuerNames);
        Assert.Contains("issuer partner is not authoritative for the name 'person:alice@acme.dev'", result.Detail);
        Assert.DoesNotContain(token, result.Detail!, StringComparison.Ordinal);
        var warning = Assert.Single(_world.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("outside the names it is authoritative for", StringComparison.Ordinal));
        Assert.Contains("person:alice@acme.dev", warning.Message);
        Assert.DoesNotContain(token, _world.Logs.All, StringComparison.Ordinal);
        Assert.Equal(0, auth.CachedCount);
    }

    [Fact]
    public async Task TwoIssuers_ANameClaimCarryingItsPrefix_IsJudgedAsTheNameItBecomes()
    {
        var auth = TwoPersonIssuers();

        ResultAssert.Refused(await auth.AuthenticateAsync(PartnerToken("person:alice@acme.dev")), AuthenticationFailure.NameOutsideIssuerNames);
        // Only the issuer's own names: a suffix that merely contains the other's domain is not enough.
        ResultAssert.Refused(await auth.AuthenticateAsync(PartnerToken("alice@acme.dev.partner.example.org")), AuthenticationFailure.NameOutsideIssuerNames);
    }

    [Fact]
    public async Task ANameIsJudgedInTheComposedFormGrantSiloKnowsItBy_SoADecomposedSpellingCannotCrossIssuers()
    {
        // corp vouches for zoë (composed, as GrantSilo stores names); partner for every name starting "zoe". The two do
        // not overlap as text, so they start; but "zoe" + U+0308 (a combining diaeresis) is stored as "zoë".
        _world.Options.Issuers[0].Names = ["person:zo\u00EB@acme.dev"];
        _world.Options.Issuers.Add(new TrustedIssuerOptions
        {
            Name = "partner", Kind = IssuerKind.Oidc, Issuer = PartnerIss, JwksFile = _world.PathOf("partner.json"), NameClaim = "email",
            Names = ["person:zoe*"],
        });
        Assert.Empty(IdentityOptionsValidator.Check(_world.Options));
        var auth = _world.Build();
        const string decomposed = "zoe\u0308@acme.dev";

        // Before, the partner's user was judged on the decomposed text, which its own names allow.
        var result = await auth.AuthenticateAsync(PartnerToken(decomposed));
        ResultAssert.Refused(result, AuthenticationFailure.NameOutsideIssuerNames);
        Assert.Contains("issuer partner is not authoritative for the name", result.Detail);
        // The refusal does not tell the caller which names the issuer vouches for.
        Assert.DoesNotContain("zoe*", result.Detail!, StringComparison.Ordinal);
        // corp's own user, whichever way its token spells the name, is known by the composed name.
        Assert.Equal("person:zo\u00EB@acme.dev", ResultAssert.Accepted(await auth.AuthenticateAsync(_world.PersonToken(decomposed))).Name);
        Assert.Equal("person:zoe-partner@x", ResultAssert.Accepted(await auth.AuthenticateAsync(PartnerToken("zoe-partner@x"))).Name);
    }

    [Fact]
    public async Task ANamesPatternNotInComposedForm_DoesNotStart()
    {
        var error = await StartError(new Dictionary<string, string?>
        {
            ["GrantSilo:Identity:Issuers:0:Name"] = "one",
            ["GrantSilo:Identity:Issuers:0:Kind"] = "Oidc",
            ["GrantSilo:Identity:Issuers:0:Issuer"] = IdentityWorld.OidcIss,
            ["GrantSilo:Identity:Issuers:0:JwksFile"] = _world.PathOf("oidc.json"),
            ["GrantSilo:Identity:Issuers:0:CallerKind"] = "Person",
            ["GrantSilo:Identity:Issuers:0:Names:0"] = "person:zoe\u0308*",
        });

        Assert.NotNull(error);
        Assert.Contains("Unicode NFC", error);
    }

    [Fact]
    public async Task TwoIssuers_EachVouchesForItsOwnNames()
    {
        var auth = TwoPersonIssuers();

        var alice = ResultAssert.Accepted(await auth.AuthenticateAsync(_world.PersonToken("alice@acme.dev")));
        var bob = ResultAssert.Accepted(await auth.AuthenticateAsync(PartnerToken("bob@partner.example")));

        Assert.Equal(("person:alice@acme.dev", "corp"), (alice.Name, alice.Issuer));
        Assert.Equal(("person:bob@partner.example", "partner"), (bob.Name, bob.Issuer));
        ResultAssert.Refused(await auth.AuthenticateAsync(_world.PersonToken("bob@partner.example")), AuthenticationFailure.NameOutsideIssuerNames);
    }

    [Fact]
    public async Task OneIssuerOfAKind_NeedsNoNames_AndVouchesForEveryNameOfItsKind()
    {
        var auth = _world.Build();

        var caller = ResultAssert.Accepted(await auth.AuthenticateAsync(_world.PersonToken("mallory@anywhere.example")));

        Assert.Equal("person:mallory@anywhere.example", caller.Name);
        Assert.Empty(IdentityOptionsValidator.Check(_world.Options));
    }

    [Fact]
    public async Task ExactNames_AreAccepted_AndNothingElse()
    {
        _world.Options.Issuers[0].CallerKind = CallerKind.Service;
        _world.Options.Issuers[0].Names = ["service:release-bot@acme.dev"];
        var auth = _world.Build();

        Assert.Equal("service:release-bot@acme.dev", ResultAssert.Accepted(await auth.AuthenticateAsync(_world.PersonToken("release-bot@acme.dev"))).Name);
        ResultAssert.Refused(await auth.AuthenticateAsync(_world.PersonToken("release-bot@acme.dev2")), AuthenticationFailure.NameOutsideIssuerNames);
    }

    private Dictionary<string, string?> TwoPeopleIssuersConfig(string? firstNames, string? secondNames)
    {
        var config = new Dictionary<string, string?>
        {
            ["GrantSilo:Identity:Issuers:0:Name"] = "corp",
            ["GrantSilo:Identity:Issuers:0:Issuer"] = IdentityWorld.OidcIss,
            ["GrantSilo:Identity:Issuers:0:JwksFile"] = _world.PathOf("oidc.json"),
            ["GrantSilo:Identity:Issuers:1:Name"] = "partner",
            ["GrantSilo:Identity:Issuers:1:Issuer"] = PartnerIss,
            ["GrantSilo:Identity:Issuers:1:JwksFile"] = _world.PathOf("partner.json"),
        };
        if (firstNames is not null)
        {
            config["GrantSilo:Identity:Issuers:0:Names:0"] = firstNames;
        }

        if (secondNames is not null)
        {
            config["GrantSilo:Identity:Issuers:1:Names:0"] = secondNames;
        }

        return config;
    }

    private static async Task<string?> StartError(Dictionary<string, string?> config)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddGrantSiloIdentity(builder.Configuration);
        using var host = builder.Build();
        try
        {
            await host.StartAsync();
            await host.StopAsync();
            return null;
        }
        catch (OptionsValidationException e)
        {
            return e.Message;
        }
    }

    [Fact]
    public async Task TwoPersonIssuersWithoutNames_DoNotStart_SayingHowToGiveEachItsNames()
    {
        var error = await StartError(TwoPeopleIssuersConfig(null, null));

        Assert.NotNull(error);
        Assert.Contains("GrantSilo:Identity:Issuers:1 ('partner') and GrantSilo:Identity:Issuers:0 ('corp') are both OIDC issuers of persons, and neither declares the names", error);
        Assert.Contains("Give each its own Names (e.g. Issuers:0:Names:0=person:*@acme.dev", error);
    }

    [Fact]
    public async Task OneOfTwoPersonIssuersWithoutNames_DoesNotStart()
    {
        var error = await StartError(TwoPeopleIssuersConfig("person:*@acme.dev", null));

        Assert.NotNull(error);
        Assert.Contains("one does not declare the names it is authoritative for, so both could vouch for 'person:@acme.dev'", error);
    }

    [Fact]
    public async Task OverlappingNames_DoNotStart_NamingANameBothCouldVouchFor()
    {
        var error = await StartError(TwoPeopleIssuersConfig("person:*@acme.dev", "person:alice@*"));

        Assert.NotNull(error);
        Assert.Contains("could both vouch for the name 'person:alice@acme.dev' (their Names 'person:*@acme.dev' and 'person:alice@*' overlap)", error);
    }

    [Fact]
    public async Task DisjointNames_Start()
        => Assert.Null(await StartError(TwoPeopleIssuersConfig("person:*@acme.dev", "person:*@partner.example")));

    [Fact]
    public async Task OnePersonIssuerAndOneServiceIssuer_StartWithoutNames()
    {
        var config = TwoPeopleIssuersConfig(null, null);
        config["GrantSilo:Identity:Issuers:1:CallerKind"] = "Service";

        Assert.Null(await StartError(config));
    }

    [Fact]
    public async Task TwoSpiffeIssuersOfOneTrustDomain_DoNotStart()
    {
        var error = await StartError(new Dictionary<string, string?>
        {
            ["GrantSilo:Identity:Issuers:0:Name"] = "spire-a",
            ["GrantSilo:Identity:Issuers:0:Kind"] = "Spiffe",
            ["GrantSilo:Identity:Issuers:0:TrustDomain"] = "acme.dev",
            ["GrantSilo:Identity:Issuers:0:JwksFile"] = _world.PathOf("spiffe.json"),
            ["GrantSilo:Identity:Issuers:1:Name"] = "spire-b",
            ["GrantSilo:Identity:Issuers:1:Kind"] = "Spiffe",
            ["GrantSilo:Identity:Issuers:1:TrustDomain"] = "acme.dev",
            ["GrantSilo:Identity:Issuers:1:JwksFile"] = _world.PathOf("other.json"),
        });

        Assert.NotNull(error);
        Assert.Contains("('spire-b') and GrantSilo:Identity:Issuers:0 ('spire-a') both vouch for SPIFFE trust domain 'acme.dev'", error);
    }

    [Theory]
    [InlineData("Oidc", "Person", "*@acme.dev", "must start with 'person:'")]
    [InlineData("Oidc", "Service", "person:*@acme.dev", "must start with 'service:'")]
    [InlineData("Oidc", "Person", "person:*@*.acme.dev", "has more than one '*'")]
    [InlineData("Oidc", "Person", "person:a b", "without white space")]
    [InlineData("Spiffe", null, "spiffe://acme.dev/*", "Names is for OIDC issuers only")]
    public async Task BadNames_DoNotStart(string kind, string? callerKind, string names, string expected)
    {
        var config = new Dictionary<string, string?>
        {
            ["GrantSilo:Identity:Issuers:0:Name"] = "one",
            ["GrantSilo:Identity:Issuers:0:Kind"] = kind,
            ["GrantSilo:Identity:Issuers:0:Issuer"] = IdentityWorld.OidcIss,
            ["GrantSilo:Identity:Issuers:0:JwksFile"] = _world.PathOf("oidc.json"),
            ["GrantSilo:Identity:Issuers:0:Names:0"] = names,
        };
        if (callerKind is not null)
        {
            config["GrantSilo:Identity:Issuers:0:CallerKind"] = callerKind;
        }
        else
        {
            config["GrantSilo:Identity:Issuers:0:TrustDomain"] = "acme.dev";
        }

        var error = await StartError(config);

        Assert.NotNull(error);
        Assert.Contains(expected, error);
    }

    [Fact]
    public async Task AServiceGivenRolesOutsideItsIssuersNames_DoesNotStart()
    {
        var config = TwoPeopleIssuersConfig("service:*@acme.dev", null);
        config["GrantSilo:Identity:Issuers:0:CallerKind"] = "Service";
        config["GrantSilo:Identity:Services:0:Issuer"] = "corp";
        config["GrantSilo:Identity:Services:0:Name"] = "deploy-bot@partner.example";
        config["GrantSilo:Identity:Services:0:Roles:0"] = "orchestrator";

        var error = await StartError(config);

        Assert.NotNull(error);
        Assert.Contains("GrantSilo:Identity:Services:0:Name 'deploy-bot@partner.example' is outside the names issuer 'corp' is authoritative for (service:*@acme.dev)", error);
    }
}
