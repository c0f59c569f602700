using GrantSilo.Testing;
using GrantSilo.Hosting;
using GrantSilo.Client;
using GrantSilo.Persistence.AzureTables;
using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Testing.Azurite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Xunit.Abstractions;

namespace GrantSilo.EndToEnd.Tests.Support;

/// <summary>One silo process of a <see cref="ProcessCluster"/>.</summary>
internal sealed record SiloNode(string Name, int SiloPort, int GatewayPort, ChildProcess Process);

/// <summary>
/// Azurite plus silo-host processes on loopback, configured exactly as <c>docs/multi-silo.md</c> says
/// plus the test issuers and a shared cluster call key (<see cref="TestIdentity.SiloEnvironment"/>),
/// and clients (in this process) that connect to them and call with the test issuers' tokens.
/// </summary>
internal sealed class ProcessCluster : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly ITestOutputHelper _output;
    private readonly List<SiloNode> _silos = [];
    private readonly List<IHost> _clients = [];
    private int _started;

    private ProcessCluster(AzuriteProcess azurite, ITestOutputHelper output)
    {
        Azurite = azurite;
        _output = output;
    }

    public AzuriteProcess Azurite { get; }

    /// <summary>The membership table the silos keep, read directly.</summary>
    public IMembershipTable Membership { get; private set; } = null!;

    /// <summary>The reminder table the silos keep, read directly.</summary>
    public IReminderTable Reminders { get; private set; } = null!;

    public IReadOnlyList<SiloNode> Silos => _silos;

    public static async Task<ProcessCluster> StartAsync(int silos, ITestOutputHelper output)
    {
        var azurite = await AzuriteProcess.StartAsync();
        var cluster = new ProcessCluster(azurite, output);
        try
        {
            // The tables the silos keep, read directly (creating them first is harmless: the silos do the same).
            cluster.Membership = await MicrosoftTables.MembershipAsync(azurite.ConnectionString, MultiSiloSettings.ClusterId, MultiSiloSettings.ServiceId);
            cluster.Reminders = await MicrosoftTables.RemindersAsync(azurite.ConnectionString, MultiSiloSettings.ServiceId, MultiSiloSettings.ClusterId);
            await cluster.StartSilosAsync(silos);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>Starts <paramref name="count"/> more silos in parallel and waits until every running silo is Active in the table.</summary>
    public Task<IReadOnlyList<SiloNode>> StartSilosAsync(int count) =>
        StartSilosAsync(Enumerable.Repeat((ChildProcess.BuiltDll("SiloHostDll"), (IReadOnlyDictionary<string, string>)new Dictionary<string, string>()), count).ToList());

    /// <summary>
    /// Starts one silo running the test silo host (<c>tests/GrantSilo.EndToEnd.TestSilo</c>: the silo host's own
    /// AzureTable profile plus test hooks) with <paramref name="hooks"/> added to its environment, and waits until it
    /// is Active in the table. The other silos keep running the real silo-host executable.
    /// </summary>
    /// <remarks>
    /// A separate executable rather than a switch in silo-host: the hooks (such as holding a storage write) must run
    /// inside the silo process, and keeping them out of the product's executable means no setting can ever turn
    /// them on in a deployment. The test silo composes the silo from silo-host's own profile code, so it differs
    /// from the product only by the hooks it was given.
    /// </remarks>
    public async Task<SiloNode> StartTestSiloAsync(IReadOnlyDictionary<string, string> hooks) =>
        (await StartSilosAsync([(ChildProcess.BuiltDll("TestSiloDll"), hooks)])).Single();

    /// <summary>
    /// Starts the silo host again on the ports of <paramref name="previous"/> (which must have exited), as an operator
    /// restarting a crashed silo would, and waits until it says it is ready.
    /// </summary>
    public async Task<SiloNode> RestartAsync(SiloNode previous, IReadOnlyDictionary<string, string>? extra = null)
    {
        if (!previous.Process.HasExited)
        {
            throw new InvalidOperationException($"{previous.Name} is still running.");
        }
        return (await StartSilosAsync([(ChildProcess.BuiltDll("SiloHostDll"), extra ?? new Dictionary<string, string>())], (previous.SiloPort, previous.GatewayPort))).Single();
    }

    private async Task<IReadOnlyList<SiloNode>> StartSilosAsync(IReadOnlyList<(string Dll, IReadOnlyDictionary<string, string> Extra)> silos, (int Silo, int Gateway)? ports = null)
    {
        var nodes = new List<SiloNode>();
        foreach (var (dll, extra) in silos)
        {
            var (siloPort, gatewayPort) = ports ?? (Ports.Free(), Ports.Free());
            var name = $"silo{++_started}";
            var environment = new Dictionary<string, string>(MultiSiloSettings.Silo(Azurite.ConnectionString, siloPort, gatewayPort));
            // The test issuers, and the call key every silo of this cluster shares.
            foreach (var (key, value) in TestIdentity.Shared.SiloEnvironment())
            {
                environment[key] = value;
            }
            foreach (var (key, value) in extra)
            {
                environment[key] = value;
            }
            var process = ChildProcess.Start(name, dll, environment);
            var node = new SiloNode(name, siloPort, gatewayPort, process);
            _silos.Add(node);
            nodes.Add(node);
        }
        await Task.WhenAll(nodes.Select(n => n.Process.WaitForOutputAsync("GrantSilo silo ready", StartTimeout)));
        await Eventually.HoldsAsync(async () =>
        {
            var members = (await Membership.ReadAll()).Members.Select(m => m.Item1).ToList();
            return nodes.All(n => members.Any(m => m.SiloAddress.Endpoint.Port == n.SiloPort && m.Status == SiloStatus.Active));
        }, StartTimeout, "the new silos to be Active in the membership table");
        _output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} started {string.Join(", ", nodes.Select(n => $"{n.Name} (pid {n.Process.Id}, silo {n.SiloPort}, gateway {n.GatewayPort}, {Path.GetFileNameWithoutExtension(n.Process.Program)})"))}");
        return nodes;
    }

    public async Task<SiloStatus?> StatusAsync(SiloNode node)
    {
        var members = (await Membership.ReadAll()).Members.Select(m => m.Item1).Where(m => m.SiloAddress.Endpoint.Port == node.SiloPort).ToList();
        return members.Count == 0 ? null : members.OrderByDescending(m => m.SiloAddress.Generation).First().Status;
    }

    public Task WaitForStatusAsync(SiloNode node, SiloStatus status, TimeSpan timeout) =>
        Eventually.HoldsAsync(async () => await StatusAsync(node) == status, timeout, $"{node.Name} to be {status} in the membership table");

    /// <summary>A client configured as the page says; with <paramref name="gateways"/>, connected to exactly those silos' gateways.</summary>
    public Task<IHost> StartClientAsync(params SiloNode[] gateways) => StartClientAsync(null, gateways);

    /// <summary>As <see cref="StartClientAsync(SiloNode[])"/>, waiting up to <paramref name="responseTimeout"/> (when given) for each reply.</summary>
    private bool _catalogPublished;

    public async Task<IHost> StartClientAsync(TimeSpan? responseTimeout, params SiloNode[] gateways)
    {
        var settings = MultiSiloSettings.AsConfiguration(MultiSiloSettings.Client(Azurite.ConnectionString));
        if (responseTimeout is { } timeout)
        {
            settings["GrantSilo:Client:ResponseTimeout"] = timeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        }
        for (var i = 0; i < gateways.Length; i++)
        {
            settings[$"GrantSilo:Client:Gateways:{i}"] = $"127.0.0.1:{gateways[i].GatewayPort}";
        }
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = Environments.Production });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddGrantSiloAzureTableClient();
        var host = builder.Build();
        using var cancellation = new CancellationTokenSource(StartTimeout);
        await host.StartAsync(cancellation.Token);
        _clients.Add(host);
        // The first client publishes the permissive test catalog (the cluster's storage keeps it across restarts):
        // these tests are about ends under failures, not resource labels.
        if (!_catalogPublished)
        {
            await TestCatalogs.PublishPermissiveAsync(ClientOf(host), TimeSpan.FromSeconds(60));
            _catalogPublished = true;
        }
        return host;
    }

    /// <summary>The client's GrantClient, calling each operation as the caller the access rules expect (<see cref="ActingGrantClient"/>).</summary>
    public static ActingGrantClient ClientOf(IHost client) => new(client.Services.GetRequiredService<GrantClient>(), TestIdentity.Shared);

    public async Task StopClientAsync(IHost client)
    {
        _clients.Remove(client);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await client.StopAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            // A client whose gateways are gone may not stop gracefully; dispose it anyway.
        }
        client.Dispose();
    }

    public void Log(string message) => _output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {message}");

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.ToList())
        {
            await StopClientAsync(client);
        }
        foreach (var silo in _silos)
        {
            // Every silo's log goes with the test's output (shown when it fails): the whole log when asked
            // for, otherwise its last lines.
            var log = silo.Process.Output;
            if (Environment.GetEnvironmentVariable("GRANTSILO_E2E_VERBOSE") != "1")
            {
                var lines = log.Split('\n');
                log = lines.Length <= 200 ? log : $"[{lines.Length - 200} earlier lines omitted]\n" + string.Join('\n', lines[^200..]);
            }
            _output.WriteLine($"--- {silo.Name} output{(silo.Process.HasExited ? " (exited)" : "")} ---\n{log}");
            await silo.Process.DisposeAsync();
        }
        await Azurite.DisposeAsync();
    }
}
