using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>The approvers' live stream over HTTP (server-sent events), which replaces the SDK's observer.</summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpApprovalStreamTests(HttpSilo silo)
{
    private static object Scope(params string[] permissions) => new { permissions, maxClassification = "internal", delegationDepth = 0 };

    [Fact]
    public async Task ApprovalStream_SendsPendingThenRequestedAndResolved_OnlyToWatchers()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var agent = $"spiffe://e2e.dev/{run}/secrets";
        var person = $"dana-{run}@test.dev";
        var gateway = silo.Identity.ServiceToken($"gateway-{run}", "gateway");
        var approver = silo.Identity.PersonToken(person, "approver");
        Assert.Equal(HttpStatusCode.Created, (await silo.SendAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), new { workloadId = agent, owner = "person:ops@test.dev", ceiling = Scope("secret:read:*") })).Status);
        var task = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", silo.Identity.ServiceToken($"orch-{run}", "orchestrator"), new { person = $"person:{person}", agent, scope = Scope("secret:read:*"), lifetime = "00:10:00" });
        var agentToken = silo.Identity.AgentToken(agent);
        var session = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", agentToken, new { agent });
        var credential = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{session["sessionId"]}/credentials", agentToken, new { taskId = task["taskId"] });
        var token = credential["token"]!;
        object Ask(string path) => new { token, action = "read", resource = new { type = "secret", path } };

        // One approval already waiting before the stream opens.
        var first = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, Ask("payments/one"));
        Assert.Equal("stepUpRequired", first["kind"]);

        // An agent may not watch approvals.
        var refused = await silo.SendAsync(HttpMethod.Get, "/v1/approvals/stream", agentToken);
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/approvals/stream", UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", approver);
        using var response = await silo.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var body = await response.Content.ReadAsStreamAsync(deadline.Token);
        await using var events = SseParser.Create(body).EnumerateAsync(deadline.Token).GetAsyncEnumerator(deadline.Token);

        async Task<(string Type, string? Id, JsonElement Approval)> NextAsync(Func<string, JsonElement, bool> wanted)
        {
            while (await events.MoveNextAsync())
            {
                var item = events.Current;
                var approval = JsonDocument.Parse(item.Data).RootElement;
                if (wanted(item.EventType, approval))
                {
                    return (item.EventType, item.EventId, approval);
                }
            }
            throw new InvalidOperationException("The stream ended.");
        }

        var pending = await NextAsync((type, a) => a.GetProperty("approvalId").GetString() == first["approvalId"]);
        Assert.Equal("pending", pending.Type);
        Assert.Equal(first["approvalId"], pending.Id);

        var second = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, Ask("payments/two"));
        var requested = await NextAsync((type, a) => type == "requested" && a.GetProperty("approvalId").GetString() == second["approvalId"]);
        Assert.Equal("payments/two", requested.Approval.GetProperty("resource").GetProperty("path").GetString());
        Assert.DoesNotContain(token, requested.Approval.GetRawText(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await silo.SendAsync(HttpMethod.Post, $"/v1/approvals/{second["approvalId"]}/deny", approver, new { reason = "not today" })).Status);
        var resolved = await NextAsync((type, a) => type == "resolved" && a.GetProperty("approvalId").GetString() == second["approvalId"]);
        Assert.Equal("denied", resolved.Approval.GetProperty("status").GetString());
    }
    [Fact]
    public async Task ACallerMayHaveOnlySoManyStreamsOpen_AndOneMoreIs429_UntilOneCloses()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var watcher = silo.Identity.PersonToken($"watcher-{run}@test.dev", "approver", "auditor");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        async Task<HttpResponseMessage> OpenAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", watcher);
            return await silo.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        }

        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < HttpSilo.MaxStreams; i++)
            {
                var stream = await OpenAsync(i % 2 == 0 ? "/v1/approvals/stream" : "/v1/audit/stream");
                open.Add(stream);
                Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            }

            // One more, of either kind, is refused with a problem saying why.
            foreach (var path in new[] { "/v1/approvals/stream", "/v1/audit/stream" })
            {
                using var refused = await OpenAsync(path);
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(deadline.Token)).RootElement;
                Assert.Equal("urn:grantsilo:problem:too-many-streams", problem.GetProperty("type").GetString());
                Assert.Contains("MaxStreamsPerCaller", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }
            // Another caller has its own.
            using (var other = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/approvals/stream", UriKind.Relative)))
            {
                other.Headers.Authorization = new AuthenticationHeaderValue("Bearer", silo.Identity.PersonToken($"other-{run}@test.dev", "approver"));
                using var theirs = await silo.Http.SendAsync(other, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
                Assert.Equal(HttpStatusCode.OK, theirs.StatusCode);
            }

            // A stream closed gives its slot back (once the silo sees the connection gone).
            open[0].Dispose();
            open.RemoveAt(0);
            var reopened = await Eventually.ReturnsAsync(
                () => OpenAsync("/v1/approvals/stream"),
                response =>
                {
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return true;
                    }
                    response.Dispose();
                    return false;
                },
                TimeSpan.FromSeconds(30), "a stream opening again once one closed");
            open.Add(reopened);
        }
        finally
        {
            open.ForEach(response => response.Dispose());
        }
    }
}
