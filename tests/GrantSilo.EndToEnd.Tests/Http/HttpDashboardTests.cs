using System.Net;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// The Orleans Dashboard, on in the test process (GrantSilo:Dashboard:Enabled): served to operators, and refused to
/// everyone else before any of its code runs, pages and data alike.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpDashboardTests(HttpSilo silo)
{
    public static TheoryData<string> Routes => ["/dashboard/", "/dashboard/index.min.js", "/dashboard/ClusterStats", "/dashboard/DashboardCounters", "/dashboard/GrainState?grainId=x&grainType=y"];

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Dashboard_WithoutAToken_IsUnauthenticated(string route)
    {
        var answer = await silo.SendAsync(HttpMethod.Get, route, token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, answer.Status);
        Assert.Equal("application/problem+json", answer.MediaType);
        Assert.Equal("urn:grantsilo:problem:unauthenticated", answer["type"]);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Dashboard_ForACallerWithoutTheOperatorRole_IsForbidden(string route)
    {
        var approver = silo.Identity.PersonToken($"ann-{Guid.NewGuid():N}@test.dev", "approver", "auditor", "policy-author");

        var answer = await silo.SendAsync(HttpMethod.Get, route, approver);

        Assert.Equal(HttpStatusCode.Forbidden, answer.Status);
        Assert.Equal("urn:grantsilo:problem:forbidden", answer["type"]);
        Assert.Contains("operator", answer["detail"], StringComparison.Ordinal);
        Assert.DoesNotContain(approver, answer.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_ForAnOperator_ShowsTheClusterItReads()
    {
        var operatorToken = silo.Operator();

        var page = await silo.SendAsync(HttpMethod.Get, "/dashboard/", operatorToken);
        Assert.True(page.Status == HttpStatusCode.OK, page.ToString());
        Assert.Equal("text/html", page.MediaType);

        // Its data comes from the cluster's statistics grains, which no outside caller may call: served as the cluster's own.
        var counters = await Eventually.LastAsync(() => silo.SendAsync(HttpMethod.Get, "/dashboard/DashboardCounters", operatorToken),
            answer => answer.Status == HttpStatusCode.OK && answer.Json.GetProperty("totalActiveHostCount").GetInt32() == 1, TimeSpan.FromSeconds(30));
        Assert.True(counters.Status == HttpStatusCode.OK, counters.ToString());
        Assert.Equal(1, counters.Json.GetProperty("totalActiveHostCount").GetInt32());

        // The live log stream is off by default.
        var trace = await silo.SendAsync(HttpMethod.Get, "/dashboard/Trace", operatorToken);
        Assert.NotEqual(HttpStatusCode.OK, trace.Status);
    }

    [Fact]
    public async Task GrantctlDashboard_ServesABrowserOnThisMachine_WithTheLinksKeyOnly_AndNeverHandsItTheToken()
    {
        var operatorToken = silo.Operator();
        using var grantctl = new Grantctl();
        var port = Ports.Free();
        using var proxy = grantctl.Start(operatorToken, "dashboard", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--url", silo.Http.BaseAddress!.ToString());
        try
        {
            using var started = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var line = await proxy.StandardOutput.ReadLineAsync(started.Token);
            Assert.NotNull(line);
            Assert.DoesNotContain(operatorToken, line, StringComparison.Ordinal);
            var link = line.Split(' ').Single(word => word.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));

            // A browser that opened the link: the key becomes a cookie, and the dashboard's pages and data are served.
            using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = true }) { Timeout = TimeSpan.FromSeconds(60) };
            using (var page = await browser.GetAsync(new Uri(link)))
            {
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                Assert.Equal("/dashboard/", page.RequestMessage!.RequestUri!.AbsolutePath);
                Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            }
            using (var counters = await browser.GetAsync(new Uri($"http://127.0.0.1:{port}/dashboard/DashboardCounters")))
            {
                Assert.Equal(HttpStatusCode.OK, counters.StatusCode);
                Assert.Contains("totalActiveHostCount", await counters.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                Assert.DoesNotContain(counters.Headers, h => h.Value.Any(v => v.Contains(operatorToken, StringComparison.Ordinal)));
            }

            // Anyone else on this machine without the link's key, a wrong key, another path or a write: refused.
            using var stranger = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            Assert.Equal(HttpStatusCode.Forbidden, (await stranger.GetAsync(new Uri($"http://127.0.0.1:{port}/dashboard/DashboardCounters"))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await stranger.GetAsync(new Uri($"http://127.0.0.1:{port}/?key=guess"))).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync(new Uri($"http://127.0.0.1:{port}/v1/cascades/pending"))).StatusCode);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, (await browser.PostAsync(new Uri($"http://127.0.0.1:{port}/dashboard/DashboardCounters"), new StringContent(""))).StatusCode);
        }
        finally
        {
            proxy.Kill();
        }
    }
}
