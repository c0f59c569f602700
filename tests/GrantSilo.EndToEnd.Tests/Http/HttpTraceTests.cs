using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Hosting;
using GrantSilo.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// One trace follows a request from the HTTP API into the grains: the silo host's composition (the HTTP API and a silo
/// propagating activities) in this process, its activities listened to.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpTraceTests
{
    [Fact]
    public async Task ADecisionOverHttp_IsOneTrace_FromTheRequestThroughTheCredentialGrainToItsTaskChain()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => GrantSiloTelemetry.ActivitySources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        var httpPort = Ports.Free();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(TestIdentity.Shared.SiloConfiguration());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["GrantSilo:Http:Port"] = httpPort.ToString(CultureInfo.InvariantCulture) });
        builder.Logging.ClearProviders();
        var silo = new SiloHostOptions { SiloPort = Ports.Free(), GatewayPort = Ports.Free() };
        builder.UseOrleans(orleans => orleans.UseGrantSiloEmbeddedProfile(silo, builder.Configuration).AddActivityPropagation());
        builder.AddGrantSiloHttpApi();
        await using var app = builder.Build();
        app.UseGrantSiloHttpApi();
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            async Task<JsonElement> PostAsync(string path, string token, object body)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
                request.Headers.Authorization = new("Bearer", token);
                using var response = await http.SendAsync(request);
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
                return JsonDocument.Parse(text).RootElement.Clone();
            }
            var identity = TestIdentity.Shared;
            var operatorToken = identity.PersonToken("trace-ops@test.dev", "operator");
            await PostAsync("/v1/resource-catalog", operatorToken, new { text = TestCatalogs.Permissive });
            var agent = $"spiffe://e2e.dev/{Guid.NewGuid():N}/traced";
            var scope = new { permissions = new[] { "repo:read:acme/*" }, maxClassification = "internal", delegationDepth = 0 };
            await PostAsync("/v1/agents", operatorToken, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = scope });
            var task = await PostAsync("/v1/tasks", identity.ServiceToken("trace-orchestrator", "orchestrator"), new { person = "person:hal@test.dev", agent, scope, lifetime = "00:10:00" });
            var agentToken = identity.AgentToken(agent);
            var session = await PostAsync("/v1/sessions", agentToken, new { agent });
            var credential = await PostAsync($"/v1/sessions/{session.GetProperty("sessionId").GetString()}/credentials", agentToken, new { taskId = task.GetProperty("taskId").GetString() });

            // The decision, as a gateway would ask it, under a trace of its own.
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/authorize", UriKind.Relative))
            {
                Content = JsonContent.Create(new { token = credential.GetProperty("token").GetString(), action = "read", resource = new { type = "repo", path = "acme/README.md" } }),
            };
            request.Headers.Authorization = new("Bearer", identity.ServiceToken("trace-gateway", "gateway"));
            var traceId = ActivityTraceId.CreateRandom();
            request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
            using (var response = await http.SendAsync(request))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Contains("\"kind\":\"allow\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            // The request, the credential grain's Authorize, and the credential's calls along its task chain share the trace.
            var trace = await Eventually.ReturnsAsync(
                () => Task.FromResult(activities.Where(a => a.TraceId == traceId).ToList()),
                list => list.Any(a => a.Source.Name == "Microsoft.AspNetCore") && list.Any(a => a.DisplayName.Contains("CredentialGrain", StringComparison.Ordinal) || a.DisplayName.Contains("ICredentialGrain", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(10), "the request's trace");
            var names = string.Join(", ", trace.Select(a => $"{a.Source.Name}:{a.DisplayName}"));
            Assert.Contains(trace, a => a.Source.Name == "Microsoft.AspNetCore");
            Assert.True(trace.Any(a => a.DisplayName.Contains("ICredentialGrain/AuthorizeAsync", StringComparison.Ordinal)), $"no Authorize in the trace: {names}");
            Assert.True(trace.Any(a => a.DisplayName.Contains("ITaskLifecycleGrain/LeaseChainAsync", StringComparison.Ordinal)), $"no call along the task chain in the trace: {names}");
            // Every grain call of the trace descends from the HTTP request's activity.
            var root = trace.Single(a => a.Source.Name == "Microsoft.AspNetCore");
            var byId = trace.ToDictionary(a => a.SpanId);
            Assert.All(trace.Where(a => a != root), a =>
            {
                var ancestor = a;
                while (ancestor.ParentSpanId != root.SpanId && byId.TryGetValue(ancestor.ParentSpanId, out var parent))
                {
                    ancestor = parent;
                }
                Assert.Equal(root.SpanId, ancestor.ParentSpanId);
            });
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
