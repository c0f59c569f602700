using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// A real silo-host process (the embedded default: the audit in segment files) killed with SIGKILL while gateways are
/// being answered, so its writer is in the middle of a batch; a new process on the same audit directory. Every decision
/// any caller was told was allowed is in the log exactly once, nothing is in it twice, and the chain verifies.
/// </summary>
public sealed class AuditCrashTests : IDisposable
{
    private readonly string _audit = Path.Combine(Path.GetTempPath(), "grantsilo-e2e-audit", $"crash-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_audit))
        {
            Directory.Delete(_audit, recursive: true);
        }
    }

    private static TestIdentity Identity => TestIdentity.Shared;

    private (ChildProcess Silo, HttpClient Http) Start(string name)
    {
        var (siloPort, gatewayPort, httpPort) = (Ports.Free(), Ports.Free(), Ports.Free());
        var environment = new Dictionary<string, string>(Identity.SiloEnvironment())
        {
            ["GrantSilo__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__PermitsPerSecond"] = "100000",
            ["GrantSilo__Http__Burst"] = "100000",
            ["GrantSilo__Audit__File__Directory"] = _audit,
        };
        var silo = ChildProcess.Start(name, ChildProcess.BuiltDll("SiloHostDll"), environment);
        return (silo, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) });
    }

    private static async Task<(HttpStatusCode Status, JsonElement Json, string Text)> SendAsync(HttpClient http, HttpMethod method, string path, string token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body, JsonSerializerOptions.Web), Encoding.UTF8, "application/json");
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 && text[0] is '{' or '[' ? JsonDocument.Parse(text).RootElement.Clone() : default, text);
    }

    private static async Task ReadyAsync(ChildProcess silo, HttpClient http)
    {
        await silo.WaitForOutputAsync("GrantSilo silo started", TimeSpan.FromSeconds(120));
        await Eventually.HoldsAsync(async () => (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the silo ready");
    }

    [Fact]
    public async Task SiloKilledMidBatch_NoAcknowledgedRecordIsLost_NoneIsDuplicated_AndTheChainVerifies()
    {
        var (first, http) = Start("audit-crash-1");
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        await using (first)
        using (http)
        {
            await ReadyAsync(first, http);
            var operatorToken = Identity.PersonToken("ops-crash@test.dev", "operator");
            Assert.Equal(HttpStatusCode.Created, (await Eventually.LastAsync(() => SendAsync(http, HttpMethod.Post, "/v1/resource-catalog", operatorToken, new { text = TestCatalogs.Permissive }), r => r.Status != HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(60))).Status);
            var agent = "spiffe://e2e.dev/crash/worker";
            var scope = new { permissions = new[] { "repo:read:acme/*" }, maxClassification = "internal", delegationDepth = 0 };
            Assert.Equal(HttpStatusCode.Created, (await SendAsync(http, HttpMethod.Post, "/v1/agents", operatorToken, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = scope })).Status);
            var task = await SendAsync(http, HttpMethod.Post, "/v1/tasks", Identity.ServiceToken("orch-crash", "orchestrator"), new { person = "person:kim@test.dev", agent, scope, lifetime = "00:30:00" });
            var agentToken = Identity.AgentToken(agent);
            var session = await SendAsync(http, HttpMethod.Post, "/v1/sessions", agentToken, new { agent });
            var credential = await SendAsync(http, HttpMethod.Post, $"/v1/sessions/{session.Json.GetProperty("sessionId").GetString()}/credentials", agentToken, new { taskId = task.Json.GetProperty("taskId").GetString() });
            var token = credential.Json.GetProperty("token").GetString()!;
            var gateway = Identity.ServiceToken("gw-crash", "gateway");

            // Gateways ask concurrently (so decisions share batches) until the process is killed under them.
            using var stop = new CancellationTokenSource();
            var callers = Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        var answer = await SendAsync(http, HttpMethod.Post, "/v1/authorize", gateway, new { token, action = "read", resource = new { type = "repo", path = $"acme/{c}/{i}" } });
                        if (answer.Status == HttpStatusCode.OK && answer.Json.GetProperty("kind").GetString() == "allow")
                        {
                            acknowledged.Add(answer.Json.GetProperty("decisionId").GetString()!);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        // The process is gone: what it never answered was never acknowledged.
                        return;
                    }
                }
            })).ToList();
            await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count >= 300), TimeSpan.FromSeconds(120), "300 decisions allowed");
            first.Kill();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
            await stop.CancelAsync();
            await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60));
        }

        // A new process on the same directory: it removes what an unfinished write left, and continues the chain.
        var (second, http2) = Start("audit-crash-2");
        await using (second)
        using (http2)
        {
            await ReadyAsync(second, http2);
            var auditor = Identity.PersonToken("aud-crash@test.dev", "auditor");
            var verification = await Eventually.LastAsync(() => SendAsync(http2, HttpMethod.Get, "/v1/audit/verify", auditor), r => r.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60));
            Assert.True(verification.Json.GetProperty("intact").GetBoolean(), verification.Text);

            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/audit/export", UriKind.Relative));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", auditor);
            using var export = await http2.SendAsync(request);
            var lines = (await export.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var ids = lines.Select(l => JsonDocument.Parse(JsonDocument.Parse(l).RootElement.GetProperty("body").GetString()!).RootElement.GetProperty("id").GetString()!).ToList();
            Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
            var held = ids.ToHashSet(StringComparer.Ordinal);
            var lost = acknowledged.Where(id => !held.Contains(id)).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} of {acknowledged.Count} acknowledged decisions are not in the log");
            Assert.True(acknowledged.Count >= 300);
        }
    }
}
