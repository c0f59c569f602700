using GrantSilo.Hosting;
using GrantSilo.Client;
using GrantSilo.Grains.Hosting;
using GrantSilo.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.ScheduleExplorer;

/// <summary>
/// One in-process silo shared by every seed (each seed builds its tree under fresh ids): fake grant
/// and lease clocks, the seed's faults in an incoming and an outgoing grain call filter and in grain
/// storage, memory storage and reminders behind them.
/// </summary>
public sealed class ExplorerCluster : IAsyncDisposable
{
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(2);

    // In-process silos are built from configurator types, so what they share is static.
    internal static readonly FakeTimeProvider GrantClock = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));

    internal static readonly ExplorerLeaseClock LeaseClock = new(new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));

    private readonly TestCluster _cluster;
    private readonly SeedRunner _runner;

    private ExplorerCluster(TestCluster cluster)
    {
        _cluster = cluster;
        // Each call is made by the caller the access rules expect: an agent for its own sessions, credentials
        // and delegations, the test harness (an operator and orchestrator) for everything else.
        var connection = new GrantClient(cluster.Client, GrantClock);
        _runner = new SeedRunner(connection.As(TestIdentity.Shared.Harness), agent => connection.As(TestIdentity.Shared.Agent(agent)), LeaseClock, LeaseDuration);
    }

    public static async Task<ExplorerCluster> StartAsync()
    {
        var builder = new TestClusterBuilder(1);
        foreach (var (key, value) in TestIdentity.Shared.SiloConfiguration())
        {
            builder.Properties[key] = value!;
        }
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        // The schedules are about ends and leases, not labels: every resource is catalogued as public, so the
        // classification each request asserts is the one decided on.
        var catalog = await new GrantClient(cluster.Client, GrantClock).As(TestIdentity.Shared.Person("person:explorer@test.dev", "operator")).PublishResourceCatalogAsync(
            """{ "entries": [ { "type": "*", "path": "*", "classification": "public" } ] }""", "person:explorer@test.dev");
        if (!catalog.IsSuccess)
        {
            throw new InvalidOperationException($"The explorer's resource catalog could not be published: {catalog.Error}");
        }
        return new ExplorerCluster(cluster);
    }

    /// <summary>Generates the plan of <paramref name="seed"/>, runs it and checks its history.</summary>
    public Task<SeedResult> RunSeedAsync(int seed) => _runner.RunAsync(PlanGenerator.Generate(seed));

    public async ValueTask DisposeAsync()
    {
        ExplorerHooks.Current = null;
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            // One silo: the embedded default's storage, in the silo's own memory (the explorer's hooks around it).
            silo.AddLocalGrainStorage("grants-inner");
            silo.Services.AddKeyedSingleton<IGrainStorage>(GrantSiloStorage.Name, (sp, _) => new ExplorerGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("grants-inner")));
            silo.UseInMemoryReminderService();
            silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, GrantClock);
            silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.LeaseClockKey, LeaseClock);
            silo.AddIncomingGrainCallFilter(ExplorerHooks.IncomingAsync);
            silo.AddOutgoingGrainCallFilter(ExplorerHooks.OutgoingAsync);
            silo.AddGrantSilo(o => o.DecisionLeaseDuration = LeaseDuration);
            // A campaign leaves ~20 grains behind per seed; a seed lasts seconds, so idle ones can go soon.
            silo.Configure<GrainCollectionOptions>(o =>
            {
                o.CollectionQuantum = TimeSpan.FromSeconds(15);
                o.CollectionAge = TimeSpan.FromMinutes(1);
            });
        }
    }
}
