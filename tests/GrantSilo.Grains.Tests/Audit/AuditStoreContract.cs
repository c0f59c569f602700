using GrantSilo.Grains.Audit;
using GrantSilo.Testing;

namespace GrantSilo.Grains.Tests.Audit;

/// <summary>
/// What every audit store does (the file store and Azure Tables run it): appends in order, durably and idempotently,
/// refuses a second writer's different line, reads back exactly what was written, keeps checkpoints aside, and lets
/// verification find any edit, removal or reordering.
/// </summary>
public abstract class AuditStoreContract
{
    protected static readonly AuditKeys Keys = AuditKeys.Ephemeral();

    protected abstract IAuditStore Store { get; }

    /// <summary>Replaces the stored body of a line (a tamperer with write access to the store).</summary>
    protected abstract Task EditAsync(string stream, long sequence, Func<string, string> change);

    /// <summary>Removes a stored line.</summary>
    protected abstract Task DeleteAsync(string stream, long sequence);

    /// <summary>Swaps two stored lines' places.</summary>
    protected abstract Task SwapAsync(string stream, long first, long second);

    /// <summary>Removes a stream's first <paramref name="count"/> lines (in the segment-file store: its oldest segments).</summary>
    protected virtual async Task DeleteFirstAsync(string stream, long count)
    {
        for (var sequence = 1L; sequence <= count; sequence++)
        {
            await DeleteAsync(stream, sequence);
        }
    }

    /// <summary>Every stream's lines as an export holds them (JSON lines, in stream order).</summary>
    protected async Task<List<string>> ExportAsync()
    {
        var export = new List<string>();
        foreach (var stream in await Store.ListStreamsAsync(CancellationToken.None))
        {
            export.AddRange((await ReadAllAsync(stream)).Select(l => l.ToJson()));
        }
        return export;
    }

    protected static AuditVerification VerifyExport(IEnumerable<string> export) =>
        AuditChainVerifier.VerifyExport(export, AuditChain.Import(Keys.Published), "export.jsonl");

    // Lines 1-5 (a checkpoint at 5) and 6-10 (a checkpoint at 10): both checkpoints kept aside.
    protected async Task<(string Stream, List<AuditLine> Lines)> WrittenInTwoCheckpointsAsync()
    {
        var (stream, lines) = await WrittenAsync(5);
        var more = Lines(stream, new AuditStreamTail(5, lines[^1].Hash), 5, checkpointLast: true);
        await Store.AppendAsync(stream, more, CancellationToken.None);
        return (stream, [.. lines, .. more]);
    }

    protected static string NewStream() => "s" + Guid.NewGuid().ToString("N")[..12];

    protected static List<AuditLine> Lines(string stream, AuditStreamTail tail, int count, bool checkpointLast = false)
    {
        var lines = new List<AuditLine>();
        var (sequence, hash) = (tail.Sequence, tail.Hash);
        for (var i = 0; i < count; i++)
        {
            var record = new AuditRecord { Id = Guid.NewGuid().ToString("N"), Kind = AuditEventKind.Decision, At = GrantSiloClusterFixture.Start.AddSeconds(sequence), CredentialId = $"c{sequence + 1}", Decision = DecisionKind.Allow };
            var line = checkpointLast && i == count - 1
                ? AuditChain.SealCheckpoint(stream, ++sequence, hash, record with { Kind = AuditEventKind.Checkpoint }, Keys.SigningKey, Keys.KeyId)
                : AuditChain.Seal(stream, ++sequence, hash, record);
            lines.Add(line);
            hash = line.Hash;
        }
        return lines;
    }

    protected async Task<List<AuditLine>> ReadAllAsync(string stream)
    {
        var lines = new List<AuditLine>();
        await foreach (var line in Store.ReadAsync(stream, 1, CancellationToken.None))
        {
            lines.Add(line);
        }
        return lines;
    }

    protected async Task<(string Stream, List<AuditLine> Lines)> WrittenAsync(int count = 10)
    {
        var stream = NewStream();
        var tail = await Store.OpenAsync(stream, CancellationToken.None);
        var lines = Lines(stream, tail, count, checkpointLast: true);
        await Store.AppendAsync(stream, lines, CancellationToken.None);
        return (stream, lines);
    }

