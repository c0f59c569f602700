using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Clustering;
using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Testing.Azurite;

namespace GrantSilo.Persistence.AzureTables.Tests.Contract;

/// <summary>ReadAll over a partition that needs several query pages must still return one consistent snapshot.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class MembershipSnapshotTests(AzuriteFixture azurite)
{
    private const int SiloRows = 1100;

    private async Task<(AzureTableMembershipTable Table, string Cluster)> LargeClusterAsync(FaultInjectionPolicy faults)
    {
        var cluster = "large-" + Guid.NewGuid().ToString("N")[..8];
        var table = await TestProviders.MembershipTableAsync(azurite, cluster, faults);
        var partitionKey = MembershipRows.PartitionKey("membership-tests", cluster);
        var raw = TestProviders.RawTable(azurite, TestProviders.MembershipTable);
        var rows = Enumerable.Range(0, SiloRows).Select(_ => MembershipRows.ToEntity(partitionKey, MembershipTableContractTests.NewEntry(SiloStatus.Dead), "seed"));
        foreach (var batch in rows.Chunk(100))
        {
            await raw.SubmitTransactionAsync(batch.Select(e => new TableTransactionAction(TableTransactionActionType.Add, e)));
        }

        return (table, cluster);
    }

    [Fact]
    public async Task ReadAll_PartitionSpanningSeveralPages_ReturnsEveryRow()
    {
        var faults = new FaultInjectionPolicy();
        var (table, _) = await LargeClusterAsync(faults);

        var data = await table.ReadAll();

        Assert.True(faults.SeenCount(TableRequests.NextPage()) >= 1, "the read should have needed more than one page");
        Assert.Equal(SiloRows, data.Members.Count);
        Assert.Equal(0, data.Version.Version);
    }

    [Fact]
    public async Task ReadAll_ChangeCommittedBetweenPages_IsDetectedAndReadAgain()
    {
        var faults = new FaultInjectionPolicy();
        var (table, cluster) = await LargeClusterAsync(faults);
        var other = await TestProviders.MembershipTableAsync(azurite, cluster);
        var joining = MembershipTableContractTests.NewEntry();
        faults.BeforeSending(TableRequests.NextPage(), async () =>
        {
            var snapshot = await other.ReadRow(joining.SiloAddress);
            Assert.True(await other.InsertRow(joining, snapshot.Version.Next()));
        });

        var data = await table.ReadAll();

        Assert.True(faults.SeenCount(TableRequests.NextPage()) >= 2, "the first, torn read should have been retried");
        Assert.Equal(1, data.Version.Version);
        Assert.Equal(SiloRows + 1, data.Members.Count);
        Assert.NotNull(data.TryGet(joining.SiloAddress));
    }
}
