using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GrantSilo.Identity.Tests;

public sealed class OptionsValidationTests : IDisposable
{
    private readonly IdentityWorld _world = new();

    public void Dispose() => _world.Dispose();

    private Dictionary<string, string?> GoodConfig() => new()
    {
        ["GrantSilo:Identity:Issuers:0:Name"] = "spire",
        ["GrantSilo:Identity:Issuers:0:Kind"] = "Spiffe",
        ["GrantSilo:Identity:Issuers:0:TrustDomain"] = "acme.dev",
        ["GrantSilo:Identity:Issuers:0:JwksFile"] = _world.PathOf("spiffe.json"),
    };

    private async Task<string> StartFails(Dictionary<string, string?> config)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddGrantSiloIdentity(builder.Configuration);
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        return error.Message;
    }

    [Theory]
    [InlineData("GrantSilo:Identity:Issuers:0:JwksFile", null, "JwksUri", "http://keys.acme.test/jwks", "must be an absolute https URL")]
    [InlineData("GrantSilo:Identity:Issuers:0:Algorithms:0", "HS256", null, null, "only asymmetric algorithms")]
    [InlineData("GrantSilo:Identity:Issuers:0:Algorithms:0", "none", null, null, "never 'none' or HMAC")]
    [InlineData("GrantSilo:Identity:ClockSkew", "00:10:00", null, null, "GrantSilo:Identity:ClockSkew is 00:10:00")]
    [InlineData("GrantSilo:Identity:Issuers:0:TrustDomain", "Acme.Dev", null, null, "must be a SPIFFE trust domain name")]
    [InlineData("GrantSilo:Identity:Issuers:0:Kind", "Oidc", null, null, "Issuer must be set for an OIDC issuer")]
    [InlineData("GrantSilo:Identity:Audience", "", null, null, "GrantSilo:Identity:Audience must be")]
    [InlineData("GrantSilo:Identity:Workloads:0:SpiffeId", "orchestrator", null, null, "is not a SPIFFE workload ID")]
    public async Task BadConfiguration_StopsTheStartWithAMessageNamingTheKey(string key, string? value, string? key2, string? value2, string expected)
    {
        var config = GoodConfig();
        config[key] = value;
        if (key2 is not null)
        {
            config["GrantSilo:Identity:Issuers:0:" + key2] = value2;
        }

        Assert.Contains(expected, await StartFails(config));
    }

    [Fact]
    public async Task NoIssuer_SaysHowToAddOne()
        => Assert.Contains("No issuer is trusted", await StartFails([]));

    [Fact]
    public async Task BothJwksFileAndUri_AreRefused()
    {
        var config = GoodConfig();
        config["GrantSilo:Identity:Issuers:0:JwksUri"] = "https://spire.acme.test/keys";
        Assert.Contains("set exactly one of JwksFile", await StartFails(config));
    }

    [Theory]
    [InlineData("https://keys.acme.test/jwks", true)]
    [InlineData("http://127.0.0.1:8080/jwks", true)]
    [InlineData("http://127.9.9.9/jwks", true)]
    [InlineData("http://localhost/jwks", false)]
    [InlineData("http://10.0.0.1/jwks", false)]
    [InlineData("http://[::1]/jwks", false)]
    [InlineData("https://user:pw@keys.acme.test/jwks", false)]
    public void JwksUri_HttpsOrLoopbackHttpOnly(string uri, bool allowed)
        => Assert.Equal(allowed, IdentityOptionsValidator.IsAllowedJwksUri(new Uri(uri)));

    [Fact]
    public async Task GoodConfiguration_Binds_AndAlgorithmsReplaceTheDefaults()
    {
        var config = GoodConfig();
        config["GrantSilo:Identity:Issuers:0:Algorithms:0"] = "ES384";
        config["GrantSilo:Identity:ClockSkew"] = "00:01:00";
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddGrantSiloIdentity(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync();

        var auth = host.Services.GetRequiredService<CallerAuthenticator>();
        Assert.Same(auth, host.Services.GetRequiredService<ICallerAuthenticator>());
        Assert.Equal(["ES384"], auth.Issuers[0].Algorithms);
        Assert.Equal(TimeSpan.FromMinutes(1), host.Services.GetRequiredService<IOptions<IdentityOptions>>().Value.ClockSkew);
        await host.StopAsync();
    }

    [Fact]
    public void DirectConstruction_AlsoValidates()
    {
        var options = new IdentityOptions { Audience = " " };
        var error = Assert.Throws<OptionsValidationException>(() => new CallerAuthenticator(options.Wrap(), TimeProvider.System, _world.LoggerFactory));
        Assert.Contains("No issuer is trusted", error.Message);
    }
}
