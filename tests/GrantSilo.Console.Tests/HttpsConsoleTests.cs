using System.Globalization;
using System.Text.RegularExpressions;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Testing.Tls;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrantSilo.WebConsole.Tests;

/// <summary>
/// The console as it is served in production: a <c>silo-host</c> outside Development with HTTPS (the silo's own
/// certificate), a person signing in through the organisation's OpenID Connect provider in Chromium. Every console
/// cookie is a <c>__Host-</c> cookie (<c>Secure</c>, <c>Path=/</c>, no domain), and HTTPS answers carry HSTS.
/// </summary>
public sealed class HttpsConsoleTests : IAsyncLifetime
{
    private string _keyDirectory = "";

    public Task InitializeAsync()
    {
        _keyDirectory = Directory.CreateTempSubdirectory("grantsilo-console-https-").FullName;
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_keyDirectory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task OverHttps_EveryConsoleCookie_IsAHostCookie_AndAnswersCarryHsts()
    {
        Assertions.SetDefaultExpectTimeout(30_000);
        var (playwright, browser) = await ConsoleSilo.LaunchChromiumAsync();
        await using var oidc = await TestOidcProvider.StartAsync(_keyDirectory);
        var identity = TestIdentity.Shared.SiloEnvironment();
        var issuers = identity.Keys.Count(k => k.StartsWith("GrantSilo__Identity__Issuers__", StringComparison.Ordinal) && k.EndsWith("__Name", StringComparison.Ordinal));
        var httpPort = Ports.Free();
        var certificates = TestCertificates.Shared;
        // Two issuers of people, so each names the people it vouches for: the test issuer's are at test.dev.
        var testPeople = identity.Single(k => k.Key.EndsWith("__Name", StringComparison.Ordinal) && k.Value == "test-people").Key[..^"__Name".Length];
        var environment = new Dictionary<string, string>(identity.Concat(oidc.SiloEnvironment(issuers)))
        {
            [testPeople + "__Names__0"] = "person:*@test.dev",
            // Production: the host's own environment, no development sign-in.
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["GrantSilo__Silo__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__HstsMaxAge"] = "180.00:00:00",
            ["GrantSilo__Tls__Enabled"] = "true",
            ["GrantSilo__Tls__CertificateFile"] = certificates.SiloCertificate,
            ["GrantSilo__Tls__KeyFile"] = certificates.SiloKey,
            ["GrantSilo__Tls__CaFile"] = certificates.Ca,
            ["GrantSilo__Tls__AllowedPeerNames__0"] = "localhost",
        };
        await using var silo = ChildProcess.Start("console-https", ChildProcess.BuiltDll("SiloHostDll"), environment);
        try
        {
            await silo.WaitForOutputAsync("GrantSilo silo started", TimeSpan.FromSeconds(120));
            var baseUrl = $"https://127.0.0.1:{httpPort}";
            // The test CA is not one Chromium trusts; the silo's certificate is what the test's own CA issued.
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl, IgnoreHTTPSErrors = true });
            context.SetDefaultTimeout(30_000);
            var page = await context.NewPageAsync();
            var signIn = await page.GotoAsync("/console/sign-in");
            Assert.Equal("max-age=15552000", (await signIn!.AllHeadersAsync())["strict-transport-security"]);
            // The HTTP API's answers too.
            var live = await page.APIRequest.GetAsync("/health/live");
            Assert.Equal("max-age=15552000", live.Headers["strict-transport-security"]);

            oidc.Person = ("hsts@org.test", ["approver"]);
            await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your organisation" }).ClickAsync();
            await Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync("person:hsts@org.test", new() { Timeout = 60_000 });
            var cookies = await page.Context.CookiesAsync();
            var session = Assert.Single(cookies, c => c.Name == "__Host-grantsilo-console");
            Assert.True(session.Secure);
            Assert.True(session.HttpOnly);
            Assert.Equal("/", session.Path);
            Assert.Equal(SameSiteAttribute.Lax, session.SameSite);
            // Every cookie the console set is a __Host- cookie (the browser kept them: it refuses one that breaks the rules).
            Assert.NotEmpty(cookies);
            Assert.All(cookies, c =>
            {
                Assert.StartsWith("__Host-grantsilo-console", c.Name, StringComparison.Ordinal);
                Assert.True(c.Secure, c.Name);
                Assert.Equal("/", c.Path);
            });
            // The session works: a page of the console opens with it.
            await page.GotoAsync("/console/approvals");
            await Expect(page).ToHaveURLAsync(new Regex("/console/approvals$"));
        }
        finally
        {
            await browser.CloseAsync();
            playwright.Dispose();
            await silo.StopAsync(TimeSpan.FromSeconds(30));
        }
    }
}
