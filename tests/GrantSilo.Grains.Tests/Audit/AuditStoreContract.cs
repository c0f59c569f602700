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

    private Task<AuditVerification> VerifyAsync() => new AuditReader(Store, Keys).VerifyAsync(CancellationToken.None);

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
}
