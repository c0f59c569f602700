using System.Collections.Concurrent;
using GrantSilo.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace GrantSilo.Testing;

/// <summary>
/// The base of every in-process cluster fixture: a <see cref="TestCluster"/> of <see cref="Silos"/> silos,
/// its <see cref="GrantClient"/>, and a <see cref="FakeTimeProvider"/> the tests move instead of waiting.
/// A fixture says what its silos need in <see cref="ConfigureSilo"/>, the one configure hook (in-process
/// silos are built from configurator types, so the hook finds its fixture through the cluster's properties).
/// </summary>
public abstract class GrantSiloClusterFixture : IAsyncLifetime
{
    private const string FixtureKey = "GrantSiloTestFixture";
    private static readonly ConcurrentDictionary<string, GrantSiloClusterFixture> Live = new();
    private readonly string _id = Guid.NewGuid().ToString("N");

    /// <summary>The instant every fixture's grant clock starts at.</summary>
    public static readonly DateTimeOffset Start = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);

    protected GrantSiloClusterFixture(short silos = 1, FakeTimeProvider? time = null)
    {
        Silos = silos;
        Time = time ?? new FakeTimeProvider(Start);
    }

    public short Silos { get; }

    /// <summary>The grant clock: what the silos (when <see cref="ConfigureSilo"/> registers it) and the client decide validity by.</summary>
    public FakeTimeProvider Time { get; }

    public TestCluster Cluster { get; private set; } = null!;

    /// <summary>The harness's client: each call made, with a real token, by the caller the access rules expect (see <see cref="ActingGrantClient"/>).</summary>
    public ActingGrantClient Client { get; private set; } = null!;

    /// <summary>
    /// The primary silo's own grain factory: its calls carry the cluster's internal mark (the silo's outgoing
    /// filter adds it), as a grain's calls to another grain do. For tests that model a forger inside the
    /// cluster, or check a grain's own defence behind the door; never for what a client may do.
    /// </summary>
    public IGrainFactory SiloGrains => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<IGrainFactory>();

    /// <summary>The issuers the silos trust, and the tokens tests mint.</summary>
    public TestIdentity Identity => TestIdentity.Shared;

    /// <summary>What a silo of this fixture is made of: storage, reminders, clocks, filters and <c>AddGrantSilo</c>.</summary>
    protected abstract void ConfigureSilo(ISiloBuilder silo);

    /// <summary>Anything else about the cluster (membership, properties) before it is built.</summary>
    protected virtual void ConfigureCluster(TestClusterBuilder builder)
    {
    }

    public async Task InitializeAsync()
    {
        Live[_id] = this;
        var builder = new TestClusterBuilder(Silos);
        builder.Properties[FixtureKey] = _id;
        foreach (var (key, value) in TestIdentity.Shared.SiloConfiguration())
        {
            builder.Properties[key] = value!;
        }
        builder.AddSiloBuilderConfigurator<Hook>();
        ConfigureCluster(builder);
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Client = new ActingGrantClient(new GrantClient(Cluster.Client, Time), TestIdentity.Shared);
        if (PublishesPermissiveCatalog)
        {
            await TestCatalogs.PublishPermissiveAsync(Client);
        }
    }

    /// <summary>
    /// Whether the fixture publishes <see cref="TestCatalogs.Permissive"/> once deployed (true): most tests are about
    /// something other than resource labels. A fixture that tests the shipped, empty catalog overrides this.
    /// </summary>
    protected virtual bool PublishesPermissiveCatalog => true;

    public async Task DisposeAsync()
    {
        try
        {
            await Cluster.StopAllSilosAsync();
            await Cluster.DisposeAsync();
        }
        finally
        {
            Live.TryRemove(_id, out _);
        }
    }

    private sealed class Hook : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) =>
            Live[silo.Configuration[FixtureKey] ?? throw new InvalidOperationException("The silo was not built by a GrantSiloClusterFixture.")].ConfigureSilo(silo);
    }
}
