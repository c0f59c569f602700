using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Hosting;
using GrantSilo.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// The OTLP exporter, configured (GrantSilo:Telemetry:OtlpEndpoint, http/protobuf): the silo host's composition in this
/// process sends its traces and GrantSilo's metrics to a collector, here a small OTLP/HTTP receiver on loopback.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpOtlpExportTests
{
    [Fact]
    public async Task OtlpExport_WhenConfigured_SendsTheRequestsTraceAndTheDecisionMetrics_WithoutAToken()
    {
        // The collector: records each export's signal, content type and body.
        var exports = new ConcurrentQueue<(string Signal, string? ContentType, byte[] Body)>();
        var collectorPort = Ports.Free();
        var collectorBuilder = WebApplication.CreateSlimBuilder();
        collectorBuilder.Logging.ClearProviders();
        collectorBuilder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, collectorPort));
        await using var collector = collectorBuilder.Build();
        collector.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            exports.Enqueue((signal, request.ContentType, body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();

        var httpPort = Ports.Free();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(TestIdentity.Shared.SiloConfiguration());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GrantSilo:Http:Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo:Telemetry:OtlpEndpoint"] = $"http://127.0.0.1:{collectorPort}",
            ["GrantSilo:Telemetry:OtlpProtocol"] = "http/protobuf",
            ["GrantSilo:Telemetry:ServiceName"] = "grantsilo-otlp-test",
            ["GrantSilo:Telemetry:OtlpMetricsInterval"] = "00:00:01",
        });
        builder.Logging.ClearProviders();
        var silo = new SiloHostOptions { SiloPort = Ports.Free(), GatewayPort = Ports.Free() };
        builder.UseOrleans(orleans => orleans.UseGrantSiloEmbeddedProfile(silo, builder.Configuration).AddActivityPropagation());
        builder.AddGrantSiloTelemetry();
        builder.AddGrantSiloHttpApi();
        var app = builder.Build();
        app.UseGrantSiloHttpApi();
        app.MapGrantSiloTelemetry();
        await app.StartAsync();
        string credentialToken, gatewayToken, sessionId;
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
            var operatorToken = identity.PersonToken("otlp-ops@test.dev", "operator");
            await PostAsync("/v1/resource-catalog", operatorToken, new { text = TestCatalogs.Permissive });
            var agent = $"spiffe://e2e.dev/{Guid.NewGuid():N}/exported";
            var scope = new { permissions = new[] { "repo:read:acme/*" }, maxClassification = "internal", delegationDepth = 0 };
            await PostAsync("/v1/agents", operatorToken, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = scope });
            var task = await PostAsync("/v1/tasks", identity.ServiceToken("otlp-orchestrator", "orchestrator"), new { person = "person:ida@test.dev", agent, scope, lifetime = "00:10:00" });
            var agentToken = identity.AgentToken(agent);
            var session = await PostAsync("/v1/sessions", agentToken, new { agent });
            sessionId = session.GetProperty("sessionId").GetString()!;
            var credential = await PostAsync($"/v1/sessions/{sessionId}/credentials", agentToken, new { taskId = task.GetProperty("taskId").GetString() });
            credentialToken = credential.GetProperty("token").GetString()!;
            gatewayToken = identity.ServiceToken("otlp-gateway", "gateway");
            var decision = await PostAsync("/v1/authorize", gatewayToken, new { token = credentialToken, action = "read", resource = new { type = "repo", path = "acme/README.md" } });
            Assert.Equal("allow", decision.GetProperty("kind").GetString());

            // Traces go out in batches as they end, metrics every second here: both reach the collector.
            string Received(string signal) => string.Concat(exports.Where(e => e.Signal == signal).Select(e => Encoding.UTF8.GetString(e.Body)));
            await Eventually.HoldsAsync(() => Task.FromResult(Received("traces").Contains("ICredentialGrain/AuthorizeAsync", StringComparison.Ordinal)
                && Received("metrics").Contains("grantsilo.decisions", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), "the decision's trace and metrics at the collector");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        var traces = exports.Where(e => e.Signal == "traces").ToList();
        var metrics = exports.Where(e => e.Signal == "metrics").ToList();
        Assert.NotEmpty(traces);
        Assert.NotEmpty(metrics);
        Assert.All(exports, e => Assert.Equal("application/x-protobuf", e.ContentType));
        // Protobuf keeps strings as UTF-8: the service's name, the request's route and the credential grain's Authorize.
        var traced = string.Concat(traces.Select(e => Encoding.UTF8.GetString(e.Body)));
        Assert.Contains("grantsilo-otlp-test", traced, StringComparison.Ordinal);
        Assert.Contains("POST /v1/authorize", traced, StringComparison.Ordinal);
        Assert.Contains("/v1/sessions/{sessionId}/credentials", traced, StringComparison.Ordinal);
        // Routes, never paths or queries (a grain's id is in its own span, where Orleans names its target).
        Assert.DoesNotContain("url.path", traced, StringComparison.Ordinal);
        Assert.DoesNotContain("url.query", traced, StringComparison.Ordinal);
        Assert.DoesNotContain($"/v1/sessions/{sessionId}", traced, StringComparison.Ordinal);
        Assert.Contains("ICredentialGrain/AuthorizeAsync", traced, StringComparison.Ordinal);
        var counted = string.Concat(metrics.Select(e => Encoding.UTF8.GetString(e.Body)));
        Assert.Contains("grantsilo.decisions", counted, StringComparison.Ordinal);
        // Neither a credential nor a bearer token is ever exported.
        foreach (var export in exports)
        {
            var text = Encoding.UTF8.GetString(export.Body);
            Assert.DoesNotContain(credentialToken, text, StringComparison.Ordinal);
            Assert.DoesNotContain(gatewayToken, text, StringComparison.Ordinal);
        }
    }
}
