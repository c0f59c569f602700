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

        string credentialToken, gatewayToken, sessionId;
        await using (var host = await InProcessHttpHost.StartAsync(new Dictionary<string, string?>
        {
            ["GrantSilo:Telemetry:OtlpEndpoint"] = $"http://127.0.0.1:{collectorPort}",
            ["GrantSilo:Telemetry:OtlpProtocol"] = "http/protobuf",
            ["GrantSilo:Telemetry:ServiceName"] = "grantsilo-otlp-test",
            ["GrantSilo:Telemetry:OtlpMetricsInterval"] = "00:00:01",
        }, telemetry: true))
        {
            (sessionId, credentialToken) = await host.CredentialAsync("exported");
            gatewayToken = TestIdentity.Shared.ServiceToken("otlp-gateway", "gateway");
            var decision = await host.PostAsync("/v1/authorize", gatewayToken, new { token = credentialToken, action = "read", resource = new { type = "repo", path = "acme/README.md" } });
            Assert.Equal("allow", decision.GetProperty("kind").GetString());

            // Traces go out in batches as they end, metrics every second here: both reach the collector.
            string Received(string signal) => string.Concat(exports.Where(e => e.Signal == signal).Select(e => Encoding.UTF8.GetString(e.Body)));
            await Eventually.HoldsAsync(() => Task.FromResult(Received("traces").Contains("ICredentialGrain/AuthorizeAsync", StringComparison.Ordinal)
                && Received("metrics").Contains("grantsilo.decisions", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), "the decision's trace and metrics at the collector");
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