    protected Task<AuditVerification> VerifyAsync() => new AuditReader(Store, Keys).VerifyAsync(CancellationToken.None);

    /// <summary>Makes the store keep few lines per unit of storage (the segment-file store: small segments), before anything is written.</summary>
    protected virtual Task UseSmallSegmentsAsync() => Task.CompletedTask;

    // Records appended to a stream in batches of ten (so that segment files roll between them).
    protected async Task<List<AuditLine>> AppendRecordsAsync(string stream, IEnumerable<AuditRecord> records)
    {
        var tail = await Store.OpenAsync(stream, CancellationToken.None);
        var (sequence, hash) = (tail.Sequence, tail.Hash);
        var written = new List<AuditLine>();
        foreach (var batch in records.Chunk(10))
        {
            var lines = new List<AuditLine>();
            foreach (var record in batch)
            {
                var line = AuditChain.Seal(stream, ++sequence, hash, record);
                lines.Add(line);
                hash = line.Hash;
            }
            await Store.AppendAsync(stream, lines, CancellationToken.None);
            written.AddRange(lines);
        }
        return written;
    }

    protected static AuditRecord Record(string agent, DateTimeOffset at, AuditEventKind kind = AuditEventKind.Decision) =>
        new() { Id = Guid.NewGuid().ToString("N"), Kind = kind, At = at, Agent = agent, CredentialId = "c-" + agent, Decision = kind == AuditEventKind.Decision ? DecisionKind.Allow : null };

    // Every page of a query, in order, and the tokens they ended with.
    protected async Task<(List<AuditEntry> Items, List<string?> Tokens)> AllPagesAsync(AuditQuery query, Func<Task>? afterFirstPage = null)
    {
        var reader = new AuditReader(Store, Keys);
        var items = new List<AuditEntry>();
        var tokens = new List<string?>();
        string? next = null;
        do
        {
            var page = await reader.QueryAsync(query with { ContinuationToken = next }, CancellationToken.None);
            Assert.True(page.IsSuccess, page.Error?.Message);
            items.AddRange(page.Value.Items);
            next = page.Value.ContinuationToken;
            tokens.Add(next);
            if (tokens.Count == 1 && afterFirstPage is not null)
            {
                await afterFirstPage();
            }
            Assert.True(tokens.Count < 1000, "The query never ended.");
            // Oldest first, the last page carries a token too (where to follow from): a short page is the last.
            if (query.Order == AuditOrder.OldestFirst && page.Value.Items.Count < (query.PageSize ?? Page.DefaultSize))
            {
                break;
            }
        }
        while (next is not null);
        return (items, tokens);
    }

    [Fact]
    public async Task ReadBackward_GivesAStreamsLinesNewestFirst_FromAnyPlace_AndNeverPastItsEnd()
    {
        await UseSmallSegmentsAsync();
        var stream = NewStream();
        var lines = await AppendRecordsAsync(stream, Enumerable.Range(0, 250).Select(i => Record("a", GrantSiloClusterFixture.Start.AddSeconds(i))));
        Assert.Equal(Enumerable.Reverse(lines), await Store.ReadBackwardAsync(stream, long.MaxValue, CancellationToken.None).ToListAsync());
        Assert.Equal(Enumerable.Reverse(lines.Take(157)), await Store.ReadBackwardAsync(stream, 157, CancellationToken.None).ToListAsync());
        Assert.Equal(Enumerable.Reverse(lines.Take(100)), await Store.ReadBackwardAsync(stream, 100, CancellationToken.None).ToListAsync());
        Assert.Equal([lines[0]], await Store.ReadBackwardAsync(stream, 1, CancellationToken.None).ToListAsync());
        // A place far past the end (a token someone made up) reads from the end, at no more cost.
        Assert.Equal(Enumerable.Reverse(lines), await Store.ReadBackwardAsync(stream, 1_000_000_000_000_000, CancellationToken.None).ToListAsync());
        Assert.Empty(await Store.ReadBackwardAsync(NewStream(), long.MaxValue, CancellationToken.None).ToListAsync());
    }

