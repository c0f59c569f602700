using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Testing.Azurite;

namespace GrantSilo.Persistence.AzureTables.Tests.Contract;

[Collection(AzuriteCollection.Name)]
public sealed class ReminderTableContractTests(AzuriteFixture azurite)
{
    private static GrainId NewGrain(string? key = null) => GrainId.Create("reminder-grain", key ?? Guid.NewGuid().ToString("N"));

    private static ReminderEntry NewEntry(GrainId grain, string name = "tick") => new()
    {
        GrainId = grain,
        ReminderName = name,
        StartAt = new DateTime(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc),
        Period = TimeSpan.FromMinutes(5),
    };

    private static bool InRange(uint hash, uint begin, uint end) => begin < end ? hash > begin && hash <= end : hash > begin || hash <= end;

    [Fact]
    public async Task UpsertRow_ThenReadRow_ReturnsTheEntryWithItsETag()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grain = NewGrain();

        var etag = await table.UpsertRow(NewEntry(grain));
        var read = await table.ReadRow(grain, "tick");

        Assert.NotNull(etag);
        Assert.NotNull(read);
        Assert.Equal(etag, read.ETag);
        Assert.Equal(grain, read.GrainId);
        Assert.Equal("tick", read.ReminderName);
        Assert.Equal(TimeSpan.FromMinutes(5), read.Period);
        Assert.Equal(NewEntry(grain).StartAt, read.StartAt);
    }

    // An agent's lifecycle reminder: its row key holds the grain id, "agent/{workload id}", and the reminder's name.
    private static GrainId Agent(int length)
    {
        var id = $"spiffe://test.dev/{Guid.NewGuid():N}/";
        id += new string('w', length - id.Length);
        Assert.True(WorkloadId.Validate(id).IsSuccess);
        return GrainId.Create("agent", id);
    }

    [Fact]
    public async Task TheLongestRegistrableAgent_KeepsItsLifecycleReminder()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var longest = Agent(WorkloadId.MaxRegisteredLength);

        await table.UpsertRow(NewEntry(longest, "lifecycle"));

        Assert.NotNull(await table.ReadRow(longest, "lifecycle"));
        Assert.Single((await table.ReadRows(longest)).Reminders);
    }

    [Fact]
    public async Task AnAgentIdOfTheLongestReadableLength_HasNoRoomForAReminder()
    {
        // Why new agents are limited to WorkloadId.MaxRegisteredLength: ids up to 512 characters are valid, but a
        // row key holds 1 KiB (512 UTF-16 characters), so such an agent's reminder is refused.
        var table = await TestProviders.ReminderTableAsync(azurite);
        var longest = NewEntry(Agent(Canonical.MaxIdentifierLength), "lifecycle");

        await Assert.ThrowsAsync<Azure.RequestFailedException>(() => table.UpsertRow(longest));
    }

    [Fact]
    public async Task ReadRow_ReturnsNullForUnknownReminder()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);

        Assert.Null(await table.ReadRow(NewGrain(), "missing"));
    }

    [Fact]
    public async Task UpsertRow_ReplacesTheEntryAndChangesItsETag()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grain = NewGrain();
        var first = await table.UpsertRow(NewEntry(grain));

        var changed = NewEntry(grain);
        changed.Period = TimeSpan.FromHours(1);
        var second = await table.UpsertRow(changed);
        var rows = await table.ReadRows(grain);

        Assert.NotEqual(first, second);
        var row = Assert.Single(rows.Reminders);
        Assert.Equal(TimeSpan.FromHours(1), row.Period);
        Assert.Equal(second, row.ETag);
    }

    [Fact]
    public async Task ReadRows_ByGrain_ReturnsOnlyThatGrainsReminders()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grain = NewGrain();
        var other = NewGrain();
        await table.UpsertRow(NewEntry(grain, "a"));
        await table.UpsertRow(NewEntry(grain, "b"));
        await table.UpsertRow(NewEntry(other, "a"));

        var rows = await table.ReadRows(grain);

        Assert.Equal(["a", "b"], rows.Reminders.Select(r => r.ReminderName).Order());
        Assert.All(rows.Reminders, r => Assert.Equal(grain, r.GrainId));
    }

    [Fact]
    public async Task ReadRows_ByRange_ReturnsEntriesWithHashInHalfOpenRange()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grains = await InsertGrainsAsync(table, 24);
        var hashes = grains.Select(g => g.GetUniformHashCode()).Order().ToArray();
        var begin = hashes[5];
        var end = hashes[15];

        var rows = await table.ReadRows(begin, end);

        var expected = grains.Where(g => InRange(g.GetUniformHashCode(), begin, end)).ToHashSet();
        Assert.Equal(10, expected.Count);
        Assert.Equal(expected, rows.Reminders.Select(r => r.GrainId).ToHashSet());
        Assert.DoesNotContain(rows.Reminders, r => r.GrainId.GetUniformHashCode() == begin);
        Assert.Contains(rows.Reminders, r => r.GrainId.GetUniformHashCode() == end);
    }

    [Fact]
    public async Task ReadRows_RangeThatWrapsAroundTheRing_ReturnsBothEnds()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grains = await InsertGrainsAsync(table, 24);
        var hashes = grains.Select(g => g.GetUniformHashCode()).Order().ToArray();
        var begin = hashes[18];
        var end = hashes[3];

        var rows = await table.ReadRows(begin, end);

        var expected = grains.Where(g => InRange(g.GetUniformHashCode(), begin, end)).ToHashSet();
        Assert.Equal(24 - 18 - 1 + 4, expected.Count);
        Assert.Equal(expected, rows.Reminders.Select(r => r.GrainId).ToHashSet());
    }

    [Fact]
    public async Task ReadRows_BeginEqualToEnd_ReturnsTheWholeRing()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grains = await InsertGrainsAsync(table, 10);
        var pivot = grains[0].GetUniformHashCode();

        var rows = await table.ReadRows(pivot, pivot);

        Assert.Equal(grains.ToHashSet(), rows.Reminders.Select(r => r.GrainId).ToHashSet());
    }

    [Fact]
    public async Task ReadRows_FullRangeFromZero_IncludesEveryHashAboveZero()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grains = await InsertGrainsAsync(table, 10);

        var rows = await table.ReadRows(0, uint.MaxValue);

        Assert.Equal(grains.Where(g => g.GetUniformHashCode() != 0).ToHashSet(), rows.Reminders.Select(r => r.GrainId).ToHashSet());
    }

    [Fact]
    public async Task ReadRows_RandomRanges_MatchTheRingSemantics()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grains = await InsertGrainsAsync(table, 150);
        var hashes = grains.Select(g => g.GetUniformHashCode()).ToArray();
        var random = new Random(4242);

        for (var i = 0; i < 60; i++)
        {
            var begin = (uint)random.NextInt64(0, uint.MaxValue + 1L);
            var end = (uint)random.NextInt64(0, uint.MaxValue + 1L);
            if (i % 3 == 0)
            {
                // Boundaries exactly on stored hashes exercise the exclusive start and inclusive end.
                (begin, end) = (hashes[random.Next(hashes.Length)], hashes[random.Next(hashes.Length)]);
            }

            var rows = await table.ReadRows(begin, end);

            var expected = hashes.Where(h => InRange(h, begin, end)).Order().ToArray();
            Assert.Equal(expected, rows.Reminders.Select(r => r.GrainId.GetUniformHashCode()).Order().ToArray());
        }
    }

    [Fact]
    public async Task UpsertRow_ParallelUpsertsOfOneReminder_EachGetsADistinctETag()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grain = NewGrain();
        var start = DateTime.UtcNow;

        var etags = await Task.WhenAll(Enumerable.Range(1, 5).Select(i =>
        {
            var entry = NewEntry(grain);
            entry.StartAt = start.AddMilliseconds(i);
            return table.UpsertRow(entry);
        }));

        Assert.Equal(5, etags.Distinct().Count());
        var row = Assert.Single((await table.ReadRows(grain)).Reminders);
        Assert.Contains(row.ETag, etags);
    }

    [Fact]
    public async Task RemoveRow_WithWrongName_ReturnsFalse()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grain = NewGrain();
        var etag = await table.UpsertRow(NewEntry(grain));

        Assert.False(await table.RemoveRow(grain, "other", etag!));
        Assert.NotNull(await table.ReadRow(grain, "tick"));
    }

    [Fact]
    public async Task RemoveRow_WithStaleETag_ReturnsFalseAndKeepsTheRow()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grain = NewGrain();
        var stale = await table.UpsertRow(NewEntry(grain));
        await table.UpsertRow(NewEntry(grain));

        var removed = await table.RemoveRow(grain, "tick", stale!);

        Assert.False(removed);
        Assert.NotNull(await table.ReadRow(grain, "tick"));
    }

    [Fact]
    public async Task RemoveRow_WithCurrentETag_RemovesTheRowOnce()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grain = NewGrain();
        var etag = await table.UpsertRow(NewEntry(grain));

        Assert.True(await table.RemoveRow(grain, "tick", etag!));
        Assert.False(await table.RemoveRow(grain, "tick", etag!));
        Assert.Null(await table.ReadRow(grain, "tick"));
    }

    [Fact]
    public async Task UpsertRow_RoundTripsUnicodeAndForbiddenCharacters()
    {
        var table = await TestProviders.ReminderTableAsync(azurite);
        var grain = NewGrain("grain/with#forbidden?chars\\ключ-" + new string('x', 30));
        var name = "reminder/名前?#" + new string('y', 20);

        var etag = await table.UpsertRow(NewEntry(grain, name));
        var read = await table.ReadRow(grain, name);
        var byGrain = await table.ReadRows(grain);

        Assert.NotNull(read);
        Assert.Equal(etag, read.ETag);
        Assert.Equal(name, Assert.Single(byGrain.Reminders).ReminderName);
        Assert.True(await table.RemoveRow(grain, name, etag!));
    }

    [Fact]
    public async Task TestOnlyClearTable_RemovesOnlyThisServicesReminders()
    {
        var mine = await TestProviders.ReminderTableAsync(azurite);
        var theirs = await TestProviders.ReminderTableAsync(azurite);
        await InsertGrainsAsync(mine, 5);
        var theirGrains = await InsertGrainsAsync(theirs, 3);

        await mine.TestOnlyClearTable();

        Assert.Empty((await mine.ReadRows(0, 0)).Reminders);
        Assert.Equal(theirGrains.ToHashSet(), (await theirs.ReadRows(0, 0)).Reminders.Select(r => r.GrainId).ToHashSet());
    }

    private static async Task<List<GrainId>> InsertGrainsAsync(IReminderTable table, int count)
    {
        var grains = Enumerable.Range(0, count).Select(_ => NewGrain()).ToList();
        foreach (var grain in grains)
        {
            await table.UpsertRow(NewEntry(grain));
        }

        return grains;
    }
}
