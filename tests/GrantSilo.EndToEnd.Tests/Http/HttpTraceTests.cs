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

        await using var host = await InProcessHttpHost.StartAsync();
        var identity = TestIdentity.Shared;
        var (_, credentialToken) = await host.CredentialAsync("traced");

        // The decision, as a gateway would ask it, under a trace of its own.
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/authorize", UriKind.Relative))
        {
            Content = JsonContent.Create(new { token = credentialToken, action = "read", resource = new { type = "repo", path = "acme/README.md" } }),
        };
        request.Headers.Authorization = new("Bearer", identity.ServiceToken("trace-gateway", "gateway"));
        var traceId = ActivityTraceId.CreateRandom();
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        using (var response = await host.Http.SendAsync(request))
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
}
