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
        var scope = new { permissions = new[] { "repo:read:acme/*", "secret:read:*" }, maxClassification = "internal", delegationDepth = 0 };
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

        // Pending cascades are observed from the start; a step-up waiting for a person is counted; an end that told its
        // decision-lease holders records how long it waited.
        Assert.Contains("grantsilo_cascades_pending", text, StringComparison.Ordinal);
        var stepUp = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, new { token = credential["token"], action = "read", resource = new { type = "secret", path = $"{run}/db-password" } });
        Assert.True(stepUp["kind"] == "stepUpRequired", stepUp.ToString());
        Assert.Equal(HttpStatusCode.OK, (await silo.SendAsync(HttpMethod.Post, $"/v1/tasks/{task["taskId"]}/revoke", silo.Operator(), new { reason = "metrics test" })).Status);
        text = await Eventually.ReturnsAsync(
            () => metrics.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            body => Gauge(body, "grantsilo_approvals_pending") >= 1 && body.Contains("grantsilo_leases_revocation_wait_seconds_count", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the pending approval and the revocation's lease wait on /metrics");
        Assert.Contains("grantsilo_leases_revocation_wait_seconds_bucket", text, StringComparison.Ordinal);
        Assert.DoesNotContain(credential["token"]!, text, StringComparison.Ordinal);

        // The metrics port serves nothing else, and the API port does not serve the metrics.
        Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync(new Uri("/v1/cascades/pending", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await silo.SendAsync(HttpMethod.Get, "/metrics", silo.Operator())).Status);
    }

    [Fact]
    public async Task Metrics_AreNotServedOnTheApiPort_WhateverTheHostHeaderNames()
    {
        // The Host header is the caller's to write: naming the metrics port in it must not reach /metrics on the API's port.
        foreach (var host in new[] { $"127.0.0.1:{silo.MetricsPort}", $"x:{silo.MetricsPort}", $"localhost:{silo.MetricsPort}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/metrics", UriKind.Relative));
            request.Headers.Host = host;
            using var response = await silo.Http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            // 404 for a loopback name; 400 for any other, which a loopback-only API does not answer to (HttpHostNameTests).
            var expected = host.StartsWith("x:", StringComparison.Ordinal) ? HttpStatusCode.BadRequest : HttpStatusCode.NotFound;
            Assert.True(response.StatusCode == expected, $"Host {host}: {(int)response.StatusCode} {body}");
            Assert.DoesNotContain("grantsilo_", body, StringComparison.Ordinal);
        }

        // The metrics port still serves them, whatever port its Host header names (the port decides, not the header).
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{silo.MetricsPort}") };
        using var scrape = new HttpRequestMessage(HttpMethod.Get, new Uri("/metrics", UriKind.Relative));
        scrape.Headers.Host = "127.0.0.1:8080";
        using var served = await metrics.SendAsync(scrape);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Contains("grantsilo_cascades_pending", await served.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    // The value of an unlabelled gauge in a Prometheus text exposition (-1 when absent).
    private static double Gauge(string exposition, string name) =>
        exposition.Split('\n').Where(line => line.StartsWith(name + " ", StringComparison.Ordinal) || line.StartsWith(name + "{", StringComparison.Ordinal))
            .Select(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max();
}
