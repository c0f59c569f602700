using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrantSilo.WebConsole.Tests;

/// <summary>
/// The console's sessions as an attacker meets them: a cookie planted or copied before someone signs in opens nothing
/// after, signing out ends the live streams opened with the session, and a person's live streams are bounded.
/// </summary>
[Collection(ConsoleSiloCollection.Name)]
public sealed class SessionTests(ConsoleSilo silo)
{
    private const string SessionCookie = "grantsilo-console";

    [Fact]
    public async Task SigningInWhereSomeoneIsSignedIn_EndsTheirSession_AndTheNewSessionHasAKeyOfItsOwn()
    {
        var world = new World(silo);
        // Mallory signs in at a shared browser, keeps a copy of the cookie, and walks away.
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"mallory-{world.Run}@test.dev");
        var planted = await SessionOfAsync(page);

        // Dana, an approver, signs in at the same browser: Mallory's session ends first, then Dana's starts afresh.
        await page.GotoAsync("/console/sign-in");
        await page.GetByLabel("Person").FillAsync($"dana-{world.Run}@test.dev");
        await page.GetByRole(AriaRole.Checkbox, new() { Name = "approver", Exact = true }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in\\?ended=1$"));
        await Expect(page.GetByTestId("signed-out")).ToContainTextAsync("has ended");
        Assert.Equal(HttpStatusCode.Redirect, (await GetAsync(planted, "/console")).StatusCode);
        await ConsoleSilo.SignInAsync(page, $"dana-{world.Run}@test.dev", "approver");

        // Mallory's copy opens nothing: not Dana's session, not her own.
        var dana = await SessionOfAsync(page);
        Assert.NotEqual(planted, dana);
        using (var copied = await GetAsync(planted, "/console/approvals"))
        {
            Assert.Equal(HttpStatusCode.Redirect, copied.StatusCode);
            Assert.StartsWith("/console/sign-in", copied.Headers.Location!.OriginalString.Replace(silo.BaseUrl, "", StringComparison.Ordinal), StringComparison.Ordinal);
        }
        using var own = await GetAsync(dana, "/console/approvals");
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Contains($"person:dana-{world.Run}@test.dev", await own.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SigningInThroughTheProvider_WhereSomeoneIsSignedIn_TheirCookieDoesNotBecomeTheNewSession()
    {
        var world = new World(silo);
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"mallory-{world.Run}@test.dev");
        var planted = await SessionOfAsync(page);

        // Olga signs in through her organisation in that browser: signed in at once, under a new session key.
        var email = $"olga-{world.Run}@org.test";
        silo.Oidc.Person = (email, ["approver"]);
        silo.Oidc.AccessTokenAudience = TestIdentity.Audience;
        await page.GotoAsync("/console/sign-in?handler=Oidc");
        await Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync($"person:{email}");
        var olga = await SessionOfAsync(page);

        Assert.NotEqual(planted, olga);
        using var copied = await GetAsync(planted, "/console/approvals");
        Assert.Equal(HttpStatusCode.Redirect, copied.StatusCode);
        Assert.DoesNotContain(email, await copied.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var own = await GetAsync(olga, "/console/approvals");
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
    }

    [Fact]
    public async Task SigningOut_EndsTheLiveStreamsOpenedWithTheSession()
    {
        var world = new World(silo);
        var planner = await world.AgentAsync("planner");
        var root = await world.RootTaskAsync($"gus-{world.Run}@test.dev", planner, depth: 0, "watch me");
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"hale-{world.Run}@test.dev", "operator", "approver");
        var session = await SessionOfAsync(page);

        // Both live streams, as a copied cookie would open them (a script, another tab).
        using var http = Client(session);
        using var inbox = await OpenStreamAsync(http, "/console/live/approvals");
        Assert.Equal(HttpStatusCode.OK, inbox.StatusCode);
        using var inboxReader = new StreamReader(await inbox.Content.ReadAsStreamAsync());
        await ReadUntilAsync(inboxReader, "event: ready");
        using var tree = await OpenStreamAsync(http, $"/console/live/tasks/{Uri.EscapeDataString(root)}");
        Assert.Equal(HttpStatusCode.OK, tree.StatusCode);
        using var treeReader = new StreamReader(await tree.Content.ReadAsStreamAsync());
        await ReadUntilAsync(treeReader, "event: tree");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in$"));

        // Both streams end: the server closes them (nothing more is sent as that person).
        await ReadToEndAsync(inboxReader, "the approvals stream");
        await ReadToEndAsync(treeReader, "the task tree stream");
        using var again = await OpenStreamAsync(http, "/console/live/approvals");
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
    }

    [Fact]
    public async Task APersonsLiveStreams_AreBounded_ByTheSameBudgetAsTheirApiStreams()
    {
        var world = new World(silo);
        var person = $"ines-{world.Run}@test.dev";
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, person, "approver");
        var session = await SessionOfAsync(page);
        using var http = Client(session);

        // GrantSilo:Http:MaxStreamsPerCaller is 8 by default: eight open, the ninth is refused.
        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var stream = await OpenStreamAsync(http, "/console/live/approvals");
                open.Add(stream);
                Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            }
            using (var ninth = await OpenStreamAsync(http, "/console/live/approvals"))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, ninth.StatusCode);
                Assert.Contains("MaxStreamsPerCaller", await ninth.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
            using (var tree = await OpenStreamAsync(http, "/console/live/tasks/t-anything"))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, tree.StatusCode);
            }
            // The same person through the API's own stream: one budget.
            using var api = new HttpRequestMessage(HttpMethod.Get, new Uri(silo.BaseUrl + "/v1/approvals/stream"));
            api.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", silo.Identity.PersonToken(person, "approver"));
            using var apiStream = await http.SendAsync(api, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.TooManyRequests, apiStream.StatusCode);
        }
        finally
        {
            foreach (var stream in open)
            {
                stream.Dispose();
            }
        }
        // Closed streams give their slots back.
        await Eventually.HoldsAsync(async () =>
        {
            using var stream = await OpenStreamAsync(http, "/console/live/approvals");
            return stream.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), "a stream opening again once the others closed");
    }

    private static async Task<string> SessionOfAsync(IPage page) =>
        Assert.Single(await page.Context.CookiesAsync(), c => c.Name == SessionCookie).Value;

    private HttpClient Client(string session)
    {
        var http = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri(silo.BaseUrl), Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Add("Cookie", $"{SessionCookie}={session}");
        return http;
    }

    private async Task<HttpResponseMessage> GetAsync(string session, string path)
    {
        using var http = Client(session);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var response = await http.GetAsync(new Uri(path, UriKind.Relative), cancel.Token);
        await response.Content.LoadIntoBufferAsync(cancel.Token);
        return response;
    }

    private static async Task<HttpResponseMessage> OpenStreamAsync(HttpClient http, string path)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancel.Token);
    }

    private static async Task ReadUntilAsync(StreamReader reader, string line)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await reader.ReadLineAsync(cancel.Token) is { } read)
        {
            if (read == line)
            {
                return;
            }
        }
        Assert.Fail($"The stream ended before '{line}'.");
    }

    private static async Task ReadToEndAsync(StreamReader reader, string what)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (await reader.ReadLineAsync(cancel.Token) is not null)
            {
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{what} was still open 30 s after the session ended.");
        }
    }
}
