using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Testing.Azurite;
using Microsoft.Playwright;

namespace GrantSilo.WebConsole.Tests;

/// <summary>One silo-host process of a <see cref="ConsoleCluster"/>, with the HTTP API and the console on.</summary>
internal sealed class ConsoleClusterSilo(string name, int siloPort, int httpPort, ChildProcess process) : IApiDoor, IDisposable
{
    public string Name { get; } = name;

    public int SiloPort { get; } = siloPort;

    public string BaseUrl { get; } = $"http://127.0.0.1:{httpPort}";

    public ChildProcess Process { get; } = process;

    public HttpClient Http { get; } = new() { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(60) };

    public TestIdentity Identity => TestIdentity.Shared;

    public string Operator() => Identity.PersonToken($"ops-{Guid.NewGuid():N}@test.dev", "operator");

    public Task<Answer> SendAsync(HttpMethod method, string path, string? token, object? body = null) => ConsoleSilo.SendAsync(Http, method, path, token, body);

    public void Dispose() => Http.Dispose();
}

/// <summary>
/// Two real <c>silo-host</c> processes in one cluster on loopback, sharing clustering and storage on Azurite (the
/// multi-silo settings of <c>docs/multi-silo.md</c>, as the end-to-end process tests use them), each serving the HTTP
/// API and the console, with the development issuer (one key file for both) for the console's sign-in page; and one
/// Debian Chromium driven by Playwright.
/// </summary>
public sealed class ConsoleCluster : IAsyncLifetime
{
    private readonly List<ConsoleClusterSilo> _silos = [];
    private AzuriteProcess? _azurite;
    private IPlaywright? _playwright;
    private string? _keyDirectory;

    public IBrowser Browser { get; private set; } = null!;

    internal IReadOnlyList<ConsoleClusterSilo> Silos => _silos;

    public async Task InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout(30_000);
        (_playwright, Browser) = await ConsoleSilo.LaunchChromiumAsync();
        _azurite = await AzuriteProcess.StartAsync();
        _keyDirectory = Directory.CreateTempSubdirectory("grantsilo-console-cluster-").FullName;
        // One after the other: the first creates the development issuer's key file, the second reads the same key, so a
        // token the console of one silo mints is verified by the door of the other.
        for (var i = 1; i <= 2; i++)
        {
            var (siloPort, gatewayPort, httpPort) = (Ports.Free(), Ports.Free(), Ports.Free());
            var environment = new Dictionary<string, string>(MultiSiloSettings.Silo(_azurite.ConnectionString, siloPort, gatewayPort));
            foreach (var (key, value) in TestIdentity.Shared.SiloEnvironment())
            {
                environment[key] = value;
            }
            environment["ASPNETCORE_ENVIRONMENT"] = "Development";
            environment["GrantSilo__Identity__Development__Enabled"] = "true";
            environment["GrantSilo__Identity__Development__KeyFile"] = Path.Combine(_keyDirectory, "dev-issuer.jwk");
            environment["GrantSilo__Http__Enabled"] = "true";
            environment["GrantSilo__Http__Port"] = httpPort.ToString(CultureInfo.InvariantCulture);
            environment["GrantSilo__Console__Enabled"] = "true";
            // Not a fault test: the silo lease is half of MinProbeTimeout x NumMissedProbesLimit, 1 s with the fault tests'
            // settings, which a CI host running two silos, Azurite and a browser on two cores outlasted (a silo that cannot
            // confirm its membership within its lease refuses to answer, and a step-up became a deny). 2 s x 3 gives 3 s;
            // a killed silo is still declared dead well within the test's minute.
            environment["GrantSilo__Membership__MinProbeTimeout"] = "00:00:02";
            environment["GrantSilo__Membership__NumMissedProbesLimit"] = "3";
            var process = ChildProcess.Start($"console-silo{i}", ChildProcess.BuiltDll("SiloHostDll"), environment);
            var silo = new ConsoleClusterSilo($"console-silo{i}", siloPort, httpPort, process);
            _silos.Add(silo);
            await process.WaitForOutputAsync("GrantSilo silo ready", TimeSpan.FromSeconds(120));
            await Eventually.HoldsAsync(async () => (await silo.Http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60), $"silo {i}'s HTTP API answering ready");
        }
        var published = await Eventually.LastAsync(
            () => _silos[0].SendAsync(HttpMethod.Post, "/v1/resource-catalog", _silos[0].Operator(), new { text = TestCatalogs.Permissive }),
            response => response.Status != HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        Assert.True(published.Status == HttpStatusCode.Created, published.ToString());
    }

    /// <summary>A new browser context and page at 1280x800 on <paramref name="silo"/>'s console.</summary>
    internal async Task<IPage> PageAsync(ConsoleClusterSilo silo)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = silo.BaseUrl, ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        foreach (var silo in _silos)
        {
            if (!silo.Process.HasExited)
            {
                await silo.Process.StopAsync(TimeSpan.FromSeconds(30));
            }
            Directory.CreateDirectory(ConsoleSilo.Artifacts);
            await File.WriteAllTextAsync(Path.Combine(ConsoleSilo.Artifacts, $"cluster-{silo.Name}.log"), silo.Process.Output);
            await silo.Process.DisposeAsync();
            silo.Dispose();
        }
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
        if (_keyDirectory is not null)
        {
            Directory.Delete(_keyDirectory, recursive: true);
        }
    }
}
