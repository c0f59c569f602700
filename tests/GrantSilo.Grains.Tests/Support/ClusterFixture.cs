using GrantSilo.Hosting;
using GrantSilo.Grains.Audit;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using GrantSilo.Testing;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// One in-process silo on the embedded default (storage in the silo's memory, in-memory reminders) whose grant clock is
/// a <see cref="FakeTimeProvider"/>: tests move time instead of waiting for it.
/// </summary>
public sealed class ClusterFixture : GrantSiloClusterFixture
{
    /// <summary>The decisions the silo has audited (its in-memory audit store).</summary>
    public IReadOnlyList<AuditRecord> AuditedDecisions() => [.. AuditedRecords().Where(r => r.Kind == AuditEventKind.Decision)];

    /// <summary>The silo's audit store (in memory), which tests may fail or stall.</summary>
    public MemoryAuditStore AuditStore => (MemoryAuditStore)((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<IAuditStore>();

    /// <summary>The silo's audit writer.</summary>
    public AuditJournal AuditJournal => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<AuditJournal>();

    /// <summary>The silo's audit keys.</summary>
    public AuditKeys AuditKeys => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<AuditKeys>();

    /// <summary>Every record the silo has audited, oldest first.</summary>
    public IReadOnlyList<AuditRecord> AuditedRecords()
    {
        var store = ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<IAuditStore>();
        var lines = store.ReadAsync("local", 1, CancellationToken.None).ToBlockingEnumerable();
        return [.. lines.Select(l => l.TryReadRecord()!)];
    }

    /// <summary>
    /// Delivers a lifecycle reminder tick to the grain of <typeparamref name="TGrain"/> with <paramref name="key"/> as the
    /// silo's reminder service does: from inside the silo, so the call carries the cluster's mark. A client's call of
    /// <see cref="IRemindable.ReceiveReminder"/> is refused at the door.
    /// </summary>
    public Task TickReminderAsync<TGrain>(string key) where TGrain : IGrainWithStringKey
    {
        var grains = ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<IGrainFactory>();
        var now = Time.GetUtcNow().UtcDateTime;
        return grains.GetGrain<TGrain>(key).AsReference<IRemindable>().ReceiveReminder("lifecycle", new TickStatus(now, TimeSpan.FromMinutes(1), now));
    }

    /// <summary>What the silo logged at Warning and above (the door's refusals among it).</summary>
    public CapturedLog Warnings { get; } = new();

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.Services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Warnings);
        // One silo: the embedded default's storage, in the silo's own memory (failures injected around it).
        silo.AddLocalGrainStorage("grants-inner");
        silo.Services.AddKeyedSingleton<IGrainStorage>(GrantSiloStorage.Name, (sp, _) => new FlakyGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("grants-inner")));
        silo.UseInMemoryReminderService();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Time);
        // Every refusal recorded: the tests of this collection share one silo, whose fake clock refills the budget of
        // recorded refusals only when a test moves it, and some tests read the refusals they cause (RefusalFloodTests
        // tests the budget on a silo of its own).
        silo.AddGrantSilo(o => o.RecordedRefusalsBurst = 1_000_000);
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

/// <summary>Keeps every log line at Warning and above, with its category, for tests about what is logged.</summary>
public sealed class CapturedLog : Microsoft.Extensions.Logging.ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>The lowest level kept (Warning unless a test asks for more).</summary>
    public Microsoft.Extensions.Logging.LogLevel MinimumLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Warning;

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLog log, string category) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= log.MinimumLevel;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log._lines.Enqueue($"{category}: {formatter(state, exception)} {exception}");
            }
        }
    }
}
