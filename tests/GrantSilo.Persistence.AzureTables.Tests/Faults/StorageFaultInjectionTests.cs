using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Storage;
using GrantSilo.Persistence.AzureTables.Tests.Contract;
using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Testing.Azurite;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables.Tests.Faults;

/// <summary>
/// Injects storage faults through an Azure.Core pipeline policy and checks that nothing is lost or duplicated and that
/// callers see Orleans' or GrantSilo's typed errors, never the Azure SDK's.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class StorageFaultInjectionTests(AzuriteFixture azurite)
{
    private const string StateName = "state";
    private const string Grains = TestProviders.GrainTable;

    private static GrainId NewGrain() => GrainId.Create("fault-grain", Guid.NewGuid().ToString("N"));

    private static GrainState<TestState> NewState(int counter) => new(new TestState { Counter = counter });

    private async Task<TableEntity?> RawAsync(TestStorage storage, GrainId grain)
    {
        var key = storage.GetKey(StateName, grain);
        var response = await TestProviders.RawTable(azurite, Grains).GetEntityIfExistsAsync<TableEntity>(key.PartitionKey, key.RowKey);
        return response.HasValue ? response.Value : null;
    }

    private static async Task<int> ReadCounterAsync(TestStorage storage, GrainId grain)
    {
        var read = NewState(-1);
        await storage.ReadStateAsync(StateName, grain, read);
        return read.RecordExists ? read.State!.Counter : -1;
    }

    [Fact]
    public async Task WriteState_InsertCommittedButReplyLost_RetriedInsertIsRecognisedAsOurs()
    {
        var faults = new FaultInjectionPolicy().Inject(TableRequests.Insert(Grains), FaultMode.SendThenReplaceReply, 500);
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults);
        var grain = NewGrain();
        var state = NewState(1);

        await storage.WriteStateAsync(StateName, grain, state);

        Assert.Equal(1, faults.InjectedCount);
        Assert.Equal(2, faults.SeenCount(TableRequests.Insert(Grains)));
        var raw = await RawAsync(storage, grain);
        Assert.NotNull(raw);
        Assert.Equal(raw.ETag.ToString(), state.ETag);
        state.State!.Counter = 2;
        await storage.WriteStateAsync(StateName, grain, state);
        Assert.Equal(2, await ReadCounterAsync(storage, grain));
    }

    [Fact]
    public async Task WriteState_UpdateCommittedButReplyLost_ResolvedByRereading()
    {
        var faults = new FaultInjectionPolicy();
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults);
        var grain = NewGrain();
        var state = NewState(1);
        await storage.WriteStateAsync(StateName, grain, state);
        faults.Inject(TableRequests.Update(Grains), FaultMode.SendThenReplaceReply, 503);

        state.State!.Counter = 2;
        await storage.WriteStateAsync(StateName, grain, state);

        Assert.Equal(1, faults.InjectedCount);
        Assert.Equal((await RawAsync(storage, grain))!.ETag.ToString(), state.ETag);
        Assert.Equal(2, await ReadCounterAsync(storage, grain));
    }

    [Fact]
    public async Task WriteState_ReplyLostWithoutSdkRetry_ResolvedByRereading()
    {
        var faults = new FaultInjectionPolicy();
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults, maxRetries: 0);
        var grain = NewGrain();
        var state = NewState(1);
        await storage.WriteStateAsync(StateName, grain, state);
        faults.Inject(TableRequests.Update(Grains), FaultMode.SendThenTimeout, 0);

        state.State!.Counter = 2;
        await storage.WriteStateAsync(StateName, grain, state);

        Assert.Equal(2, await ReadCounterAsync(storage, grain));
        Assert.Equal((await RawAsync(storage, grain))!.ETag.ToString(), state.ETag);
    }

    [Fact]
    public async Task WriteState_Injected412_ThrowsInconsistentStateAndKeepsStoredState()
    {
        var faults = new FaultInjectionPolicy();
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults);
        var grain = NewGrain();
        var state = NewState(1);
        await storage.WriteStateAsync(StateName, grain, state);
        var etag = state.ETag;
        faults.Inject(TableRequests.Update(Grains), FaultMode.ReplyWithoutSending, 412);

        state.State!.Counter = 2;
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grain, state));

        Assert.Equal(etag, state.ETag);
        Assert.Equal(1, await ReadCounterAsync(storage, grain));
    }

    [Fact]
    public async Task WriteState_Injected409OnInsert_ThrowsInconsistentState()
    {
        var faults = new FaultInjectionPolicy().Inject(TableRequests.Insert(Grains), FaultMode.ReplyWithoutSending, 409);
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults);
        var grain = NewGrain();

        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grain, NewState(1)));

        Assert.Null(await RawAsync(storage, grain));
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    [InlineData(500)]
    public async Task WriteState_TransientFaultsBelowRetryLimit_Succeed(int status)
    {
        var faults = new FaultInjectionPolicy().Inject(TableRequests.Insert(Grains), FaultMode.ReplyWithoutSending, status, times: 2);
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults);
        var grain = NewGrain();

        await storage.WriteStateAsync(StateName, grain, NewState(1));

        Assert.Equal(2, faults.InjectedCount);
        Assert.Equal(1, await ReadCounterAsync(storage, grain));
    }

    [Theory]
    [InlineData(429, AzureTableErrorKind.Throttled)]
    [InlineData(503, AzureTableErrorKind.Throttled)]
    [InlineData(500, AzureTableErrorKind.ServerError)]
    public async Task WriteState_PersistentFault_ThrowsTypedErrorAndWritesNothing(int status, AzureTableErrorKind kind)
    {
        var faults = new FaultInjectionPolicy();
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults);
        var grain = NewGrain();
        var state = NewState(1);
        await storage.WriteStateAsync(StateName, grain, state);
        var etag = state.ETag;
        faults.Inject(TableRequests.Update(Grains), FaultMode.ReplyWithoutSending, status, times: 100);

        state.State!.Counter = 2;
        var error = await Assert.ThrowsAsync<AzureTableStorageException>(() => storage.WriteStateAsync(StateName, grain, state));

        Assert.True(kind == error.Kind, $"expected {kind}, got {error.Kind}: {error.ErrorCode} {error.Message} {error.InnerException}");
        Assert.Equal(status, error.Status);
        Assert.True(error.IsTransient);
        Assert.Equal("WriteState", error.Operation);
        Assert.Equal(etag, state.ETag);
        Assert.Equal(1, await ReadCounterAsync(storage, grain));

        faults.Clear();
        await storage.WriteStateAsync(StateName, grain, state);
        Assert.Equal(2, await ReadCounterAsync(storage, grain));
    }

    [Fact]
    public async Task ReadState_ServiceUnavailable_ThrowsTypedErrorNotSdkException()
    {
        var faults = new FaultInjectionPolicy().Inject(TableRequests.Read(Grains), FaultMode.ReplyWithoutSending, 503, times: 100, errorCode: "ServiceUnavailable");
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults);

        var error = await Assert.ThrowsAsync<AzureTableStorageException>(() => storage.ReadStateAsync(StateName, NewGrain(), NewState(0)));

        Assert.Equal(AzureTableErrorKind.Unavailable, error.Kind);
        Assert.IsAssignableFrom<Azure.RequestFailedException>(error.InnerException);
    }

    [Fact]
    public async Task WriteState_FailedAndVerifyReadFails_ThrowsTypedErrorSayingOutcomeUnknown()
    {
        var faults = new FaultInjectionPolicy()
            .Inject(TableRequests.Insert(Grains), FaultMode.ReplyWithoutSending, 500, times: 100)
            .Inject(TableRequests.Read(Grains), FaultMode.ReplyWithoutSending, 500, times: 100);
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults, maxRetries: 1);

        var error = await Assert.ThrowsAsync<AzureTableStorageException>(() => storage.WriteStateAsync(StateName, NewGrain(), NewState(1)));

        Assert.Equal(AzureTableErrorKind.ServerError, error.Kind);
        Assert.Contains("could not be confirmed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StorageFailures_AreLoggedWithoutTheAccountKeyOrConnectionString()
    {
        using var logging = new CapturingLoggerFactory();
        var faults = new FaultInjectionPolicy().Inject(TableRequests.Insert(Grains), FaultMode.ReplyWithoutSending, 503, times: 100);
        var storage = await TestProviders.GrainStorageAsync(azurite, faults: faults, logging: logging);

        var error = await Assert.ThrowsAsync<AzureTableStorageException>(() => storage.WriteStateAsync(StateName, NewGrain(), NewState(1)));

        Assert.NotEmpty(logging.Entries);
        Assert.DoesNotContain(AzuriteProcess.AccountKey, error.ToString(), StringComparison.Ordinal);
        var logger = logging;
        Assert.DoesNotContain(logger.Entries, e => e.Contains(AzuriteProcess.AccountKey, StringComparison.Ordinal)
            || e.Contains("AccountKey", StringComparison.OrdinalIgnoreCase)
            || e.Contains(azurite.ConnectionString, StringComparison.Ordinal));
    }

    [Fact]
    public async Task MembershipUpdateRow_Injected412_ReturnsFalseAndChangesNothing()
    {
        var faults = new FaultInjectionPolicy();
        var table = await TestProviders.MembershipTableAsync(azurite, "fault-" + Guid.NewGuid().ToString("N")[..8], faults);
        var entry = MembershipTableContractTests.NewEntry();
        Assert.True(await table.InsertRow(entry, (await table.ReadAll()).Version.Next()));
        var data = await table.ReadAll();
        faults.Inject(TableRequests.Batch(), FaultMode.ReplyWithoutSending, 412);

        entry.Status = SiloStatus.Dead;
        Assert.False(await table.UpdateRow(entry, data.TryGet(entry.SiloAddress)!.Item2, data.Version.Next()));

        var after = await table.ReadAll();
        Assert.Equal(data.Version, after.Version);
        Assert.Equal(SiloStatus.Joining, after.Members.Single().Item1.Status);
    }

    [Fact]
    public async Task ReminderUpsertRow_CommittedButReplyLost_LeavesExactlyOneRow()
    {
        var faults = new FaultInjectionPolicy().Inject(TableRequests.Update(TestProviders.ReminderTable), FaultMode.SendThenReplaceReply, 500);
        var table = await TestProviders.ReminderTableAsync(azurite, faults: faults);
        var grain = GrainId.Create("fault-reminder", Guid.NewGuid().ToString("N"));

        var etag = await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "r", StartAt = DateTime.UtcNow, Period = TimeSpan.FromMinutes(1) });

        Assert.Equal(1, faults.InjectedCount);
        var row = Assert.Single((await table.ReadRows(grain)).Reminders);
        Assert.Equal(etag, row.ETag);
    }
}
