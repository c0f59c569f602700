using GrantSilo.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace GrantSilo.Http.Tests;

/// <summary>Settings the HTTP API refuses at start-up, before anything listens.</summary>
public sealed class HttpApiStartupTests
{
    private static WebApplicationBuilder Builder(params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        foreach (var (key, value) in settings)
        {
            builder.Configuration[key] = value;
        }
        return builder;
    }

    [Theory]
    [InlineData("true")]
    [InlineData("True")]
    public void ForwardedHeadersFromAnyone_AreRefused(string value)
    {
        // ASPNETCORE_FORWARDEDHEADERS_ENABLED reaches the configuration as ForwardedHeaders_Enabled.
        var refused = Assert.Throws<OptionsValidationException>(() => Builder(("ForwardedHeaders_Enabled", value)).AddGrantSiloHttpApi());
        Assert.Contains("ASPNETCORE_FORWARDEDHEADERS_ENABLED", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutForwardedHeaders_TheApiIsRegistered_WithAYearOfHsts()
    {
        Assert.Equal(TimeSpan.FromDays(365), Builder().AddGrantSiloHttpApi().HstsMaxAge);
    }

    [Fact]
    public void ANegativeHstsMaxAge_IsRefused_NamingTheSetting()
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Builder(("GrantSilo:Http:HstsMaxAge", "-00:00:01")).AddGrantSiloHttpApi());
        Assert.Contains("GrantSilo:Http:HstsMaxAge", refused.Message, StringComparison.Ordinal);
    }
}
