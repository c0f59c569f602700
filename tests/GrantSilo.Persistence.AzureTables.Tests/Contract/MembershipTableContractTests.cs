using System.Net;
using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Testing.Azurite;

namespace GrantSilo.Persistence.AzureTables.Tests.Contract;

[Collection(AzuriteCollection.Name)]
public sealed class MembershipTableContractTests(AzuriteFixture azurite)
{
    private static int _generation = 1000;

    internal static DateTime UtcNowSeconds()
    {
        var now = DateTime.UtcNow;
        return new DateTime(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, DateTimeKind.Utc);
    }

    internal static MembershipEntry NewEntry(SiloStatus status = SiloStatus.Joining, int proxyPort = 30000)
    {
        var silo = SiloAddress.New(IPAddress.Loopback, 11111, Interlocked.Increment(ref _generation));
        return new MembershipEntry
        {
            SiloAddress = silo,
            HostName = "host-" + silo.Generation,
            SiloName = "silo-" + silo.Generation,
            Status = status,
            ProxyPort = proxyPort,
            StartTime = UtcNowSeconds(),
            IAmAliveTime = UtcNowSeconds(),
        };
    }

    private static string NewCluster() => "cluster-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task ReadAll_EmptyTable_HasVersionZeroAndNoMembers()
    {
        var table = await TestProviders.MembershipTableAsync(azurite, NewCluster());

        var data = await table.ReadAll();

        Assert.Empty(data.Members);
        Assert.Equal(0, data.Version.Version);
        Assert.False(string.IsNullOrEmpty(data.Version.VersionEtag));
    }

    [Fact]
    public async Task InitializeMembershipTable_Twice_KeepsTheExistingVersion()
    {
        var cluster = NewCluster();
        var table = await TestProviders.MembershipTableAsync(azurite, cluster);
        Assert.True(await table.InsertRow(NewEntry(), (await table.ReadAll()).Version.Next()));

        var second = await TestProviders.MembershipTableAsync(azurite, cluster);
        var data = await second.ReadAll();

        Assert.Equal(1, data.Version.Version);
        Assert.Single(data.Members);
    }

    [Fact]
    public async Task InsertRow_ThenReadAll_ReturnsTheEntryAndTheNewVersion()
    {
        var table = await TestProviders.MembershipTableAsync(azurite, NewCluster());
        var before = await table.ReadAll();
        var entry = NewEntry();
        entry.SuspectTimes = [Tuple.Create(NewEntry().SiloAddress, UtcNowSeconds().AddSeconds(1)), Tuple.Create(NewEntry().SiloAddress, UtcNowSeconds().AddSeconds(2))];

        Assert.True(await table.InsertRow(entry, before.Version.Next()));
        var after = await table.ReadAll();

        Assert.Equal(1, after.Version.Version);
        Assert.NotEqual(before.Version.VersionEtag, after.Version.VersionEtag);
        var (stored, etag) = Assert.Single(after.Members);
        Assert.Equal(entry.ToFullString(), stored.ToFullString());
        Assert.False(string.IsNullOrEmpty(etag));
    }

    [Fact]
    public async Task InsertRow_WithStaleVersionOrDuplicateEntry_ReturnsFalseAndChangesNothing()
    {
        var table = await TestProviders.MembershipTableAsync(azurite, NewCluster());
        var initial = await table.ReadAll();
        var entry = NewEntry();
        Assert.True(await table.InsertRow(entry, initial.Version.Next()));

        Assert.False(await table.InsertRow(entry, initial.Version.Next()));
        Assert.False(await table.InsertRow(NewEntry(), initial.Version.Next()));
        var current = await table.ReadAll();
        Assert.False(await table.InsertRow(entry, current.Version.Next()));

        var after = await table.ReadAll();
        Assert.Single(after.Members);
        Assert.Equal(1, after.Version.Version);
        Assert.Equal(current.Version.VersionEtag, after.Version.VersionEtag);
    }

