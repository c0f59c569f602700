using System.Runtime.Versioning;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Identity.Tests;

public sealed class DevelopmentIssuerTests : IDisposable
{
    private readonly IdentityWorld _world = new();

    public void Dispose() => _world.Dispose();

    private Dictionary<string, string?> DevConfig() => new()
    {
        ["GrantSilo:Identity:Development:Enabled"] = "true",
        ["GrantSilo:Identity:Development:KeyFile"] = _world.PathOf("dev/dev-issuer.jwk"),
        ["GrantSilo:Identity:Workloads:0:SpiffeId"] = "spiffe://elsewhere.dev/orchestrator",
        ["GrantSilo:Identity:Workloads:0:Roles:0"] = "orchestrator",
    };

    private IHost BuildHost(string environment, Dictionary<string, string?> config)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = environment, DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.ClearProviders().AddProvider(_world.Logs);
        builder.Services.AddSingleton<TimeProvider>(_world.Time);
        builder.Services.AddGrantSiloIdentity(builder.Configuration);
        return builder.Build();
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task DevelopmentIssuer_IsRefusedOutsideDevelopment(string environment)
    {
        using var host = BuildHost(environment, DevConfig());
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("DEVELOPMENT issuer", error.Message);
        Assert.Contains("AllowOutsideDevelopment", error.Message);
        Assert.False(File.Exists(_world.PathOf("dev/dev-issuer.jwk")));
    }