    [Fact]
    public async Task QueryNewestFirst_GivesEveryRecordOnce_LatestFirst_PagedAcrossSegmentsAndStreams()
    {
        await UseSmallSegmentsAsync();
        var start = GrantSiloClusterFixture.Start;
        // Two streams whose records interleave in time: the later-named stream holds the odd seconds, and one tie.
        var (first, second) = ("a" + NewStream(), "b" + NewStream());
        var a = await AppendRecordsAsync(first, Enumerable.Range(0, 250).Select(i => Record("agent", start.AddSeconds(2 * i))));
        var b = await AppendRecordsAsync(second, Enumerable.Range(0, 130).Select(i => Record("agent", start.AddSeconds(i == 129 ? 2 * 249 : 2 * i + 1))));
        var expected = a.Concat(b).Select(l => l.ToEntry()!)
            .OrderByDescending(e => e.Record.At).ThenByDescending(e => e.Stream, StringComparer.Ordinal).Select(e => e.Record.Id).ToList();

        // Records written after the first page are newer than it: the pages that follow never show them.
        var (items, tokens) = await AllPagesAsync(new AuditQuery { Order = AuditOrder.NewestFirst, PageSize = 37 },
            () => AppendRecordsAsync(first, [Record("agent", start.AddDays(1))]));

        Assert.Equal(expected, items.Select(e => e.Record.Id));
        Assert.Equal(second, items[0].Stream);
        Assert.Equal((first, 1L), (items[^1].Stream, items[^1].Sequence));
        Assert.Null(tokens[^1]);
        Assert.All(tokens.SkipLast(1), t => Assert.NotNull(t));
        Assert.Equal((380 + 36) / 37, tokens.Count);
    }

    [Fact]
    public async Task QueryNewestFirst_AppliesFiltersAndATimeWindow_AsOldestFirstDoes_InReverse()
    {
        await UseSmallSegmentsAsync();
        var start = GrantSiloClusterFixture.Start;
        var (first, second) = (NewStream(), NewStream());
        await AppendRecordsAsync(first, Enumerable.Range(0, 120).Select(i => Record(i % 3 == 0 ? "wanted" : "other", start.AddSeconds(2 * i), i % 2 == 0 ? AuditEventKind.Decision : AuditEventKind.CredentialRevoked)));
        await AppendRecordsAsync(second, Enumerable.Range(0, 120).Select(i => Record(i % 4 == 0 ? "wanted" : "other", start.AddSeconds(2 * i + 1), i % 2 == 0 ? AuditEventKind.CredentialRevoked : AuditEventKind.Decision)));
        var query = new AuditQuery { Agent = "wanted", Kind = AuditEventKind.CredentialRevoked, From = start.AddSeconds(20), To = start.AddSeconds(201), PageSize = 4 };

        var (oldest, _) = await AllPagesAsync(query);
        var (newest, _) = await AllPagesAsync(query with { Order = AuditOrder.NewestFirst });

        var expected = oldest.OrderByDescending(e => e.Record.At).Select(e => e.Record.Id).ToList();
        Assert.True(expected.Count > 10, $"only {expected.Count} records match");
        Assert.Equal(expected, newest.Select(e => e.Record.Id));
        Assert.All(newest, e => Assert.True(e.Record is { Agent: "wanted", Kind: AuditEventKind.CredentialRevoked } && e.Record.At >= start.AddSeconds(20) && e.Record.At < start.AddSeconds(201)));
    }

    [Fact]
    public async Task QueryNewestFirst_MatchingNothing_IsOneEmptyPage_WithNothingToFollow()
    {
        var reader = new AuditReader(Store, Keys);
        var empty = await reader.QueryAsync(new AuditQuery { Order = AuditOrder.NewestFirst }, CancellationToken.None);
        Assert.True(empty.IsSuccess);
        Assert.Empty(empty.Value.Items);
        Assert.Null(empty.Value.ContinuationToken);

        await AppendRecordsAsync(NewStream(), Enumerable.Range(0, 30).Select(i => Record("someone", GrantSiloClusterFixture.Start.AddSeconds(i))));
        var none = await reader.QueryAsync(new AuditQuery { Order = AuditOrder.NewestFirst, Agent = "no-one" }, CancellationToken.None);
        Assert.True(none.IsSuccess);
        Assert.Empty(none.Value.Items);
        Assert.Null(none.Value.ContinuationToken);
    }

