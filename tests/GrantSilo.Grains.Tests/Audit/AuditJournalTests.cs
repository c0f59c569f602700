using GrantSilo.Grains.Audit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.Grains.Tests.Audit;

/// <summary>The journal: acknowledged only when durable, group commit, fail closed within the bound, recovery, nothing acknowledged lost.</summary>
public sealed class AuditJournalTests : IAsyncLifetime
{
    private static readonly TimeSpan RealTimeGuard = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(GrantSiloClusterFixture.Start);
    private readonly MemoryAuditStore _store = new();
    private readonly AuditKeys _keys = AuditKeys.Ephemeral();
    private AuditJournal _journal = null!;

    public Task InitializeAsync()
    {
        _journal = Journal(new AuditOptions { CheckpointEvery = 10 });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _journal.DisposeAsync();

    private AuditJournal Journal(AuditOptions options)
    {
        var journal = new AuditJournal(_store, _keys, options, _time, "silo-1", NullLogger<AuditJournal>.Instance);
        journal.Start();
        return journal;
    }

    private AuditRecord Decision(string id, DecisionKind kind = DecisionKind.Allow) => new()
    {
        Id = id,
        Kind = AuditEventKind.Decision,
        At = _time.GetUtcNow(),
        CredentialId = "c-" + id,
        Decision = kind,
        Reason = kind == DecisionKind.Allow ? DecisionReason.Allowed : DecisionReason.PolicyDenied,
    };

    private async Task<List<AuditRecord>> StoredAsync()
    {
        var lines = new List<AuditRecord>();
        await foreach (var line in _store.ReadAsync(_journal.Stream, 1, CancellationToken.None))
        {
            lines.Add(line.TryReadRecord()!);
        }
        return lines;
    }

    [Fact]
    public async Task Record_IsAcknowledgedOnlyOnceDurable_AndConcurrentRecordsShareOneWrite()
    {
        var release = new TaskCompletionSource();
        _store.StallUntil = release.Task;
        var first = _journal.RecordAsync(Decision("d-0"), CancellationToken.None).AsTask();
        var rest = Enumerable.Range(1, 50).Select(i => _journal.RecordAsync(Decision($"d-{i}"), CancellationToken.None).AsTask()).ToList();

        Assert.False(first.IsCompleted);
        Assert.All(rest, t => Assert.False(t.IsCompleted));
        Assert.Empty(await StoredAsync());

        _store.StallUntil = null;
        release.SetResult();
        await Task.WhenAll(rest.Append(first)).WaitAsync(RealTimeGuard);

        var stored = await StoredAsync();
        Assert.Equal(51, stored.Count(r => r.Kind == AuditEventKind.Decision));
        Assert.Equal(51, stored.Where(r => r.Kind == AuditEventKind.Decision).Select(r => r.Id).Distinct().Count());
        // The stalled first batch, then the 50 that queued behind it in one write (the memory store takes 1,000 a batch).
        Assert.True(_store.Appends <= 3, $"{_store.Appends} writes for 51 records");
    }

    [Fact]
    public async Task StoreDown_RefusesWithinTheBound_WritesTheDenyItCaused_AndRecoversByItself()
    {
        // Down before the writer could open its stream, so the record is still waiting in the queue when its caller
        // gives up: it is then written as the deny it caused. (A record the writer had already taken into a batch is
        // written as it was, followed by its withdrawal: StoreStalledMidWrite_... covers that.)
        await _journal.DisposeAsync();
        _store.FailWith = new IOException("disk gone");
        _journal = Journal(new AuditOptions { CheckpointEvery = 10 });
        var waiting = _journal.RecordAsync(Decision("d-down"), CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var refused = await Assert.ThrowsAsync<AuditUnavailableException>(() => waiting.WaitAsync(RealTimeGuard));
        Assert.Contains("1000 ms", refused.Message);

        // The store returns: the writer retries on its own (its retry delay is on the fake clock, moved here; nothing
        // waits on the wall clock) and writes the deny it caused. Only then is a new record asked for, so its own bound
        // never runs while the clock is moved.
        _store.FailWith = null;
        await Eventually.HoldsAsync(async () =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            await Task.Yield();
            return _journal.Healthy && (await StoredAsync()).Any(r => r.Id == "d-down");
        }, TimeSpan.FromSeconds(30), "the writer back, the deny it caused written");
        await _journal.RecordAsync(Decision("d-after"), CancellationToken.None).AsTask().WaitAsync(RealTimeGuard);

        var stored = await StoredAsync();
        var down = Assert.Single(stored, r => r.Id == "d-down");
        Assert.Equal(DecisionKind.Deny, down.Decision);
        Assert.Equal(DecisionReason.AuditUnavailable, down.Reason);
        Assert.Equal(DecisionKind.Allow, Assert.Single(stored, r => r.Id == "d-after").Decision);
        Assert.True(_journal.Healthy);
    }

    [Fact]
    public async Task StoreStalledMidWrite_RefusesWithinTheBound_AndRecordsTheWithdrawal()
    {
        var release = new TaskCompletionSource();
        _store.StallUntil = release.Task;
        var waiting = _journal.RecordAsync(Decision("d-stalled"), CancellationToken.None).AsTask();
        // Let the writer take it into the stalled write.
        while (_journal.Queued > 0)
        {
            await Task.Yield();
        }
        _time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<AuditUnavailableException>(() => waiting.WaitAsync(RealTimeGuard));

        _store.StallUntil = null;
        release.SetResult();
        await _journal.StopAsync(RealTimeGuard);

        var stored = await StoredAsync();
        Assert.Equal(DecisionKind.Allow, Assert.Single(stored, r => r.Id == "d-stalled").Decision);
        var withdrawn = Assert.Single(stored, r => r.Kind == AuditEventKind.DecisionWithdrawn);
        Assert.Equal("d-stalled", withdrawn.CauseId);
        Assert.Equal(DecisionReason.AuditUnavailable, withdrawn.Reason);
    }

    [Fact]
    public async Task ACallerThatStopsWaiting_IsRefusedAlone_AndItsRecordIsWrittenAsTheDenyItGot()
    {
        var release = new TaskCompletionSource();
        _store.StallUntil = release.Task;
        var first = _journal.RecordAsync(Decision("w-0"), CancellationToken.None).AsTask();
        // Let the writer take the first into the stalled write; the next two then wait in one batch.
        while (_journal.Queued > 0)
        {
            await Task.Yield();
        }
        using var stop = new CancellationTokenSource();
        var leaving = _journal.RecordAsync(Decision("w-leaves"), stop.Token).AsTask();
        var staying = _journal.RecordAsync(Decision("w-stays"), CancellationToken.None).AsTask();
        Assert.Equal(2, _journal.Queued);

        await stop.CancelAsync();
        await Assert.ThrowsAsync<AuditUnavailableException>(() => leaving.WaitAsync(RealTimeGuard));
        Assert.False(staying.IsCompleted);

        _store.StallUntil = null;
        release.SetResult();
        await Task.WhenAll(first, staying).WaitAsync(RealTimeGuard);
        await _journal.StopAsync(RealTimeGuard);
        var stored = await StoredAsync();
        Assert.Equal(DecisionKind.Allow, Assert.Single(stored, r => r.Id == "w-stays").Decision);
        var left = Assert.Single(stored, r => r.Id == "w-leaves");
        Assert.Equal(DecisionKind.Deny, left.Decision);
        Assert.Equal(DecisionReason.AuditUnavailable, left.Reason);
        Assert.DoesNotContain(stored, r => r.Kind == AuditEventKind.DecisionWithdrawn);
    }

    [Fact]
    public async Task FullQueue_PushesBack_WithinTheBound_AndTheLogSaysWhatItRefused()
    {
        await _journal.DisposeAsync();
        _journal = Journal(new AuditOptions { QueueCapacity = 2 });
        var release = new TaskCompletionSource();
        _store.StallUntil = release.Task;
        var first = _journal.RecordAsync(Decision("q-0"), CancellationToken.None).AsTask();
        while (_journal.Queued > 0)
        {
            await Task.Yield();
        }
        var queued = new[] { _journal.RecordAsync(Decision("q-1"), CancellationToken.None).AsTask(), _journal.RecordAsync(Decision("q-2"), CancellationToken.None).AsTask() };
        var pushedBack = _journal.RecordAsync(Decision("q-3"), CancellationToken.None).AsTask();
        Assert.False(pushedBack.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(1));
        var refused = await Assert.ThrowsAsync<AuditUnavailableException>(() => pushedBack.WaitAsync(RealTimeGuard));
        Assert.Contains("queue is full", refused.Message);
        foreach (var task in queued.Append(first))
        {
            await Assert.ThrowsAsync<AuditUnavailableException>(() => task.WaitAsync(RealTimeGuard));
        }
        _store.StallUntil = null;
        release.SetResult();
        await _journal.StopAsync(RealTimeGuard);
        // The pushed-back record was never queued, so never written; the others were, as the denies they became.
        var stored = await StoredAsync();
        Assert.DoesNotContain(stored, r => r.Id == "q-3");
        Assert.All(stored.Where(r => r.Id is "q-1" or "q-2"), r => Assert.Equal(DecisionReason.AuditUnavailable, r.Reason));
        // ... and the log says so: one record naming how many of which kind the queue refused, and when.
        var dropped = Assert.Single(stored, r => r.Kind == AuditEventKind.RecordsDropped);
        Assert.Contains("refused 1 record made", dropped.Detail, StringComparison.Ordinal);
        Assert.Contains("Decision 1", dropped.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogRecords_ShipsEachDurableRecordOnce_WithItsPlaceInTheChain_AndNothingBeforeItIsDurable()
    {
        var shipped = new CapturedLog { MinimumLevel = Microsoft.Extensions.Logging.LogLevel.Information };
        var logger = shipped.CreateLogger(AuditJournal.RecordsCategory);
        await _journal.DisposeAsync();
        _journal = new AuditJournal(_store, _keys, new AuditOptions(), _time, "silo-1", NullLogger<AuditJournal>.Instance, logger);
        _journal.Start();

        var release = new TaskCompletionSource();
        _store.StallUntil = release.Task;
        var waiting = _journal.RecordAsync(Decision("siem-1") with { TokenHash = "keyed-hash-never-shipped" }, CancellationToken.None).AsTask();
        Assert.DoesNotContain(shipped.Lines, l => l.Contains("siem-1", StringComparison.Ordinal));
        _store.StallUntil = null;
        release.SetResult();
        await waiting.WaitAsync(RealTimeGuard);

        var line = Assert.Single(shipped.Lines, l => l.Contains("siem-1", StringComparison.Ordinal));
        var stored = await _store.ReadAsync(_journal.Stream, 1, CancellationToken.None).FirstAsync(l => l.TryReadRecord()!.Id == "siem-1");
        Assert.Contains($"[{_journal.Stream}#{stored.Sequence} {stored.Hash}]", line, StringComparison.Ordinal);
        Assert.Contains("Allow", line, StringComparison.Ordinal);
        Assert.DoesNotContain("keyed-hash-never-shipped", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checkpoints_AreSigned_AndTheChainVerifies()
    {
        for (var i = 0; i < 25; i++)
        {
            await _journal.RecordAsync(Decision($"c-{i}"), CancellationToken.None);
        }
        await _journal.StopAsync(RealTimeGuard);

        var verification = await new AuditReader(_store, _keys).VerifyAsync(CancellationToken.None);
        Assert.True(verification.Intact, verification.Detail);
        Assert.NotNull(verification.LastCheckpoint);
        Assert.Equal(_keys.KeyId, verification.LastCheckpoint!.KeyId);
        Assert.True((await _store.ReadCheckpointsAsync(_journal.Stream, CancellationToken.None)).Count >= 2);

        // A checkpoint signed by another key does not verify.
        var stranger = new AuditReader(_store, AuditKeys.Ephemeral());
        var refused = await stranger.VerifyAsync(CancellationToken.None);
        Assert.False(refused.Intact);
        Assert.Equal(AuditBreakKind.BadSignature, refused.Broken);
    }
}