    [Fact]
    public void EnsureAllowed_TakesTheEnvironmentName()
    {
        var options = new DevelopmentIssuerOptions { Enabled = true };
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => DevelopmentIssuer.EnsureAllowed("Production", options));
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => DevelopmentIssuer.EnsureAllowed((string?)null, options));
        DevelopmentIssuer.EnsureAllowed("Development", options);
        DevelopmentIssuer.EnsureAllowed("Production", new DevelopmentIssuerOptions { Enabled = true, AllowOutsideDevelopment = true });
    }

    [Fact]
    public async Task DevelopmentIssuer_AllowedOutsideDevelopmentOnlyWhenAsked()
    {
        var config = DevConfig();
        config["GrantSilo:Identity:Development:AllowOutsideDevelopment"] = "true";
        using var host = BuildHost("Production", config);
        await host.StartAsync();
        Assert.True(File.Exists(_world.PathOf("dev/dev-issuer.jwk")));
        await host.StopAsync();
    }

    [Fact]
    public async Task TokensMintedFromTheKeyFile_Verify_InAnyTrustDomain_AndAsPersonsAndServices()
    {
        using var host = BuildHost("Development", DevConfig());
        await host.StartAsync();
        var auth = host.Services.GetRequiredService<ICallerAuthenticator>();

        // Another process would do exactly this: read the key file.
        using var tokens = DevelopmentTokens.Load(_world.PathOf("dev/dev-issuer.jwk"), _world.Time);

        var agent = ResultAssert.Accepted(await auth.AuthenticateAsync(tokens.ForAgent("spiffe://elsewhere.dev/orchestrator")));
        Assert.Equal(CallerKind.Agent, agent.Kind);
        Assert.Equal("spiffe://elsewhere.dev/orchestrator", agent.Name);
        Assert.Equal(DevelopmentIssuer.IssuerName, agent.Issuer);
        Assert.Equal(["orchestrator"], agent.Roles);
        Assert.Equal(_world.Now.AddMinutes(5), agent.ExpiresAt);

        var person = ResultAssert.Accepted(await auth.AuthenticateAsync(tokens.ForPerson("alice@acme.dev", "operator", "Approver")));
        Assert.Equal(CallerKind.Person, person.Kind);
        Assert.Equal("person:alice@acme.dev", person.Name);
        Assert.Equal(["approver", "operator"], person.Roles.Order());

        var service = ResultAssert.Accepted(await auth.AuthenticateAsync(tokens.ForService("release-bot")));
        Assert.Equal("service:release-bot", service.Name);
        Assert.Empty(service.Roles);

        ResultAssert.Refused(await auth.AuthenticateAsync(tokens.ForAgent("not-a-spiffe-id")), AuthenticationFailure.NotAnAgentId);
        await host.StopAsync();
    }

    [Fact]
    public async Task DevelopmentIssuer_LogsAWarning_AndWritesTheKeyFileMode0600()
    {
        using var host = BuildHost("Development", DevConfig());
        await host.StartAsync();

        Assert.Contains(_world.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("DEVELOPMENT issuer is active") && e.Message.Contains("Never use it in production"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_world.PathOf("dev/dev-issuer.jwk")));
        }

        Assert.Contains("\"d\"", await File.ReadAllTextAsync(_world.PathOf("dev/dev-issuer.jwk")));
        await host.StopAsync();
    }

    [Fact]
    public async Task TokensOfAnOldDevelopmentKey_AreRefusedAfterARestart()
    {
        var options = new DevelopmentIssuerOptions { Enabled = true, KeyFile = _world.PathOf("dev/k.jwk") };
        using var first = new DevelopmentIssuer(options, "grantsilo", _world.LoggerFactory.CreateLogger<DevelopmentIssuer>());
        using var oldTokens = first.CreateTokens(_world.Time);
        using var second = new DevelopmentIssuer(options, "grantsilo", _world.LoggerFactory.CreateLogger<DevelopmentIssuer>());
        _world.Options.Development = options;

        var auth = _world.Build(second);

        ResultAssert.Refused(await auth.AuthenticateAsync(oldTokens.ForPerson("mallory")), AuthenticationFailure.UnknownKey);
        using var newTokens = DevelopmentTokens.Load(options.KeyFile, _world.Time);
        ResultAssert.Accepted(await auth.AuthenticateAsync(newTokens.ForPerson("alice")));
    }
    [Fact]
    public void DevelopmentIssuer_MakesItsKeyDirectoryOwnerOnly_AndStartsAgainInIt()
    {
        var options = new DevelopmentIssuerOptions { Enabled = true, KeyFile = _world.PathOf("fresh/k.jwk") };
        using (new DevelopmentIssuer(options, "grantsilo", _world.LoggerFactory.CreateLogger<DevelopmentIssuer>()))
        {
        }
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_world.PathOf("fresh")));
        }

        // The directory it made is one it accepts.
        using var again = new DevelopmentIssuer(options, "grantsilo", _world.LoggerFactory.CreateLogger<DevelopmentIssuer>());
        Assert.True(File.Exists(options.KeyFile));
    }

    [Theory]
    [InlineData(0b111_111_000)] // 0770
    [InlineData(0b111_111_111)] // 0777
    public async Task DevelopmentIssuer_RefusesToStart_InAnExistingKeyDirectoryOthersMayWrite(int mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var directory = _world.PathOf("dev");
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, (UnixFileMode)mode);

        using var host = BuildHost("Development", DevConfig());
        var refused = await Assert.ThrowsAsync<KeyFileRefusedException>(() => host.StartAsync());

        Assert.Equal(KeyFileProblem.DirectoryWritableByOthers, refused.Problem);
        Assert.Equal(directory, refused.Path);
        Assert.Contains($"chmod 700 {directory}", refused.Message);
        Assert.Contains("GrantSilo:Identity:Development:KeyFile", refused.Message);
        Assert.Equal("GrantSilo:Identity:Development", refused.OptionsName);
        Assert.False(File.Exists(_world.PathOf("dev/dev-issuer.jwk")));
        Assert.Empty(Directory.GetFiles(directory));
    }

    [Fact]
    public void DevelopmentIssuer_RefusesAKeyDirectoryThatIsASymbolicLink()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var target = Directory.CreateDirectory(_world.PathOf("elsewhere"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateSymbolicLink(_world.PathOf("linked"), target.FullName);
        var options = new DevelopmentIssuerOptions { Enabled = true, KeyFile = _world.PathOf("linked/k.jwk") };

        var refused = Assert.Throws<KeyFileRefusedException>(() => new DevelopmentIssuer(options, "grantsilo", _world.LoggerFactory.CreateLogger<DevelopmentIssuer>()));

        Assert.Equal(KeyFileProblem.DirectoryIsSymbolicLink, refused.Problem);
        Assert.Empty(target.GetFiles());
    }

    [Fact]
    public void DevelopmentIssuer_RefusesAKeyDirectoryAnotherUserOwns()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var options = new DevelopmentIssuerOptions { Enabled = true, KeyFile = _world.PathOf("theirs/k.jwk") };
        var directory = _world.PathOf("theirs");
        var me = UnixKeyPaths.EffectiveUser();
        // The real directory (made 0700 by the issuer), as if another user (this user + 1) had made it first.
        var guard = GuardSeeing(directory, ownedBy: me + 1);

        var refused = Assert.Throws<KeyFileRefusedException>(() => new DevelopmentIssuer(options, "grantsilo", _world.LoggerFactory.CreateLogger<DevelopmentIssuer>(), guard));

        Assert.Equal(KeyFileProblem.DirectoryNotOwned, refused.Problem);
        Assert.Contains($"uid {me + 1}", refused.Message);
        Assert.Contains($"chown {me} {directory}", refused.Message);
        Assert.False(File.Exists(options.KeyFile));
    }

    // This process's guard over real files, except that it sees one path as owned by another user.
    [UnsupportedOSPlatform("windows")]
    private static KeyFileGuard GuardSeeing(string path, uint ownedBy)
        => new(p => UnixKeyPaths.Facts(p) is { } real && p == path ? real with { Owner = ownedBy } : UnixKeyPaths.Facts(p), UnixKeyPaths.EffectiveUser());
}