    [Fact]
    public async Task ReadRow_ReturnsTheEntryAndTableVersionTogether()
    {
        var table = await TestProviders.MembershipTableAsync(azurite, NewCluster());
        var entry = NewEntry();
        var other = NewEntry();
        Assert.True(await table.InsertRow(entry, (await table.ReadAll()).Version.Next()));
        Assert.True(await table.InsertRow(other, (await table.ReadAll()).Version.Next()));

        var data = await table.ReadRow(entry.SiloAddress);
        var missing = await table.ReadRow(NewEntry().SiloAddress);

        var (stored, _) = Assert.Single(data.Members);
        Assert.Equal(entry.SiloAddress, stored.SiloAddress);
        Assert.Equal(2, data.Version.Version);
        Assert.Empty(missing.Members);
        Assert.Equal(2, missing.Version.Version);
    }

    [Fact]
    public async Task UpdateRow_RequiresCurrentRowETagAndTableVersion()
    {
        var table = await TestProviders.MembershipTableAsync(azurite, NewCluster());
        var entry = NewEntry();
        var inserted = (await table.ReadAll()).Version.Next();
        Assert.True(await table.InsertRow(entry, inserted));
        var data = await table.ReadAll();
        var rowETag = data.TryGet(entry.SiloAddress)!.Item2;

        entry.Status = SiloStatus.Active;
        Assert.False(await table.UpdateRow(entry, rowETag, inserted));
        Assert.True(await table.UpdateRow(entry, rowETag, data.Version.Next()));
        Assert.False(await table.UpdateRow(entry, rowETag, data.Version.Next().Next()));

        var after = await table.ReadAll();
        var (stored, newETag) = after.TryGet(entry.SiloAddress)!;
        Assert.Equal(SiloStatus.Active, stored.Status);
        Assert.Equal(entry.ToFullString(), stored.ToFullString());
        Assert.NotEqual(rowETag, newETag);
        Assert.Equal(2, after.Version.Version);
    }

    [Fact]
    public async Task UpdateRow_ConcurrentUpdatesWithSameTableVersion_ExactlyOneSucceeds()
    {
        var table = await TestProviders.MembershipTableAsync(azurite, NewCluster());
        var first = NewEntry();
        var second = NewEntry();
        Assert.True(await table.InsertRow(first, (await table.ReadAll()).Version.Next()));
        Assert.True(await table.InsertRow(second, (await table.ReadAll()).Version.Next()));
        var data = await table.ReadAll();
        var next = data.Version.Next();

        // Two silos vote at once with the same snapshot: one declares the first silo dead, the other the second.
        first.Status = SiloStatus.Dead;
        second.Status = SiloStatus.Dead;
        var results = await Task.WhenAll(
            table.UpdateRow(first, data.TryGet(first.SiloAddress)!.Item2, next),
            table.UpdateRow(second, data.TryGet(second.SiloAddress)!.Item2, next));

        Assert.Equal(1, results.Count(r => r));
        var after = await table.ReadAll();
        Assert.Equal(3, after.Version.Version);
        Assert.Equal(1, after.Members.Count(m => m.Item1.Status == SiloStatus.Dead));
    }

