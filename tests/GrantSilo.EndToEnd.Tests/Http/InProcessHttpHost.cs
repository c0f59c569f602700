using System.Globalization;
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
/// The silo host's composition in the test process: an embedded silo propagating activities and the HTTP API on a
/// loopback port (and, when asked, its telemetry), for tests that watch what the process itself emits.
/// </summary>
internal sealed class InProcessHttpHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessHttpHost(WebApplication app, int port)
    {
        _app = app;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public HttpClient Http { get; }

    /// <summary>The host's services (the silo's among them).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The base address of the HTTP API.</summary>
    public Uri BaseAddress => Http.BaseAddress!;

    /// <summary>Starts the host with the test issuers, <paramref name="settings"/> on top, and telemetry when asked.</summary>
    public static async Task<InProcessHttpHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, bool telemetry = false, ILoggerProvider? logs = null)
    {
        var port = Ports.Free();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(TestIdentity.Shared.SiloConfiguration());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["GrantSilo:Http:Port"] = port.ToString(CultureInfo.InvariantCulture) });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }
        var silo = new SiloHostOptions { SiloPort = Ports.Free(), GatewayPort = Ports.Free() };
        // The product's profile, as silo-host uses it: activity propagation comes with it (a trace crossing grain calls is
        // then the process's behaviour, not this host's).
        builder.UseOrleans(orleans => orleans.UseGrantSiloEmbeddedProfile(silo, builder.Configuration));
        if (telemetry)
        {
            builder.AddGrantSiloTelemetry();
        }
        builder.AddGrantSiloHttpApi();
        var app = builder.Build();
        app.UseGrantSiloHttpApi();
        if (telemetry)
        {
            app.MapGrantSiloTelemetry();
        }
        await app.StartAsync();
        return new InProcessHttpHost(app, port);
    }

    /// <summary>Posts <paramref name="body"/> as JSON with <paramref name="token"/>, and asserts the answer is a success.</summary>
    public async Task<JsonElement> PostAsync(string path, string token, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>
    /// The world a decision needs, made through the API: the permissive catalog, an agent allowed to read
    /// <c>repo:acme/*</c>, a task for a person, a session and a credential. Its session id and token.
    /// </summary>
    public async Task<(string SessionId, string Token)> CredentialAsync(string name)
    {
        var identity = TestIdentity.Shared;
        var operatorToken = identity.PersonToken($"{name}-ops@test.dev", "operator");
        await PostAsync("/v1/resource-catalog", operatorToken, new { text = TestCatalogs.Permissive });
        var agent = $"spiffe://e2e.dev/{Guid.NewGuid():N}/{name}";
        var scope = new { permissions = new[] { "repo:read:acme/*" }, maxClassification = "internal", delegationDepth = 0 };
        await PostAsync("/v1/agents", operatorToken, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = scope });
        var task = await PostAsync("/v1/tasks", identity.ServiceToken($"{name}-orchestrator", "orchestrator"), new { person = $"person:{name}-person@test.dev", agent, scope, lifetime = "00:10:00" });
        var agentToken = identity.AgentToken(agent);
        var session = await PostAsync("/v1/sessions", agentToken, new { agent });
        var sessionId = session.GetProperty("sessionId").GetString()!;
        var credential = await PostAsync($"/v1/sessions/{sessionId}/credentials", agentToken, new { taskId = task.GetProperty("taskId").GetString() });
        return (sessionId, credential.GetProperty("token").GetString()!);
    }

    /// <summary>Stops the host (its telemetry exporters flush) and lets it go.</summary>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
