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
