using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace GrantSilo.WebConsole.Tests;

/// <summary>The console's configuration refuses settings that would weaken its sign-in, at start-up.</summary>
public sealed class ConsoleOptionsTests
{
    private static WebApplicationBuilder Builder(params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        foreach (var (key, value) in settings)
        {
            builder.Configuration[key] = value;
        }
        return builder;
    }

    [Fact]
    public void PlainHttpMetadata_IsRefused_ForAProviderBeyondLoopback()
    {
        var builder = Builder(
            ("GrantSilo:Console:Oidc:Authority", "http://login.acme.test/"),
            ("GrantSilo:Console:Oidc:ClientId", "grantsilo-console"),
            ("GrantSilo:Console:Oidc:RequireHttpsMetadata", "false"));
        var refused = Assert.Throws<OptionsValidationException>(() => builder.AddGrantSiloConsole());
        Assert.Contains("RequireHttpsMetadata may be false only for a provider on loopback", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5001/")]
    [InlineData("http://localhost:5001/")]
    public void PlainHttpMetadata_IsAllowed_ForATestProviderOnLoopback(string authority)
    {
        var builder = Builder(
            ("GrantSilo:Console:Oidc:Authority", authority),
            ("GrantSilo:Console:Oidc:ClientId", "grantsilo-console"),
            ("GrantSilo:Console:Oidc:RequireHttpsMetadata", "false"));
        Assert.NotNull(builder.AddGrantSiloConsole());
    }

    [Fact]
    public void AnHttpsProvider_NeedsNoException()
    {
        var builder = Builder(
            ("GrantSilo:Console:Oidc:Authority", "https://login.acme.test/"),
            ("GrantSilo:Console:Oidc:ClientId", "grantsilo-console"));
        Assert.True(builder.AddGrantSiloConsole().Oidc.RequireHttpsMetadata);
    }
}
