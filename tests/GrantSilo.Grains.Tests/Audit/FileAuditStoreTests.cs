using System.Text;
using GrantSilo.Grains.Audit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.Grains.Tests.Audit;

/// <summary>The embedded default store: the contract, plus what only files can suffer (a truncated segment, a torn write, rolling, retention).</summary>
public sealed class FileAuditStoreTests : AuditStoreContract, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "grantsilo-audit-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(GrantSiloClusterFixture.Start);
    private FileAuditStore _store;

    public FileAuditStoreTests() => _store = NewStore();

    protected override IAuditStore Store => _store;

    private FileAuditStore NewStore(long segmentBytes = 1 << 20, TimeSpan? retention = null) =>
        new(Options.Create(new FileAuditStoreOptions { Directory = _directory, SegmentBytes = segmentBytes, Retention = retention }), _time, NullLogger<FileAuditStore>.Instance, Keys);

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    protected override Task UseSmallSegmentsAsync()
    {
        _store.Dispose();
        _store = NewStore(segmentBytes: 4096);
        return Task.CompletedTask;
    }

    private string[] Segments(string stream) => [.. Directory.GetFiles(Path.Combine(_directory, stream), "*.log").Where(p => long.TryParse(Path.GetFileNameWithoutExtension(p), out _)).Order(StringComparer.Ordinal)];

    // The first `count` lines removed at once (the store closed first), as deleting the oldest segments would.
    protected override Task DeleteFirstAsync(string stream, long count) =>
        RewriteAsync(stream, lines => [.. lines.Where(l => AuditLine.TryParse(Encoding.UTF8.GetBytes(l))!.Sequence > count)]);

    /// <summary>
    /// The segment directory is the audit keys' directory by default, which must be writable by its owner alone
    /// (<see cref="AuditKeys"/> refuses one a group may write): the store makes it owner-only, whatever the umask.
    /// </summary>
    [Fact]
    public async Task TheSegmentDirectory_TheStoreMakes_IsOwnerOnly()
    {
        Assert.False(Directory.Exists(_directory));
        var stream = NewStream();
        await AppendAsync(stream, await _store.OpenAsync(stream, CancellationToken.None), 1);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_directory));
        }
    }

    // 100 lines in segments of 4 KiB, a checkpoint every 25: the store left open with retention of a day.
    private async Task<(string Stream, AuditStreamTail Tail)> RolledAsync()
    {
        _store.Dispose();
        _store = NewStore(segmentBytes: 4096, retention: TimeSpan.FromDays(1));
        var stream = NewStream();
        var tail = await _store.OpenAsync(stream, CancellationToken.None);
        for (var batch = 0; batch < 20; batch++)
        {
            tail = await AppendAsync(stream, tail, 5, checkpointLast: batch % 5 == 4);
        }
        return (stream, tail);
    }

    private async Task<AuditStreamTail> AppendAsync(string stream, AuditStreamTail tail, int count, bool checkpointLast = false)
    {
        var lines = Lines(stream, tail, count, checkpointLast);
        await _store.AppendAsync(stream, lines, CancellationToken.None);
        return new AuditStreamTail(lines[^1].Sequence, lines[^1].Hash);
    }

    // Two days on, every segment so far is past retention; the next rolls delete the closed ones.
    private async Task<AuditStreamTail> PastRetentionAsync(string stream, AuditStreamTail tail)
    {
        foreach (var old in Segments(stream))
        {
            File.SetLastWriteTimeUtc(old, _time.GetUtcNow().UtcDateTime);
        }
        _time.Advance(TimeSpan.FromDays(2));
        for (var batch = 0; batch < 10; batch++)
        {
            tail = await AppendAsync(stream, tail, 5);
        }
        return tail;
    }

    // Rewrites the segments' lines (the store is closed first, as a tamperer with the disk would find it).
    private Task RewriteAsync(string stream, Func<List<string>, List<string>> change)
    {
        _store.Dispose();
        foreach (var segment in Segments(stream))
        {
            var lines = File.ReadAllLines(segment).ToList();
            File.WriteAllText(segment, string.Concat(change(lines).Select(l => l + "\n")));
        }
        _store = NewStore();
        return Task.CompletedTask;
    }

    protected override Task EditAsync(string stream, long sequence, Func<string, string> change) =>
        RewriteAsync(stream, lines => [.. lines.Select(l => AuditLine.TryParse(Encoding.UTF8.GetBytes(l)) is { } line && line.Sequence == sequence ? (line with { Body = change(line.Body) }).ToJson() : l)]);

    protected override Task DeleteAsync(string stream, long sequence) =>
        RewriteAsync(stream, lines => [.. lines.Where(l => AuditLine.TryParse(Encoding.UTF8.GetBytes(l))!.Sequence != sequence)]);

    protected override Task SwapAsync(string stream, long first, long second) =>
        RewriteAsync(stream, lines =>
        {
            var a = lines.FindIndex(l => AuditLine.TryParse(Encoding.UTF8.GetBytes(l))!.Sequence == first);
            var b = lines.FindIndex(l => AuditLine.TryParse(Encoding.UTF8.GetBytes(l))!.Sequence == second);
            (lines[a], lines[b]) = (lines[b], lines[a]);
            return lines;
        });

    [Fact]
    public async Task QueryNewestFirst_ReadsOnlyTheNewestSegments_NeverTheOldOnes()
    {
        await UseSmallSegmentsAsync();
        var stream = NewStream();
        var written = await AppendRecordsAsync(stream, Enumerable.Range(0, 200).Select(i => Record("a", GrantSiloClusterFixture.Start.AddSeconds(i))));
        var segments = Segments(stream);
        Assert.True(segments.Length >= 5, $"{segments.Length} segments");
        // The oldest segment now ends in a partial record: any read of it fails.
        await File.AppendAllTextAsync(segments[0], "{\"torn\":");
        var reader = new AuditReader(Store, Keys);

        var newest = await reader.QueryAsync(new AuditQuery { Order = AuditOrder.NewestFirst, PageSize = 20 }, CancellationToken.None);

        Assert.True(newest.IsSuccess);
        Assert.Equal(written.TakeLast(20).Reverse().Select(l => l.Sequence), newest.Value.Items.Select(e => e.Sequence));
        // Oldest first, a page that reaches the end of the oldest segment fails on it.
        var oldest = await Assert.ThrowsAsync<AuditStoreException>(() => reader.QueryAsync(new AuditQuery { PageSize = 1000 }, CancellationToken.None));
        Assert.True(oldest.Unreadable);
    }

    [Fact]
    public async Task ASecondWriterOnTheSameDirectory_IsRefused_NeverInterleaved()
    {
        var (stream, lines) = await WrittenAsync(2);
        using var second = NewStore();
        var refused = await Assert.ThrowsAsync<AuditStoreException>(() => second.OpenAsync(stream, CancellationToken.None));
        Assert.Contains("Another process", refused.Message, StringComparison.Ordinal);
        Assert.Equal(lines, await ReadAllAsync(stream));
    }

    [Fact]
    public async Task Lines_EscapeTheBodyMinimally_AndLinesEscapedTheOldWay_StillReadAndVerify()
    {
        var (stream, lines) = await WrittenAsync(3);
        var stored = File.ReadAllText(Segments(stream)[0]);
        // The body is a JSON text inside the line: its quotes are written \" (two bytes), never \u0022 (six).
        Assert.DoesNotContain("\\u0022", stored, StringComparison.Ordinal);
        Assert.Contains("\\\"kind\\\":", stored, StringComparison.Ordinal);

        // Segments written before (every quote and '+' of the body escaped as \uXXXX) read and verify the same.
        await RewriteAsync(stream, old => [.. old.Select(l => System.Text.Json.JsonSerializer.Serialize(AuditLine.TryParse(Encoding.UTF8.GetBytes(l)), AuditJson.Default.AuditLine))]);
        Assert.Contains("\\u0022", File.ReadAllText(Segments(stream)[0]), StringComparison.Ordinal);
        Assert.Equal(lines, await ReadAllAsync(stream));
        var verification = await new AuditReader(_store, Keys).VerifyAsync(CancellationToken.None);
        Assert.True(verification.Intact, verification.Detail);
    }

    [Fact]
    public async Task Verify_FindsATruncatedSegment()
    {
        var (stream, _) = await WrittenAsync();
        _store.Dispose();
        var segment = Segments(stream)[0];
        var bytes = File.ReadAllBytes(segment);
        File.WriteAllBytes(segment, bytes[..(bytes.Length / 2)]);
        _store = NewStore();

        var verification = await new AuditReader(_store, Keys).VerifyAsync(CancellationToken.None);
        Assert.False(verification.Intact);
        Assert.Equal(AuditBreakKind.Truncated, verification.Broken);
        Assert.Equal(stream, verification.BrokenStream);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4096)]
    public async Task Open_RemovesATornWrite_AndSaysSo_KeepingEveryWholeRecord(int zeroedAfter)
    {
        var (stream, lines) = await WrittenAsync(4);
        _store.Dispose();
        // A crash in the middle of the next batch's write: half a line, never acknowledged (and the space zeroed ahead of it).
        var torn = Lines(stream, new AuditStreamTail(4, lines[^1].Hash), 1)[0].ToJson();
        File.AppendAllText(Segments(stream)[^1], torn[..(torn.Length / 2)]);
        File.AppendAllBytes(Segments(stream)[^1], new byte[zeroedAfter]);
        _store = NewStore();

        var tail = await _store.OpenAsync(stream, CancellationToken.None);
        Assert.Equal((4L, lines[^1].Hash), (tail.Sequence, tail.Hash));
        Assert.Contains($"{System.Text.Encoding.UTF8.GetByteCount(torn[..(torn.Length / 2)])} bytes", tail.Repaired, StringComparison.Ordinal);
        Assert.Equal(lines, await ReadAllAsync(stream));
        var next = Lines(stream, tail, 2);
        await _store.AppendAsync(stream, next, CancellationToken.None);
        Assert.Equal([.. lines, .. next], await ReadAllAsync(stream));
    }

    [Fact]
    public async Task Batches_AreWrittenIntoSpaceZeroedAhead_WhichIsNeverARecord_AndAClosedSegmentEndsAtItsLastRecord()
    {
        var (stream, lines) = await WrittenAsync(4);
        var segment = Segments(stream)[^1];
        // Open: the file is longer than its records (zeroed ahead, so each batch's flush changes neither size nor blocks).
        var records = lines.Sum(l => Encoding.UTF8.GetByteCount(l.ToJson()) + 1);
        Assert.True(new FileInfo(segment).Length > records);
        Assert.Equal(lines, await ReadAllAsync(stream));

        // Closed: exactly its records.
        _store.Dispose();
        Assert.Equal(records, new FileInfo(segment).Length);

        // A stop that never closed it (a crash) leaves the zeroed space: reads stop at it, and reopening cuts it off,
        // with nothing reported as repaired (it held no write).
        File.AppendAllBytes(segment, new byte[100_000]);
        _store = NewStore();
        Assert.Equal(lines, await ReadAllAsync(stream));
        var tail = await _store.OpenAsync(stream, CancellationToken.None);
        Assert.Equal((4L, lines[^1].Hash), (tail.Sequence, tail.Hash));
        Assert.Null(tail.Repaired);
        var next = Lines(stream, tail, 3);
        await _store.AppendAsync(stream, next, CancellationToken.None);
        Assert.Equal([.. lines, .. next], await ReadAllAsync(stream));
    }

    [Fact]
    public async Task Segments_RollBySize_AndRetentionDeletesOnlyOldClosedSegments_TheChainKeptStillVerifies()
    {
        var (stream, tail) = await RolledAsync();
        var segments = Segments(stream);
        Assert.True(segments.Length > 3, $"{segments.Length} segments");
        Assert.Equal(100, (await ReadAllAsync(stream)).Count);

        await PastRetentionAsync(stream, tail);
        var kept = await ReadAllAsync(stream);
        // The stream now begins with retention's signed cut, which the first record kept links to.
        Assert.True(AuditChain.IsRetentionCut(kept[0]), kept[0].ToJson());
        Assert.True(kept[1].Sequence > 1);
        Assert.Equal((kept[1].Sequence - 1, kept[1].PreviousHash), (kept[0].Sequence, kept[0].Hash));
        Assert.Equal(150L, kept[^1].Sequence);
        Assert.DoesNotContain(Segments(stream), s => s.EndsWith("0000000000000001.log", StringComparison.Ordinal));
        var verification = await VerifyAsync();
        Assert.True(verification.Intact, verification.Detail);
        var reported = Assert.Single(verification.PerStream, s => s.Stream == stream);
        Assert.Equal((kept[0].Sequence, kept[1].Sequence), (reported.RetentionCut, reported.FirstSequence));
        // An export of it verifies offline too: the cut is in it.
        var export = await ExportAsync();
        Assert.True(VerifyExport(export).Intact, VerifyExport(export).Detail);
    }

    [Fact]
    public async Task OldestSegmentsDeletedByHand_AreFound_AndRetentionThenSignsNoCutOverThem()
    {
        var (stream, tail) = await RolledAsync();
        _store.Dispose();
        var removed = Segments(stream)[..2];
        foreach (var segment in removed)
        {
            File.Delete(segment);
        }
        _store = NewStore(segmentBytes: 4096, retention: TimeSpan.FromDays(1));
        var verification = await VerifyAsync();
        Assert.Equal(AuditBreakKind.StartRemoved, verification.Broken);
        Assert.Equal(stream, verification.BrokenStream);

        // Retention does not launder it: finding the stream's start gone, it deletes nothing and signs nothing.
        await PastRetentionAsync(stream, tail);
        Assert.False(File.Exists(Path.Combine(_directory, stream, "retention.log")));
        Assert.Equal(AuditBreakKind.StartRemoved, (await VerifyAsync()).Broken);
    }

    [Fact]
    public async Task RetentionsCutDeleted_TheRemovedStartIsFound()
    {
        var (stream, tail) = await RolledAsync();
        await PastRetentionAsync(stream, tail);
        Assert.True((await VerifyAsync()).Intact);
        File.Delete(Path.Combine(_directory, stream, "retention.log"));
        var verification = await VerifyAsync();
        Assert.Equal(AuditBreakKind.StartRemoved, verification.Broken);
        Assert.Equal(stream, verification.BrokenStream);
    }

    [Fact]
    public async Task TheJournalsEncoding_IsWrittenAsItIs_ByteForByteWhatTheLinesEncodeTo_AndReadsBackAndVerifies()
    {
        var keys = AuditKeys.Ephemeral();
        await using (var journal = new AuditJournal(_store, keys, new AuditOptions { CheckpointEvery = 7 }, _time, "silo-1", NullLogger<AuditJournal>.Instance))
        {
            journal.Start();
            // Text that needs escaping in a line: quotes, backslashes, line breaks, control characters, non-ASCII.
            await Task.WhenAll(Enumerable.Range(0, 40).Select(i => journal.RecordAsync(new AuditRecord
            {
                Id = $"enc-{i}",
                Kind = AuditEventKind.Decision,
                At = _time.GetUtcNow(),
                Detail = $"said \"{i}\" \\ then\nnext \u0001 é 🙂",
                ResourcePath = $"a/\"b\"/{i}",
            }, CancellationToken.None).AsTask()));
            await journal.StopAsync(TimeSpan.FromSeconds(30));
        }

        var stored = await _store.ReadAsync("local", 1, CancellationToken.None).ToListAsync();
        Assert.Equal(40, stored.Count(l => l.TryReadRecord()?.Id.StartsWith("enc-", StringComparison.Ordinal) == true));
        Assert.All(stored.Where(l => !l.IsCheckpoint), l => Assert.Equal("silo-1", l.TryReadRecord()!.Silo));
        // The segment holds exactly what each line encodes to, one per line.
        var expected = new System.Buffers.ArrayBufferWriter<byte>();
        foreach (var line in stored)
        {
            line.WriteTo(expected);
            System.Buffers.BuffersExtensions.Write(expected, "\n"u8);
        }
        // The segment being written has space zeroed ahead of its records; closed, it holds its records and nothing else.
        Assert.Equal(expected.WrittenSpan.ToArray(), Segments("local").SelectMany(File.ReadAllBytes).ToArray().AsSpan().TrimEnd((byte)0).ToArray());
        _store.Dispose();
        Assert.Equal(expected.WrittenSpan.ToArray(), Segments("local").SelectMany(File.ReadAllBytes).ToArray());
        _store = NewStore();
        var verification = await new AuditReader(_store, keys).VerifyAsync(CancellationToken.None);
        Assert.True(verification.Intact, verification.Detail);
        Assert.NotNull(verification.LastCheckpoint);
    }
}