    [Fact]
    public async Task InsertRow_TwentyParallelInsertsOfOneSilo_ExactlyOneSucceedsThenRetriedUpdatesAllLand()
    {
        var table = await TestProviders.MembershipTableAsync(azurite, NewCluster());
        var entry = NewEntry();
        var version = (await table.ReadAll()).Version.Next();

        var inserts = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => table.InsertRow(entry, version)));
        Assert.Equal(1, inserts.Count(i => i));

        // Nineteen updaters race on the same row; each re-reads and retries until its update lands (as silos do).
        await Task.WhenAll(Enumerable.Range(0, 19).Select(async _ =>
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                var data = await table.ReadAll();
                var row = data.TryGet(entry.SiloAddress)!;
                if (await table.UpdateRow(row.Item1, row.Item2, data.Version.Next()))
                {
                    return;
                }
            }

            Assert.Fail("an update never landed before the deadline");
        }));

        var after = await table.ReadAll();
        Assert.Equal(20, after.Version.Version);
        Assert.Single(after.Members);
    }

    [Fact]
    public async Task UpdateIAmAlive_ChangesOnlyTheAliveTimeAndKeepsTheTableVersion()
    {
        var table = await TestProviders.MembershipTableAsync(azurite, NewCluster());
        var entry = NewEntry(SiloStatus.Active);
        Assert.True(await table.InsertRow(entry, (await table.ReadAll()).Version.Next()));
        var before = await table.ReadAll();
        var alive = UtcNowSeconds().AddSeconds(5);

        await table.UpdateIAmAlive(new MembershipEntry { SiloAddress = entry.SiloAddress, IAmAliveTime = alive });
        var after = await table.ReadAll();

        var (stored, _) = after.TryGet(entry.SiloAddress)!;
        Assert.Equal(alive, stored.IAmAliveTime);
        Assert.Equal(SiloStatus.Active, stored.Status);
        Assert.Equal(entry.SiloName, stored.SiloName);
        Assert.Equal(before.Version, after.Version);
    }

    [Fact]
    public async Task DeadSilosRow_StaysAndReadsDeadToTheSiloItself()
    {
        // The silo lease (fencing) reads the silo's own row: a row declared Dead must read Dead, never vanish into Active.
        var table = await TestProviders.MembershipTableAsync(azurite, NewCluster());
        var entry = NewEntry(SiloStatus.Active);
        Assert.True(await table.InsertRow(entry, (await table.ReadAll()).Version.Next()));
        var data = await table.ReadAll();
        entry.Status = SiloStatus.Dead;
        Assert.True(await table.UpdateRow(entry, data.TryGet(entry.SiloAddress)!.Item2, data.Version.Next()));

        await table.CleanupDefunctSiloEntries(DateTimeOffset.UtcNow.AddDays(-7));
        var own = await table.ReadRow(entry.SiloAddress);

        Assert.Equal(SiloStatus.Dead, Assert.Single(own.Members).Item1.Status);
        Assert.Equal(2, own.Version.Version);
    }

    [Fact]
    public async Task GetGateways_ReturnsOnlyActiveSilosWithAProxyPort()
    {
        var cluster = NewCluster();
        var table = await TestProviders.MembershipTableAsync(azurite, cluster);
        var entries = Enumerable.Range(0, 6).Select(_ => NewEntry()).ToArray();
        entries[1].Status = SiloStatus.Active;
        entries[1].ProxyPort = 0;
        entries[2].Status = SiloStatus.Active;
        entries[3].Status = SiloStatus.Active;
        entries[4].Status = SiloStatus.Dead;
        foreach (var entry in entries)
        {
            Assert.True(await table.InsertRow(entry, (await table.ReadAll()).Version.Next()));
        }

        var gateways = await MicrosoftTables.GatewayListAsync(azurite.ConnectionString, cluster, table: TestProviders.MembershipTable);
        var found = (await gateways.GetGateways()).Select(g => g.ToString()).ToList();

        var expected = new[] { entries[2], entries[3] }
            .Select(e => SiloAddress.New(e.SiloAddress.Endpoint.Address, e.ProxyPort, e.SiloAddress.Generation).ToGatewayUri().ToString());
        Assert.Equal(expected.Order(), found.Order());
    }

    [Fact]
    public async Task GetGateways_DropsASiloOnceItIsDeclaredDead()
    {
        var cluster = NewCluster();
        var table = await TestProviders.MembershipTableAsync(azurite, cluster);
        var entry = NewEntry(SiloStatus.Active);
        Assert.True(await table.InsertRow(entry, (await table.ReadAll()).Version.Next()));
        var gateways = await MicrosoftTables.GatewayListAsync(azurite.ConnectionString, cluster, table: TestProviders.MembershipTable);
        Assert.Single(await gateways.GetGateways());

        var data = await table.ReadAll();
        entry.Status = SiloStatus.Dead;
        Assert.True(await table.UpdateRow(entry, data.TryGet(entry.SiloAddress)!.Item2, data.Version.Next()));

        Assert.Empty(await gateways.GetGateways());
    }
}
