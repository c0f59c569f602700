using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Audit;
using GrantSilo.Grains.Hosting;
using GrantSilo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A refused call costs its caller nothing and needs no token, so the silo records refusals one by one (a Warning line,
/// an audit record) only up to a rate: past it calls are still refused, only counted, and the next recorded refusal says
/// how many were not. Neither the silo's log nor the audit log (never pruned) can be filled by a flood.
/// </summary>
[Collection(AbuseClusterCollection.Name)]
public class RefusalFloodTests(AbuseClusterFixture fixture)
{
    [Fact]
    public void RefusalRecords_RecordsABurstThenItsRate_AndCountsWhatItDidNotRecord()
    {
        var clock = new FakeTimeProvider(GrantSiloClusterFixtureStart);
        var records = new RefusalRecords(Options.Create(new GrantSiloOptions { RecordedRefusalsPerSecond = 2, RecordedRefusalsBurst = 3 }), clock, Microsoft.Extensions.Logging.Abstractions.NullLogger<RefusalRecords>.Instance);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(records.TryRecord(out var none));
            Assert.Equal(0, none);
        }
        for (var i = 0; i < 4; i++)
        {
            Assert.False(records.TryRecord(out _));
        }

        // Half a second refills one: recorded, with the four it did not record.
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(records.TryRecord(out var unrecorded));
        Assert.Equal(4, unrecorded);
        Assert.False(records.TryRecord(out _));

        // A long quiet spell refills the burst, never more.
        clock.Advance(TimeSpan.FromHours(1));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(records.TryRecord(out _));
        }
        Assert.False(records.TryRecord(out _));
    }

    private static readonly DateTimeOffset GrantSiloClusterFixtureStart = Testing.GrantSiloClusterFixture.Start;

    [Fact]
    public async Task AFloodOfUnauthenticatedCalls_IsAllRefused_ButRecordedOnlyWithinTheRate_ThenCounted()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        const int flood = 40;
        for (var i = 0; i < flood; i++)
        {
            // No token: every call is refused.
            var refused = await fixture.Cluster.Client.GetGrain<ITaskGrain>($"t-{run}-{i}").GetAsync();
            Assert.Equal(GrantErrorCode.Unauthenticated, refused.Error?.Code);
        }

        IReadOnlyList<AuditRecord> Refusals() => [.. fixture.AuditedRecords().Where(r => r.Kind == AuditEventKind.CallerRefused && r.Subject?.Contains(run, StringComparison.Ordinal) == true)];
        var recorded = await Eventually.LastAsync(() => Task.FromResult(Refusals()), r => r.Count >= AbuseClusterFixture.Burst);
        Assert.Equal(AbuseClusterFixture.Burst, recorded.Count);
        Assert.Equal(AbuseClusterFixture.Burst, fixture.Warnings.Lines.Count(l => l.Contains(run, StringComparison.Ordinal)));

        // A second later one more is recorded, after a record of how many were not.
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var next = await fixture.Cluster.Client.GetGrain<ITaskGrain>($"t-{run}-next").GetAsync();
        Assert.Equal(GrantErrorCode.Unauthenticated, next.Error?.Code);
        var expected = $"{flood - AbuseClusterFixture.Burst} further refused calls were not recorded one by one";
        var summary = await Eventually.LastAsync(
            () => Task.FromResult(fixture.AuditedRecords().Where(r => r.Kind == AuditEventKind.CallerRefused && r.Detail?.Contains(expected, StringComparison.Ordinal) == true).ToList()),
            r => r.Count > 0);
        Assert.Single(summary);
        Assert.Contains(nameof(GrantSiloOptions.RecordedRefusalsPerSecond), summary[0].Detail);
        Assert.Contains(fixture.Warnings.Lines, l => l.Contains(expected, StringComparison.Ordinal));
        Assert.Equal(AbuseClusterFixture.Burst + 1, (await Eventually.LastAsync(() => Task.FromResult(Refusals()), r => r.Count > AbuseClusterFixture.Burst)).Count);
    }
}

/// <summary>
/// A silo of its own for what a hostile caller does to a whole silo: it records at most <see cref="Burst"/> refusals at once
/// and one a second on the fake grant clock, and its gateway drops connections that send oversized headers.
/// </summary>
public sealed class AbuseClusterFixture : Testing.GrantSiloClusterFixture
{
    public const int Burst = 5;

    public CapturedLog Warnings { get; } = new();

    public IReadOnlyList<AuditRecord> AuditedRecords()
    {
        var store = ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<GrantSilo.Grains.Audit.IAuditStore>();
        return [.. store.ReadAsync("local", 1, CancellationToken.None).ToBlockingEnumerable().Select(l => l.TryReadRecord()!)];
    }

    protected override bool PublishesPermissiveCatalog => false;

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.Services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Warnings);
        silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Time);
        silo.AddGrantSilo(o =>
        {
            o.RecordedRefusalsPerSecond = 1;
            o.RecordedRefusalsBurst = Burst;
        });
    }
}

[CollectionDefinition(Name)]
public sealed class AbuseClusterCollection : ICollectionFixture<AbuseClusterFixture>
{
    public const string Name = "abuse-cluster";
}
