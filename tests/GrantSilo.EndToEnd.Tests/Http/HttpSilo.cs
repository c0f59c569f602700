using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GrantSilo.Client;
using GrantSilo.Hosting;
using GrantSilo.EndToEnd.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// A real <c>silo-host</c> process (the embedded default, trusting the test issuers) serving its HTTP API on a loopback
/// port, shared by the HTTP tests; and an SDK client over its gateway, to compare the two doors.
/// </summary>
public sealed class HttpSilo : IAsyncLifetime
{
    /// <summary>The body limit the process runs with (small, so the oversized-body test sends little).</summary>
    public const int MaxBody = 64 * 1024;

    /// <summary>The rate limit the process runs with, per caller.</summary>
    public const int Burst = 60;

    /// <summary>The live streams one caller may have open at once, that the process runs with (small, so the test opens few).</summary>
    public const int MaxStreams = 2;

    private ChildProcess? _silo;
    private IHost? _client;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public GrantClient Sdk { get; private set; } = null!;

    /// <summary>The SDK's cluster client itself, for Orleans' own grains (the management grain: <c>cluster.manage</c>).</summary>
    public IClusterClient Cluster { get; private set; } = null!;

    /// <summary>The loopback port of the Prometheus scrape endpoint.</summary>
    public int MetricsPort { get; private set; }

    public string Output => _silo?.Output ?? "";

    /// <summary>Where the process writes its audit segments (the embedded default store).</summary>
    public string AuditDirectory { get; } = Path.Combine(Path.GetTempPath(), "grantsilo-e2e-audit", $"http-silo-{Guid.NewGuid():N}");

    public TestIdentity Identity => TestIdentity.Shared;

    public async Task InitializeAsync()
    {
        var (siloPort, gatewayPort, httpPort) = (Ports.Free(), Ports.Free(), Ports.Free());
        MetricsPort = Ports.Free();
        var environment = new Dictionary<string, string>(Identity.SiloEnvironment())
        {
            ["GrantSilo__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__MaxRequestBodyBytes"] = MaxBody.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__PermitsPerSecond"] = "20",
            ["GrantSilo__Http__Burst"] = Burst.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__MaxStreamsPerCaller"] = MaxStreams.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Telemetry__PrometheusPort"] = MetricsPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Dashboard__Enabled"] = "true",
            ["Logging__LogLevel__GrantSilo"] = "Information",
            // Raised, as an operator chasing a problem might: no token sent in a URL may reach the log even so.
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Debug",
            ["Logging__Console__LogLevel__Default"] = "Information",
            ["Logging__Console__LogLevel__Microsoft.AspNetCore.Routing"] = "Trace",
            ["GrantSilo__Audit__File__Directory"] = AuditDirectory,
        };
        _silo = ChildProcess.Start("http-silo", ChildProcess.BuiltDll("SiloHostDll"), environment);
        await _silo.WaitForOutputAsync("GrantSilo silo started", TimeSpan.FromSeconds(90));
        Http.BaseAddress = new Uri($"http://127.0.0.1:{httpPort}");
        await Eventually.HoldsAsync(async () => (await Http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the HTTP API answering ready");

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["GrantSilo:Client:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture) });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddGrantSiloClient();
        _client = builder.Build();
        await _client.StartAsync();
        Sdk = _client.Services.GetRequiredService<GrantClient>();
        Cluster = _client.Services.GetRequiredService<IClusterClient>();

        // Every resource known as public, so the tests' own classifications stand (docs/resource-catalog.md).
        var published = await Eventually.LastAsync(
            () => SendAsync(HttpMethod.Post, "/v1/resource-catalog", Operator(), new { text = TestCatalogs.Permissive }),
            response => response.Status != HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Created, published.Status);
    }

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }
        if (_silo is not null)
        {
            await _silo.StopAsync(TimeSpan.FromSeconds(30));
            await _silo.DisposeAsync();
        }
        Http.Dispose();
    }

    /// <summary>A fresh operator's token (each test its own caller, so the per-caller rate limit never couples tests).</summary>
    public string Operator() => Identity.PersonToken($"ops-{Guid.NewGuid():N}@test.dev", "operator");

    /// <summary>Sends <paramref name="body"/> (serialized as JSON, camelCase) as <paramref name="token"/>'s caller.</summary>
    public Task<HttpAnswer> SendAsync(HttpMethod method, string path, string? token, object? body = null) =>
        SendRawAsync(method, path, token, body is null ? null : JsonSerializer.Serialize(body, JsonSerializerOptions.Web));

    /// <summary>Sends a raw body (JSON unless <paramref name="contentType"/> says otherwise).</summary>
    public async Task<HttpAnswer> SendRawAsync(HttpMethod method, string path, string? token, string? body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new HttpAnswer(response.StatusCode, text, response.Content.Headers.ContentType?.MediaType, response.Headers);
    }
}

/// <summary>An HTTP answer, its body kept as text (and parsed on demand).</summary>
public sealed record HttpAnswer(HttpStatusCode Status, string Text, string? MediaType, HttpResponseHeaders Headers)
{
    public JsonElement Json => JsonDocument.Parse(Text).RootElement;

    /// <summary>A member of the JSON body, as text.</summary>
    public string? this[string name] => Json.TryGetProperty(name, out var value) ? (value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText()) : null;

    public override string ToString() => $"{(int)Status} {Text}";
}

[CollectionDefinition(Name)]
public sealed class HttpSiloCollection : ICollectionFixture<HttpSilo>
{
    public const string Name = "http-silo";
}
