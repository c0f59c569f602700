using System.Net;

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
}
