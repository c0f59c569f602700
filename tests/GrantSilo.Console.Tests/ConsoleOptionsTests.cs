using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrantSilo.WebConsole.Tests;

/// <summary>The console's configuration refuses settings that would weaken its sign-in, at start-up.</summary>
public sealed class ConsoleOptionsTests
{
    private static WebApplicationBuilder Builder(params (string Key, string Value)[] settings) => Builder("Production", settings);

    private static WebApplicationBuilder Builder(string environment, params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { EnvironmentName = environment });
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

    private static readonly (string, string)[] Oidc = [("GrantSilo:Console:Oidc:Authority", "https://login.acme.test/"), ("GrantSilo:Console:Oidc:ClientId", "grantsilo-console")];

    // Each cookie of the console: the session, antiforgery, messages, and the OpenID Connect correlation and nonce.
    private static IReadOnlyList<CookieBuilder> Cookies(WebApplicationBuilder builder)
    {
        builder.AddGrantSiloConsole();
        var services = builder.Services.BuildServiceProvider();
        var oidc = services.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>().Get(ConsoleAuth.OidcScheme);
        return
        [
            services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(ConsoleAuth.Scheme).Cookie,
            services.GetRequiredService<IOptions<AntiforgeryOptions>>().Value.Cookie,
            services.GetRequiredService<IOptions<CookieTempDataProviderOptions>>().Value.Cookie,
            oidc.CorrelationCookie,
            oidc.NonceCookie,
        ];
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    [InlineData("Development")]
    public void OverHttps_EveryCookie_IsAHostCookie_SecureAlways_AtTheRoot_WithoutDomain(string environment)
    {
        var builder = Builder(environment, [.. Oidc,
            ("GrantSilo:Tls:Enabled", "true"), ("GrantSilo:Tls:CertificateFile", "/certs/silo.pem"), ("GrantSilo:Tls:CaFile", "/certs/ca.pem")]);
        var cookies = Cookies(builder);
        Assert.Equal(5, cookies.Count);
        Assert.All(cookies, cookie =>
        {
            Assert.StartsWith("__Host-grantsilo-console", cookie.Name, StringComparison.Ordinal);
            Assert.Equal(CookieSecurePolicy.Always, cookie.SecurePolicy);
            Assert.Equal("/", cookie.Path);
            Assert.Null(cookie.Domain);
        });
        Assert.Equal("__Host-grantsilo-console", cookies[0].Name);
    }

    [Fact]
    public void BehindAProxyThatTerminatesTls_OutsideDevelopment_CookiesAreSecure_ThoughTheSiloSeesPlainHttp()
    {
        // No certificate on the silo: it serves plain HTTP on loopback to a proxy in front; the browser is on HTTPS.
        var cookies = Cookies(Builder("Production", Oidc));
        Assert.All(cookies, cookie =>
        {
            Assert.StartsWith("__Host-", cookie.Name, StringComparison.Ordinal);
            Assert.Equal(CookieSecurePolicy.Always, cookie.SecurePolicy);
            Assert.Equal("/", cookie.Path);
        });
    }

    [Fact]
    public void InPlainHttpDevelopment_CookiesHaveNoPrefix_AndStayUnderConsole()
    {
        // A browser refuses a __Host- or Secure cookie over plain http: the loopback development console keeps working names.
        var cookies = Cookies(Builder("Development", Oidc));
        Assert.All(cookies, cookie =>
        {
            Assert.StartsWith("grantsilo-console", cookie.Name, StringComparison.Ordinal);
            Assert.Equal("/console", cookie.Path);
        });
        // Session, antiforgery and messages as the request (plain http); the provider's round trip needs its SameSite=None
        // correlation and nonce cookies Secure, or the browser drops them.
        Assert.All(cookies.Take(3), cookie => Assert.Equal(CookieSecurePolicy.SameAsRequest, cookie.SecurePolicy));
        Assert.All(cookies.Skip(3), cookie => Assert.Equal(CookieSecurePolicy.Always, cookie.SecurePolicy));
    }
}
