using System.Net;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>GrantSilo's metrics on the Prometheus scrape endpoint, served on its own port only.</summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpTelemetryTests(HttpSilo silo)
{
    [Fact]
    public async Task Prometheus_ServesDecisionsByKindAndReason_OnItsOwnPortOnly()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var agent = $"spiffe://e2e.dev/{run}/measured";
        var scope = new { permissions = new[] { "repo:read:acme/*" }, maxClassification = "internal", delegationDepth = 0 };
        Assert.Equal(HttpStatusCode.Created, (await silo.SendAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), new { workloadId = agent, owner = "person:ops@test.dev", ceiling = scope })).Status);
        var task = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", silo.Identity.ServiceToken($"orch-{run}", "orchestrator"), new { person = "person:fay@test.dev", agent, scope, lifetime = "00:10:00" });
        var agentToken = silo.Identity.AgentToken(agent);
        var session = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", agentToken, new { agent });
        var credential = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{session["sessionId"]}/credentials", agentToken, new { taskId = task["taskId"] });
        var gateway = silo.Identity.ServiceToken($"gw-{run}", "gateway");
        var denied = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, new { token = credential["token"], action = "delete", resource = new { type = "repo", path = "acme/x" } });
        Assert.Equal("deny", denied["kind"]);

        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{silo.MetricsPort}") };
        // The exporter collects on scrape; a decision made just now is in the next scrape at the latest.
        var text = await Eventually.ReturnsAsync(
            () => metrics.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            body => body.Contains("grantsilo_decisions_total{", StringComparison.Ordinal) && body.Contains("reason=\"ScopeDoesNotCover\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "a scope deny counted on /metrics");
        Assert.Contains("kind=\"Deny\"", text, StringComparison.Ordinal);
        Assert.Contains("grantsilo_credentials_issued_total", text, StringComparison.Ordinal);
        Assert.DoesNotContain(credential["token"]!, text, StringComparison.Ordinal);
        Assert.DoesNotContain(agent, text, StringComparison.Ordinal);

        // The metrics port serves nothing else, and the API port does not serve the metrics.
        Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync(new Uri("/v1/cascades/pending", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await silo.SendAsync(HttpMethod.Get, "/metrics", silo.Operator())).Status);
    }
}
