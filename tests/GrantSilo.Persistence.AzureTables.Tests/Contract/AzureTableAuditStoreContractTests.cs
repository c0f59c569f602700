using Azure.Data.Tables;
using GrantSilo.Grains.Audit;
using GrantSilo.Grains.Tests.Audit;
using GrantSilo.Persistence.AzureTables.Audit;
using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Testing;
using GrantSilo.Testing.Azurite;

namespace GrantSilo.Persistence.AzureTables.Tests.Contract;

/// <summary>The audit store contract (the same suite the segment-file store passes), on Azure Tables (Azurite).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureTableAuditStoreContractTests(AzuriteFixture azurite) : AuditStoreContract
{
    private readonly AzureTableAuditStore _store = new(new TableServiceClient(azurite.ConnectionString), new AzureTableAuditOptions { TableName = "audit" + Guid.NewGuid().ToString("N")[..12], Buckets = 4, TailHintEvery = 7 });

    protected override IAuditStore Store => _store;

    private async Task<TableEntity> RowAsync(string stream, long sequence) =>
        (await _store.Table.GetEntityAsync<TableEntity>(_store.PartitionOf(stream, sequence), AzureTableAuditStore.Row(sequence))).Value;

    protected override async Task EditAsync(string stream, long sequence, Func<string, string> change)
    {
        var row = await RowAsync(stream, sequence);
        row["Body"] = change(row.GetString("Body"));
        await _store.Table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
    }

    protected override async Task DeleteAsync(string stream, long sequence) =>
        await _store.Table.DeleteEntityAsync(_store.PartitionOf(stream, sequence), AzureTableAuditStore.Row(sequence));

    protected override async Task SwapAsync(string stream, long first, long second)
    {
        var a = await RowAsync(stream, first);
        var b = await RowAsync(stream, second);
        foreach (var column in new[] { "Prev", "Hash", "Body" })
        {
            (a[column], b[column]) = (b[column], a[column]);
        }
        await _store.Table.UpdateEntityAsync(a, a.ETag, TableUpdateMode.Replace);
        await _store.Table.UpdateEntityAsync(b, b.ETag, TableUpdateMode.Replace);
    }

    [Fact]
    public async Task ReadBackward_FindsTheTailPastAStaleHint_AndAPlaceFarPastTheTailReadsFromTheTail()
    {
        // A writer that has not updated the tail hint yet (it does every 1,000 lines): the tail is found past it.
        var writer = new AzureTableAuditStore(new TableServiceClient(azurite.ConnectionString), new AzureTableAuditOptions { TableName = _store.Table.Name, Buckets = 4, TailHintEvery = 1000 });
        var stream = NewStream();
        var lines = Lines(stream, await writer.OpenAsync(stream, CancellationToken.None), 250);
        foreach (var batch in lines.Chunk(100))
        {
            await writer.AppendAsync(stream, batch, CancellationToken.None);
        }
        // A bound, not a wait: reading far past the tail must not walk the empty blocks up to it.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        Assert.Equal(Enumerable.Reverse(lines), await _store.ReadBackwardAsync(stream, long.MaxValue, bound.Token).ToListAsync(bound.Token));
        Assert.Equal(Enumerable.Reverse(lines), await _store.ReadBackwardAsync(stream, 1_000_000_000_000_000, bound.Token).ToListAsync(bound.Token));
        Assert.Equal(Enumerable.Reverse(lines.Take(180)), await _store.ReadBackwardAsync(stream, 180, bound.Token).ToListAsync(bound.Token));
    }

    [Fact]
    public async Task QueryNewestFirst_ReadsOnlyTheNewestBlocks_NeverTheOldOnes()
    {
        var stream = NewStream();
        var written = await AppendRecordsAsync(stream, Enumerable.Range(0, 250).Select(i => Record("a", GrantSiloClusterFixture.Start.AddSeconds(i))));
        // Record 1 (the oldest block) is no longer an audit row: any read of it fails.
        var first = await RowAsync(stream, 1);
        first.Remove("Body");
        await _store.Table.UpdateEntityAsync(first, first.ETag, TableUpdateMode.Replace);
        var reader = new AuditReader(Store, Keys);

        var newest = await reader.QueryAsync(new AuditQuery { Order = AuditOrder.NewestFirst, PageSize = 120 }, CancellationToken.None);

        Assert.True(newest.IsSuccess);
        Assert.Equal(written.TakeLast(120).Reverse().Select(l => l.Sequence), newest.Value.Items.Select(e => e.Sequence));
        var oldest = await Assert.ThrowsAsync<AuditStoreException>(() => reader.QueryAsync(new AuditQuery { PageSize = 1000 }, CancellationToken.None));
        Assert.True(oldest.Unreadable);
    }

    [Fact]
    public async Task AWriterWithAnotherHashKey_IsRefused_AndItsJournalDeniesUntilGivenTheClustersKey()
    {
        var cluster = AuditKeys.Ephemeral();
        var other = AuditKeys.Ephemeral();
        Assert.NotEqual(cluster.HashKeyId, other.HashKeyId);
        await _store.AgreeOnHashKeyAsync(cluster.HashKeyId, CancellationToken.None);
        // The same key agrees, from any writer, any number of times.
        var second = new AzureTableAuditStore(new TableServiceClient(azurite.ConnectionString), new AzureTableAuditOptions { TableName = _store.Table.Name, Buckets = 4 });
        await second.AgreeOnHashKeyAsync(cluster.HashKeyId, CancellationToken.None);
        var refused = await Assert.ThrowsAsync<AuditStoreException>(() => second.AgreeOnHashKeyAsync(other.HashKeyId, CancellationToken.None));
        Assert.Contains(other.HashKeyId, refused.Message, StringComparison.Ordinal);
        Assert.Contains("HashKeyFile", refused.Message, StringComparison.Ordinal);

        // A silo with the other key writes nothing: its decisions are denied within the bound, and its stream never opens.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var journal = new AuditJournal(second, other, new AuditOptions { Stream = "silo-b" }, time, "silo-b", Microsoft.Extensions.Logging.Abstractions.NullLogger<AuditJournal>.Instance);
        journal.Start();
        var waiting = journal.RecordAsync(new GrantSilo.AuditRecord { Id = "d-1", Kind = GrantSilo.AuditEventKind.Decision, At = time.GetUtcNow() }, CancellationToken.None).AsTask();
        await GrantSilo.Testing.Eventually.HoldsAsync(() => Task.FromResult(!journal.Healthy), TimeSpan.FromSeconds(30), "the journal refused by the store");
        time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<AuditUnavailableException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("silo-b", await second.ListStreamsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ALongStream_IsSpreadOverItsPartitionsByBlocks_ReadBackInOrder_AndReopensAtItsTail()
    {
        var stream = NewStream();
        var tail = await _store.OpenAsync(stream, CancellationToken.None);
        var written = new List<GrantSilo.AuditLine>();
        // Batches of 100 (Azure's most per transaction) that straddle block boundaries, as group commits do.
        foreach (var size in new[] { 37, 100, 100, 100, 63, 100 })
        {
            var lines = Lines(stream, tail, size);
            await _store.AppendAsync(stream, lines, CancellationToken.None);
            written.AddRange(lines);
            tail = new AuditStreamTail(lines[^1].Sequence, lines[^1].Hash);
        }
        Assert.Equal(written, await ReadAllAsync(stream));
        Assert.Equal(_store.PartitionOf(stream, 1), _store.PartitionOf(stream, 100));
        Assert.NotEqual(_store.PartitionOf(stream, 100), _store.PartitionOf(stream, 101));
        Assert.Equal(_store.PartitionOf(stream, 1), _store.PartitionOf(stream, 401));

        var reopened = await new AzureTableAuditStore(new TableServiceClient(azurite.ConnectionString), new AzureTableAuditOptions { TableName = _store.Table.Name, Buckets = 4 }).OpenAsync(stream, CancellationToken.None);
        Assert.Equal((500L, written[^1].Hash), (reopened.Sequence, reopened.Hash));
    }
}
