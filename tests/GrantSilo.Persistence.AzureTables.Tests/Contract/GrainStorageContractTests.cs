using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Testing.Azurite;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables.Tests.Contract;

[Collection(AzuriteCollection.Name)]
public sealed class GrainStorageContractTests(AzuriteFixture azurite)
{
    private const string StateName = "state";

    private static GrainId NewGrain(string? key = null) => GrainId.Create("contract-grain", key ?? Guid.NewGuid().ToString("N"));

    private static GrainState<TestState> NewState(int counter = 0, string text = "") => new(new TestState { Counter = counter, Text = text });

    [Fact]
    public async Task ReadState_ReturnsNoRecordForUnknownGrain()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var state = NewState(counter: 99);

        await storage.ReadStateAsync(StateName, NewGrain(), state);

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.Equal(0, state.State!.Counter);
    }

    [Fact]
    public async Task WriteState_ThenReadState_ReturnsWhatWasWritten()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        var written = NewState(7, "seven");

        await storage.WriteStateAsync(StateName, grain, written);
        var read = NewState();
        await storage.ReadStateAsync(StateName, grain, read);

        Assert.True(written.RecordExists);
        Assert.NotNull(written.ETag);
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal(7, read.State!.Counter);
        Assert.Equal("seven", read.State!.Text);
    }

    [Fact]
    public async Task WriteState_SecondWriteWithCurrentETag_SucceedsAndChangesETag()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        var state = NewState(1);
        await storage.WriteStateAsync(StateName, grain, state);
        var first = state.ETag;

        state.State!.Counter = 2;
        await storage.WriteStateAsync(StateName, grain, state);

        Assert.NotEqual(first, state.ETag);
        var read = NewState();
        await storage.ReadStateAsync(StateName, grain, read);
        Assert.Equal(2, read.State!.Counter);
    }

    [Fact]
    public async Task WriteState_RejectsStaleETag()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        var first = NewState(1);
        await storage.WriteStateAsync(StateName, grain, first);
        var stale = NewState(100);
        stale.ETag = first.ETag;
        await storage.WriteStateAsync(StateName, grain, first);

        var error = await Assert.ThrowsAnyAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grain, stale));

        var read = NewState();
        await storage.ReadStateAsync(StateName, grain, read);
        Assert.Equal(1, read.State!.Counter);
    }

    [Fact]
    public async Task WriteState_WithoutETag_RejectedWhenRecordAlreadyExists()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        await storage.WriteStateAsync(StateName, grain, NewState(1));

        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grain, NewState(2)));
    }

    [Fact]
    public async Task WriteState_ParallelWritersWithSameETag_ExactlyOneWins()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        var initial = NewState(0);
        await storage.WriteStateAsync(StateName, grain, initial);

        var writers = Enumerable.Range(1, 10).Select(i => new GrainState<TestState>(new TestState { Counter = i }) { ETag = initial.ETag }).ToList();
        var outcomes = await Task.WhenAll(writers.Select(async w =>
        {
            try
            {
                await storage.WriteStateAsync(StateName, grain, w);
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        }));

        Assert.Equal(1, outcomes.Count(o => o));
        var winner = writers[Array.IndexOf(outcomes, true)];
        var read = NewState();
        await storage.ReadStateAsync(StateName, grain, read);
        Assert.Equal(winner.State!.Counter, read.State!.Counter);
        Assert.Equal(winner.ETag, read.ETag);
    }

    [Fact]
    public async Task ParallelFirstWriters_ExactlyOneInsertWins()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();

        var outcomes = await Task.WhenAll(Enumerable.Range(1, 8).Select(async i =>
        {
            try
            {
                await storage.WriteStateAsync(StateName, grain, NewState(i));
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        }));

        Assert.Equal(1, outcomes.Count(o => o));
    }

    [Fact]
    public async Task ClearState_ThenReadState_ReturnsNoRecordAndStaleWriterStillFails()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        var state = NewState(5);
        await storage.WriteStateAsync(StateName, grain, state);
        var etagBeforeClear = state.ETag;

        await storage.ClearStateAsync(StateName, grain, state);
        var read = NewState(42);
        await storage.ReadStateAsync(StateName, grain, read);

        Assert.False(state.RecordExists);
        Assert.Equal(0, state.State!.Counter);
        Assert.False(read.RecordExists);
        Assert.Equal(0, read.State!.Counter);
        Assert.Equal(state.ETag, read.ETag);

        var stale = NewState(6);
        stale.ETag = etagBeforeClear;
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grain, stale));

        read.State!.Counter = 8;
        await storage.WriteStateAsync(StateName, grain, read);
        var reread = NewState();
        await storage.ReadStateAsync(StateName, grain, reread);
        Assert.True(reread.RecordExists);
        Assert.Equal(8, reread.State!.Counter);
    }

    [Fact]
    public async Task ClearState_WithStaleETag_IsRejected()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        var state = NewState(1);
        await storage.WriteStateAsync(StateName, grain, state);
        var stale = NewState();
        stale.ETag = state.ETag;
        await storage.WriteStateAsync(StateName, grain, state);

        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => storage.ClearStateAsync(StateName, grain, stale));
    }

    [Theory]
    [InlineData("with/slash\\back#hash?question")]
    [InlineData("control\u0001\u001f\u007f\u0085chars\ttab\nnewline")]
    [InlineData("unicode-ключ-鍵-🔑-ünïcödé")]
    [InlineData("percent%25and|pipe%")]
    [InlineData("lone\ud800surrogate")]
    public async Task WriteState_RoundTripsKeysWithForbiddenAndUnicodeCharacters(string key)
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain(key);

        await storage.WriteStateAsync(StateName, grain, NewState(3, key));
        var read = NewState();
        await storage.ReadStateAsync(StateName, grain, read);

        Assert.True(read.RecordExists);
        Assert.Equal(key, read.State!.Text);
    }

    [Fact]
    public async Task WriteState_KeysDifferingOnlyInEscapedCharacters_DoNotCollide()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        // Microsoft's provider alone maps every one of these to the partition of "a_b".
        var grains = new[] { "a/b", "a_b", "a#b", "a?b", "a\\b", "a%2Fb", "a%002Fb", "a%005Fb" }.Select(k => NewGrain(k)).ToArray();

        for (var i = 0; i < grains.Length; i++)
        {
            await storage.WriteStateAsync(StateName, grains[i], NewState(i));
        }

        for (var i = 0; i < grains.Length; i++)
        {
            var read = NewState(-1);
            await storage.ReadStateAsync(StateName, grains[i], read);
            Assert.Equal(i, read.State!.Counter);
        }
    }

    [Fact]
    public async Task WriteState_RoundTripsVeryLongGrainKeysWithoutCollisions()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var common = new string('k', 4000) + "/" + string.Concat(Enumerable.Repeat("鍵🔑", 500));
        var first = NewGrain(common + "-1");
        var second = NewGrain(common + "-2");

        await storage.WriteStateAsync(StateName, first, NewState(1));
        await storage.WriteStateAsync(StateName, second, NewState(2));
        var readFirst = NewState();
        var readSecond = NewState();
        await storage.ReadStateAsync(StateName, first, readFirst);
        await storage.ReadStateAsync(StateName, second, readSecond);

        Assert.Equal(1, readFirst.State!.Counter);
        Assert.Equal(2, readSecond.State!.Counter);
        Assert.True(storage.GetKey(StateName, first).PartitionKey.Length <= 1024);
        Assert.NotEqual(storage.GetKey(StateName, first).PartitionKey, storage.GetKey(StateName, second).PartitionKey);
    }

    [Fact]
    public async Task WriteState_LargeStateSpansSeveralPropertiesAndRoundTrips()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        var blob = new byte[700 * 1024];
        new Random(1234).NextBytes(blob);
        var state = new GrainState<TestState>(new TestState { Blob = blob });

        await storage.WriteStateAsync(StateName, grain, state);
        var read = NewState();
        await storage.ReadStateAsync(StateName, grain, read);

        Assert.Equal(blob, read.State!.Blob);
        var key = storage.GetKey(StateName, grain);
        var raw = (await TestProviders.RawTable(azurite, TestProviders.GrainTable).GetEntityAsync<Azure.Data.Tables.TableEntity>(key.PartitionKey, key.RowKey)).Value;
        var dataProperties = raw.Keys.Count(k => k.StartsWith("Data", StringComparison.Ordinal));
        Assert.True(dataProperties >= 11, $"expected the state to span at least 11 properties, found {dataProperties}");
    }

    [Fact]
    public async Task WriteState_ShrinkingLargeState_LeavesNoStaleChunks()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        var state = new GrainState<TestState>(new TestState { Blob = new byte[300 * 1024] });
        await storage.WriteStateAsync(StateName, grain, state);

        state.State = new TestState { Blob = [1, 2, 3] };
        await storage.WriteStateAsync(StateName, grain, state);
        var read = NewState();
        await storage.ReadStateAsync(StateName, grain, read);

        Assert.Equal(new byte[] { 1, 2, 3 }, read.State!.Blob);
    }

    [Fact]
    public async Task WriteState_StateOverEntityLimit_ThrowsTypedErrorAndWritesNothing()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();
        var state = new GrainState<TestState>(new TestState { Blob = new byte[(15 * 64 * 1024) + 1] });

        var error = await Assert.ThrowsAsync<GrainStateTooLargeException>(() => storage.WriteStateAsync(StateName, grain, state));

        Assert.Equal(AzureTableErrorKind.EntityTooLarge, error.Kind);
        Assert.True(error.Size > error.MaxSize);
        Assert.Null(state.ETag);
        var read = NewState();
        await storage.ReadStateAsync(StateName, grain, read);
        Assert.False(read.RecordExists);
    }

    [Fact]
    public async Task ServiceId_KeepsDeploymentsSharingATableApart()
    {
        var deploymentA = await TestProviders.GrainStorageAsync(azurite, "deploymenta" + TestProviders.NewServiceId());
        var deploymentB = await TestProviders.GrainStorageAsync(azurite, "deploymentb" + TestProviders.NewServiceId());
        var grain = NewGrain();

        await deploymentA.WriteStateAsync(StateName, grain, NewState(1));
        var readByB = NewState();
        await deploymentB.ReadStateAsync(StateName, grain, readByB);

        Assert.False(readByB.RecordExists);
    }

    [Fact]
    public async Task StateNames_OfOneGrain_AreStoredSeparately()
    {
        var storage = await TestProviders.GrainStorageAsync(azurite);
        var grain = NewGrain();

        await storage.WriteStateAsync("first", grain, NewState(1));
        await storage.WriteStateAsync("second", grain, NewState(2));
        var first = NewState();
        var second = NewState();
        await storage.ReadStateAsync("first", grain, first);
        await storage.ReadStateAsync("second", grain, second);

        Assert.Equal(1, first.State!.Counter);
        Assert.Equal(2, second.State!.Counter);
    }
}