    [Fact]
    public async Task QueryNewestFirst_RefusesABadToken_AndEachOrderRefusesTheOthersToken()
    {
        await AppendRecordsAsync(NewStream(), Enumerable.Range(0, 30).Select(i => Record("someone", GrantSiloClusterFixture.Start.AddSeconds(i))));
        var reader = new AuditReader(Store, Keys);
        var newest = await reader.QueryAsync(new AuditQuery { Order = AuditOrder.NewestFirst, PageSize = 10 }, CancellationToken.None);
        var oldest = await reader.QueryAsync(new AuditQuery { PageSize = 10 }, CancellationToken.None);
        Assert.NotNull(newest.Value.ContinuationToken);
        Assert.NotNull(oldest.Value.ContinuationToken);
        Assert.True((await reader.QueryAsync(new AuditQuery { Order = AuditOrder.NewestFirst, ContinuationToken = newest.Value.ContinuationToken }, CancellationToken.None)).IsSuccess);

        var bad = new[]
        {
            new AuditQuery { Order = AuditOrder.NewestFirst, ContinuationToken = oldest.Value.ContinuationToken },
            new AuditQuery { ContinuationToken = newest.Value.ContinuationToken },
            new AuditQuery { Order = AuditOrder.NewestFirst, ContinuationToken = "not a token" },
            new AuditQuery { Order = AuditOrder.NewestFirst, ContinuationToken = Convert.ToBase64String("n1|../etc=5"u8.ToArray()) },
            new AuditQuery { Order = AuditOrder.NewestFirst, ContinuationToken = Convert.ToBase64String("n1|s1=0"u8.ToArray()) },
            new AuditQuery { Order = AuditOrder.NewestFirst, ContinuationToken = Convert.ToBase64String("n1|s1=4|s1=5"u8.ToArray()) },
            new AuditQuery { Order = (AuditOrder)7 },
        };
        foreach (var query in bad)
        {
            var refused = await reader.QueryAsync(query, CancellationToken.None);
            Assert.False(refused.IsSuccess, query.ContinuationToken);
            Assert.Equal(GrantErrorCode.InvalidArgument, refused.Error!.Code);
            Assert.Equal(query.Order == (AuditOrder)7 ? "order" : "continuationToken", refused.Error.Target);
        }
    }

    [Fact]
    public async Task Append_ThenRead_GivesBackExactlyWhatWasWritten_InOrder()
    {
        var (stream, lines) = await WrittenAsync(12);
        Assert.Equal(lines, await ReadAllAsync(stream));
        var tail = await Store.OpenAsync(stream, CancellationToken.None);
        Assert.Equal((12L, lines[^1].Hash), (tail.Sequence, tail.Hash));
        Assert.Contains(stream, await Store.ListStreamsAsync(CancellationToken.None));
        Assert.Equal([lines[^1]], await Store.ReadCheckpointsAsync(stream, CancellationToken.None));
        Assert.Equal(lines.Skip(5), await Store.ReadAsync(stream, 6, CancellationToken.None).ToListAsync());
    }

