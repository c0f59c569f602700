using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrantSilo.WebConsole.Tests;

/// <summary>The console's own defences: sign-in required, the token kept on the server, framing and inline scripts refused.</summary>
[Collection(ConsoleSiloCollection.Name)]
public sealed class SecurityTests(ConsoleSilo silo)
{
    [Fact]
    public async Task EveryPage_NeedsASignIn_AndTheLiveStreamsAnswer401()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(silo.BaseUrl) };
        foreach (var path in new[] { "/console", "/console/approvals", "/console/tasks", "/console/agents", "/console/policies", "/console/lineage", "/console/records", "/console/decision", "/console/credential", "/console/session" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.StartsWith("/console/sign-in", response.Headers.Location!.OriginalString.Replace(silo.BaseUrl, "", StringComparison.Ordinal), StringComparison.Ordinal);
        }
        using var stream = await http.GetAsync(new Uri("/console/live/approvals", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, stream.StatusCode);
        // A bearer token does not open the console: its session is the cookie alone.
        using var bearer = new HttpRequestMessage(HttpMethod.Get, new Uri("/console/approvals", UriKind.Relative));
        bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", silo.Identity.PersonToken("bob@test.dev", "approver"));
        using var withBearer = await http.SendAsync(bearer);
        Assert.Equal(HttpStatusCode.Redirect, withBearer.StatusCode);
    }

    [Fact]
    public async Task SignIn_KeepsTheTokenOnTheServer_WithHttpOnlyCookies_AndHeadersThatRefuseFramingAndInlineScripts()
    {
        var page = await silo.PageAsync();
        var signInPage = await page.GotoAsync("/console/sign-in");
        await ConsoleSilo.ScreenshotAsync(page, "sign-in");
        var headers = await signInPage!.AllHeadersAsync();
        Assert.Equal("DENY", headers["x-frame-options"]);
        Assert.Contains("frame-ancestors 'none'", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", headers["content-security-policy"], StringComparison.Ordinal);
        // Plain HTTP in Development on loopback: no HSTS (HttpsConsoleTests shows it over HTTPS).
        Assert.False(headers.ContainsKey("strict-transport-security"));

        await ConsoleSilo.SignInAsync(page, "hana@test.dev", "operator", "approver");
        var cookies = await page.Context.CookiesAsync();
        // Plain HTTP in Development on loopback: working names without the __Host- prefix (a browser refuses those over
        // http), under /console; over HTTPS they are __Host- cookies (HttpsConsoleTests).
        var session = Assert.Single(cookies, c => c.Name == "grantsilo-console");
        Assert.False(session.Secure);
        Assert.True(session.HttpOnly);
        Assert.Equal("/console", session.Path);
        Assert.Equal(SameSiteAttribute.Lax, session.SameSite);
        // No JWT anywhere the browser keeps things: the cookie holds a reference to the server-side session.
        Assert.All(cookies, c => Assert.DoesNotContain("eyJ", c.Value, StringComparison.Ordinal));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length + sessionStorage.length"));
        Assert.Equal("", await page.EvaluateAsync<string>("() => document.cookie"));

        // The browser itself enforces the policy: an inline script is refused.
        await page.EvaluateAsync("() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1'; document.body.appendChild(s); }");
        Assert.Null(await page.EvaluateAsync<int?>("() => window.injected ?? null"));

        // Signing out ends the server-side session: the old cookie no longer opens anything.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/sign-in$"));
        var context = await silo.Browser.NewContextAsync(new() { BaseURL = silo.BaseUrl });
        await context.AddCookiesAsync([new Microsoft.Playwright.Cookie { Name = session.Name, Value = session.Value, Domain = session.Domain, Path = session.Path }]);
        var replay = await context.NewPageAsync();
        await replay.GotoAsync("/console/approvals");
        await Expect(replay).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/sign-in"));
    }

    [Fact]
    public async Task AnotherSite_CannotFrameTheConsole_TheBrowserRefusesIt()
    {
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"fern-{Guid.NewGuid():N}@test.dev", "operator");
        // Every console answer says so, signed-in pages included.
        var headers = (await page.APIRequest.GetAsync("/console/agents")).Headers;
        Assert.Equal("DENY", headers["x-frame-options"]);
        Assert.Contains("frame-ancestors 'none'", headers["content-security-policy"], StringComparison.Ordinal);
        // A page of another origin (an opaque one: written into a blank tab of the signed-in browser) that frames the
        // console, and, as a control, the same server's health answer, which forbids no framing.
        var attacker = await page.Context.NewPageAsync();
        await attacker.SetContentAsync($"<!DOCTYPE html><title>elsewhere</title><iframe id=\"victim\" src=\"{silo.BaseUrl}/console/agents\" width=\"800\" height=\"600\"></iframe><iframe id=\"control\" src=\"{silo.BaseUrl}/health/ready\" width=\"200\" height=\"100\"></iframe>");
        // Chromium shows its error page in the console's frame: none of the console's content is there.
        var frame = await (await attacker.Locator("#victim").ElementHandleAsync()).ContentFrameAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(frame!.Url.StartsWith("chrome-error:", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "Chromium's error page in the frame");
        // The control loads: the refusal is the console's own doing.
        var control = await (await attacker.Locator("#control").ElementHandleAsync()).ContentFrameAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(control!.Url == silo.BaseUrl + "/health/ready"), TimeSpan.FromSeconds(30), "the control frame loaded");
        Assert.Equal(0, await frame!.GetByRole(AriaRole.Navigation, new() { Name = "Console" }).CountAsync());
        await ConsoleSilo.ScreenshotAsync(attacker, "framing-refused");
    }

    [Fact]
    public async Task EveryPage_Renders_At1280x800_AndNarrow_WithANamedNavigation()
    {
        foreach (var (width, height, suffix) in new[] { (1280, 800, "wide"), (390, 844, "narrow") })
        {
            var page = await silo.PageAsync(width, height);
            await ConsoleSilo.SignInAsync(page, $"ivy-{suffix}@test.dev", "operator", "approver", "policy-author", "auditor");
            foreach (var (link, name) in new[] { ("Overview", "overview"), ("Approvals", "approvals"), ("Tasks", "tasks"), ("Agents", "agents"), ("Policies", "policies"), ("Lineage", "lineage") })
            {
                await page.GetByRole(AriaRole.Navigation, new() { Name = "Console" }).GetByRole(AriaRole.Link, new() { Name = link, Exact = true }).ClickAsync();
                await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(link);
                await Expect(page.GetByRole(AriaRole.Link, new() { Name = link, Exact = true })).ToHaveAttributeAsync("aria-current", "page");
                // Nothing wider than the window.
                Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), $"{name} overflows at {width}px");
                await ConsoleSilo.ScreenshotAsync(page, $"{name}-{suffix}");
            }
            // Keyboard first: the first Tab reaches the skip link, which moves focus to the content.
            await page.GotoAsync("/console");
            await page.Keyboard.PressAsync("Tab");
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" })).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.Locator("main")).ToBeFocusedAsync();
        }
    }
}