    [Fact]
    public async Task Append_RetriedAfterAnUnknownOutcome_LeavesNoDuplicates()
    {
        var (stream, lines) = await WrittenAsync(5);
        await Store.AppendAsync(stream, lines, CancellationToken.None);
        var more = Lines(stream, new AuditStreamTail(5, lines[^1].Hash), 3);
        await Store.AppendAsync(stream, [.. lines.Skip(3), .. more], CancellationToken.None);
        var stored = await ReadAllAsync(stream);
        Assert.Equal(8, stored.Count);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), stored.Select(l => l.Sequence));
    }

    [Fact]
    public async Task Append_RefusesALineThatDoesNotFollowTheStream()
    {
        var (stream, lines) = await WrittenAsync(3);
        var other = Lines(stream, new AuditStreamTail(2, lines[1].Hash), 1);
        var conflict = await Assert.ThrowsAsync<AuditStoreException>(() => Store.AppendAsync(stream, other, CancellationToken.None));
        Assert.True(conflict.Conflict);
        var gap = Lines(stream, new AuditStreamTail(5, "x"), 1);
        Assert.True((await Assert.ThrowsAsync<AuditStoreException>(() => Store.AppendAsync(stream, gap, CancellationToken.None))).Conflict);
        Assert.Equal(lines, await ReadAllAsync(stream));
    }

    [Fact]
    public async Task Verify_AnUntouchedLog_IsIntact_WithItsLastCheckpoint()
    {
        var (stream, lines) = await WrittenAsync();
        var verification = await VerifyAsync();
        Assert.True(verification.Intact, verification.Detail);
        Assert.True(verification.RecordsChecked >= lines.Count);
        Assert.NotNull(verification.LastCheckpoint);
    }

    [Fact]
    public async Task Verify_FindsAnEditedRecord()
    {
        var (stream, _) = await WrittenAsync();
        await EditAsync(stream, 4, body => body.Replace("\"allow\"", "\"deny\"", StringComparison.OrdinalIgnoreCase));
        var verification = await VerifyAsync();
        Assert.False(verification.Intact);
        Assert.Equal(AuditBreakKind.HashMismatch, verification.Broken);
        Assert.Equal((stream, 4L), (verification.BrokenStream, verification.BrokenSequence));
    }

    [Fact]
    public async Task Verify_FindsADeletedRecord()
    {
        var (stream, _) = await WrittenAsync();
        await DeleteAsync(stream, 5);
        var verification = await VerifyAsync();
        Assert.False(verification.Intact);
        Assert.Equal(AuditBreakKind.SequenceGap, verification.Broken);
        Assert.Equal((stream, 6L), (verification.BrokenStream, verification.BrokenSequence));
    }

    [Fact]
    public async Task Verify_FindsReorderedRecords()
    {
        var (stream, _) = await WrittenAsync();
        await SwapAsync(stream, 3, 4);
        var verification = await VerifyAsync();
        Assert.False(verification.Intact);
        Assert.Contains(verification.Broken, new[] { AuditBreakKind.SequenceGap, AuditBreakKind.BrokenLink });
        Assert.Equal(stream, verification.BrokenStream);
    }

    [Fact]
    public async Task Verify_FindsRecordsRemovedUpToASignedCheckpoint()
    {
        var (stream, lines) = await WrittenAsync(6);
        await DeleteAsync(stream, 6);
        var verification = await VerifyAsync();
        Assert.False(verification.Intact);
        Assert.Equal(AuditBreakKind.CheckpointMissing, verification.Broken);
        Assert.Equal(6L, verification.BrokenSequence);
    }

    [Fact]
    public async Task Verify_FindsTheFirstRecordsRemoved_WithTheCheckpointsAmongThem_NamingTheStream()
    {
        var (stream, _) = await WrittenInTwoCheckpointsAsync();
        // Records 1-6 gone, the checkpoint at 5 with them; the checkpoint at 10 still chains to what is left.
        await DeleteFirstAsync(stream, 6);
        var verification = await VerifyAsync();
        Assert.False(verification.Intact);
        Assert.Equal(AuditBreakKind.StartRemoved, verification.Broken);
        Assert.Equal((stream, 7L), (verification.BrokenStream, verification.BrokenSequence));
        Assert.Contains(stream, verification.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_FindsTheFirstRecordRemoved_EvenWithNoCheckpointAmongTheRemoved()
    {
        var (stream, _) = await WrittenAsync(10);
        await DeleteFirstAsync(stream, 1);
        var verification = await VerifyAsync();
        Assert.Equal(AuditBreakKind.StartRemoved, verification.Broken);
        Assert.Equal((stream, 2L), (verification.BrokenStream, verification.BrokenSequence));
    }

    [Fact]
    public async Task Verify_ReportsAForgedStreamWithSelfComputedHashesAndNoCheckpoint_AsUnsigned_NamingIt()
    {
        await WrittenAsync();
        // Written through the store as any writer would (a store lists the streams it opened), but by no silo.
        var forged = NewStream();
        var lines = Lines(forged, await Store.OpenAsync(forged, CancellationToken.None), 6);
        await Store.AppendAsync(forged, lines, CancellationToken.None);
        var verification = await VerifyAsync();
        Assert.False(verification.Intact);
        Assert.Equal(AuditBreakKind.UnsignedStream, verification.Broken);
        Assert.Equal(forged, verification.BrokenStream);
        Assert.Contains(forged, verification.Detail, StringComparison.Ordinal);
        Assert.Equal(AuditBreakKind.UnsignedStream, VerifyExport(await ExportAsync()).Broken);
    }

    [Fact]
    public async Task Verify_FindsAGenuineStreamCopiedUnderAnotherName_OnlineAndInAnExport()
    {
        var (stream, lines) = await WrittenInTwoCheckpointsAsync();
        Assert.True((await VerifyAsync()).Intact);
        // Copied whole through the store as any writer could (its checkpoints kept aside with it): the hashes still
        // chain, but no checkpoint was signed for this stream.
        var copy = NewStream();
        await Store.OpenAsync(copy, CancellationToken.None);
        await Store.AppendAsync(copy, [.. lines.Select(l => l with { Stream = copy })], CancellationToken.None);
        Assert.Equal(2, (await Store.ReadCheckpointsAsync(copy, CancellationToken.None)).Count);

        var verification = await VerifyAsync();
        Assert.False(verification.Intact);
        Assert.Equal(AuditBreakKind.BadSignature, verification.Broken);
        Assert.Equal((copy, 5L), (verification.BrokenStream, verification.BrokenSequence));
        Assert.Contains(copy, verification.Detail, StringComparison.Ordinal);
        var offline = VerifyExport(await ExportAsync());
        Assert.Equal((AuditBreakKind.BadSignature, copy, 5L), (offline.Broken, offline.BrokenStream, offline.BrokenSequence));
        Assert.Contains(stream, await Store.ListStreamsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task KeptCheckpoints_ReadBack_SignedForTheirStreamAndPlace_AndVerify()
    {
        var (stream, lines) = await WrittenInTwoCheckpointsAsync();
        var kept = await Store.ReadCheckpointsAsync(stream, CancellationToken.None);
        Assert.Equal([lines[4], lines[9]], kept.OrderBy(c => c.Sequence));
        Assert.All(kept, c => Assert.True(AuditChain.VerifyCheckpoint(c, Keys.SigningKey)));
        Assert.All(kept, c => Assert.False(AuditChain.VerifyCheckpoint(c with { Stream = NewStream() }, Keys.SigningKey)));
        var verification = await VerifyAsync();
        Assert.True(verification.Intact, verification.Detail);
        var reported = Assert.Single(verification.PerStream, s => s.Stream == stream);
        Assert.Equal(10L, reported.LastCheckpoint?.Sequence);
    }

    [Fact]
    public async Task Verify_ReportsPerStream_ItsLastCheckpoint_AndTheRecordsAfterItUnsigned()
    {
        var (stream, lines) = await WrittenAsync(10);
        await Store.AppendAsync(stream, Lines(stream, new AuditStreamTail(10, lines[^1].Hash), 3), CancellationToken.None);
        var verification = await VerifyAsync();
        Assert.True(verification.Intact, verification.Detail);
        var reported = Assert.Single(verification.PerStream, s => s.Stream == stream);
        Assert.Equal((1L, 13L, 10L, 3L), (reported.FirstSequence, reported.LastSequence, reported.LastCheckpoint?.Sequence ?? 0, reported.Unsigned));
        Assert.Null(reported.RetentionCut);
    }

    [Fact]
    public async Task Verify_RefusesARetentionCutNotSignedByAPublishedKey()
    {
        var (stream, lines) = await WrittenInTwoCheckpointsAsync();
        await DeleteFirstAsync(stream, 6);
        // A cut that would vouch for the new start, signed with a key of the tamperer's own.
        using var own = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var cut = AuditChain.SealRetentionCut(stream, 6, lines[5].Hash, new AuditRecord { Id = "cut", Kind = AuditEventKind.RetentionCut, At = GrantSiloClusterFixture.Start }, own, AuditChain.KeyId(own));
        var export = await ExportAsync();
        export.Insert(export.FindIndex(l => l.Contains($"\"stream\":\"{stream}\"", StringComparison.Ordinal)), cut.ToJson());
        var verification = VerifyExport(export);
        Assert.Equal(AuditBreakKind.BadSignature, verification.Broken);
        Assert.Equal((stream, 7L), (verification.BrokenStream, verification.BrokenSequence));
    }

    [Fact]
    public async Task VerifyOffline_AnExportWithItsFirstLinesRemoved_FindsTheSameBreak()
    {
        var (stream, _) = await WrittenInTwoCheckpointsAsync();
        var export = await ExportAsync();
        Assert.True(VerifyExport(export).Intact);
        var cut = export.Where(l => !(l.Contains($"\"stream\":\"{stream}\"", StringComparison.Ordinal) && AuditLine.TryParse(System.Text.Encoding.UTF8.GetBytes(l))!.Sequence <= 6)).ToList();
        var verification = VerifyExport(cut);
        Assert.False(verification.Intact);
        Assert.Equal(AuditBreakKind.StartRemoved, verification.Broken);
        Assert.Equal((stream, 7L), (verification.BrokenStream, verification.BrokenSequence));
    }
}

public sealed class MemoryAuditStoreContractTests : AuditStoreContract
{
    private readonly MemoryAuditStore _store = new();

    protected override IAuditStore Store => _store;

    protected override Task EditAsync(string stream, long sequence, Func<string, string> change)
    {
        _store.Tamper(stream, lines => [.. lines.Select(l => l.Sequence == sequence ? l with { Body = change(l.Body) } : l)]);
        return Task.CompletedTask;
    }

    protected override Task DeleteAsync(string stream, long sequence)
    {
        _store.Tamper(stream, lines => [.. lines.Where(l => l.Sequence != sequence)]);
        return Task.CompletedTask;
    }

    protected override Task SwapAsync(string stream, long first, long second)
    {
        _store.Tamper(stream, lines =>
        {
            var a = lines.FindIndex(l => l.Sequence == first);
            var b = lines.FindIndex(l => l.Sequence == second);
            (lines[a], lines[b]) = (lines[b], lines[a]);
            return lines;
        });
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AFullStore_DropsItsOldestLinesWithASignedCut_AndStillVerifies()
    {
        var full = new MemoryAuditStore(capacity: 20, Keys);
        var stream = NewStream();
        var tail = new AuditStreamTail(0, "");
        for (var batch = 0; batch < 10; batch++)
        {
            var lines = Lines(stream, tail, 5, checkpointLast: true);
            await full.AppendAsync(stream, lines, CancellationToken.None);
            tail = new AuditStreamTail(lines[^1].Sequence, lines[^1].Hash);
        }
        var held = await full.ReadAsync(stream, 1, CancellationToken.None).ToListAsync();
        Assert.True(AuditChain.IsRetentionCut(held[0]));
        Assert.True(held[1].Sequence > 1);
        var verification = await new AuditReader(full, Keys).VerifyAsync(CancellationToken.None);
        Assert.True(verification.Intact, verification.Detail);

        // Without keys to sign the cut, the shortened stream does not verify.
        var unsigned = new MemoryAuditStore(capacity: 20);
        await unsigned.AppendAsync(stream, Lines(stream, new AuditStreamTail(0, ""), 30, checkpointLast: true), CancellationToken.None);
        Assert.Equal(AuditBreakKind.StartRemoved, (await new AuditReader(unsigned, Keys).VerifyAsync(CancellationToken.None)).Broken);
    }
}
