using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using GrantSilo.Grains.Audit;
using GrantSilo.Persistence.AzureTables.Internal;

namespace GrantSilo.Persistence.AzureTables.Audit;

/// <summary>
/// The audit store of the Azure profile: audit lines in one table (README.md, "Audit log"), written with entity group
/// transactions. A stream's lines are spread over <see cref="AzureTableAuditOptions.Buckets"/> partitions by blocks of
/// <see cref="BlockSize"/> sequence numbers (<c>{stream}~{bucket}</c>), so that at most 100 lines go to one partition per
/// group commit and no partition takes more than its share of a silo's rate; the row key is the sequence number. Every
/// line is inserted (never upserted): a line already there with the same hash is a retry and is skipped, one with another
/// hash is a second writer and is refused. Checkpoints are kept a second time in <c>{stream}~cp</c>; a hint of each
/// stream's tail in <c>{stream}~tail</c>; the stream names in <c>streams</c>.
/// </summary>
public sealed class AzureTableAuditStore(TableServiceClient service, AzureTableAuditOptions options) : IAuditStore
{
    /// <summary>Sequence numbers per block: a block lives in one partition, and one transaction holds at most 100 entities.</summary>
    public const int BlockSize = 100;

    private const string StreamsPartition = "streams";
    private const string TailRow = "tail";
    private const string KeysPartition = "keys";
    private const string HashKeyRow = "hash";
    private readonly TableClient _table = service.GetTableClient(options.TableName);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _hintWritten = new(StringComparer.Ordinal);
    private Task? _created;

    /// <summary>The table the lines are kept in.</summary>
    public TableClient Table => _table;

    /// <inheritdoc />
    public async Task<AuditStreamTail> OpenAsync(string stream, CancellationToken cancellationToken)
    {
        await Guard(async () =>
        {
            await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
            await _table.UpsertEntityAsync(new TableEntity(StreamsPartition, stream), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return true;
        }, "open", stream).ConfigureAwait(false);
        return await Guard(async () =>
        {
            // The hint says where the tail was lately; what was written after it is found by asking each bucket past it.
            var hint = await _table.GetEntityIfExistsAsync<TableEntity>(TailPartition(stream), TailRow, cancellationToken: cancellationToken).ConfigureAwait(false);
            var from = hint.HasValue && hint.Value!.GetInt64("Sequence") is { } h ? h : 0;
            AuditLine? last = null;
            for (var bucket = 0; bucket < options.Buckets; bucket++)
            {
                await foreach (var entity in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Partition(stream, bucket)} and RowKey gt {Row(from)}"), cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    var line = ToLine(stream, entity);
                    if (last is null || line.Sequence > last.Sequence)
                    {
                        last = line;
                    }
                }
            }
            if (last is null && from > 0)
            {
                var at = await _table.GetEntityIfExistsAsync<TableEntity>(Partition(stream, Bucket(from)), Row(from), cancellationToken: cancellationToken).ConfigureAwait(false);
                last = at.HasValue ? ToLine(stream, at.Value!) : null;
            }
            lock (_lock)
            {
                _hintWritten[stream] = from;
            }
            return last is null ? new AuditStreamTail(0, "") : new AuditStreamTail(last.Sequence, last.Hash);
        }, "open", stream).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>The first writer's id is inserted as the entity <c>keys</c>/<c>hash</c>; later writers compare with it.</remarks>
    public Task AgreeOnHashKeyAsync(string hashKeyId, CancellationToken cancellationToken) => Guard(async () =>
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _table.AddEntityAsync(new TableEntity(KeysPartition, HashKeyRow) { ["KeyId"] = hashKeyId }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // Another writer was first: its key must be this one.
        }
        var kept = await _table.GetEntityAsync<TableEntity>(KeysPartition, HashKeyRow, cancellationToken: cancellationToken).ConfigureAwait(false);
        var keptId = kept.Value.GetString("KeyId");
        if (!string.Equals(keptId, hashKeyId, StringComparison.Ordinal))
        {
            throw new AuditStoreException(
                $"This silo's audit hash key (id {hashKeyId}) is not the one the other writers of table '{options.TableName}' use (id {keptId}): every silo needs the same GrantSilo:Audit:HashKeyFile. Nothing is written until it has it.");
        }
        return true;
    }, "agree on the hash key of", "table");

    /// <inheritdoc />
    public async Task AppendAsync(string stream, IReadOnlyList<AuditLine> lines, CancellationToken cancellationToken)
    {
        if (lines.Count == 0)
        {
            return;
        }
        await Guard(async () =>
        {
            await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
            // A batch is one run of the chain, and it continues the stream as stored (one point read): a writer that sealed
            // from a stale tail is refused before anything of it is written.
            for (var i = 1; i < lines.Count; i++)
            {
                if (lines[i].Sequence != lines[i - 1].Sequence + 1 || lines[i].PreviousHash != lines[i - 1].Hash)
                {
                    throw new AuditStoreException($"The batch for audit stream '{stream}' is not one run of the chain at record {lines[i].Sequence}.", null, conflict: true);
                }
            }
            if (lines[0].Sequence > 1)
            {
                var before = lines[0].Sequence - 1;
                var held = await _table.GetEntityIfExistsAsync<TableEntity>(PartitionOf(stream, before), Row(before), select: ["Hash"], cancellationToken: cancellationToken).ConfigureAwait(false);
                if (!held.HasValue || held.Value!.GetString("Hash") != lines[0].PreviousHash)
                {
                    throw new AuditStoreException($"Audit stream '{stream}' does not end with the record {before} that record {lines[0].Sequence} follows.", null, conflict: true);
                }
            }
            // One transaction per partition the batch touches (a batch crossing a block boundary is two, written in order).
            foreach (var group in lines.GroupBy(l => Bucket(l.Sequence)).OrderBy(g => g.Min(l => l.Sequence)))
            {
                await InsertAsync(stream, group.Key, [.. group], cancellationToken).ConfigureAwait(false);
            }
            var checkpoints = lines.Where(l => l.IsCheckpoint).Select(l => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(CheckpointPartition(stream), l))).ToList();
            if (checkpoints.Count > 0)
            {
                await _table.SubmitTransactionAsync(checkpoints, cancellationToken).ConfigureAwait(false);
            }
            await HintAsync(stream, lines[^1].Sequence, cancellationToken).ConfigureAwait(false);
            return true;
        }, "append to", stream).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListStreamsAsync(CancellationToken cancellationToken) => Guard(async () =>
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var streams = new List<string>();
        await foreach (var entity in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {StreamsPartition}"), select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            streams.Add(entity.RowKey);
        }
        return (IReadOnlyList<string>)[.. streams.Order(StringComparer.Ordinal)];
    }, "list", "streams");

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditLine> ReadAsync(string stream, long fromSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Each bucket in row-key order, merged by sequence number: a line missing anywhere shows as a gap, never as an end.
        var readers = new List<IAsyncEnumerator<TableEntity>>();
        var heads = new List<AuditLine?>();
        try
        {
            for (var bucket = 0; bucket < options.Buckets; bucket++)
            {
                var reader = _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Partition(stream, bucket)} and RowKey ge {Row(fromSequence)}"), cancellationToken: cancellationToken).GetAsyncEnumerator(cancellationToken);
                readers.Add(reader);
                heads.Add(await NextAsync(stream, reader).ConfigureAwait(false));
            }
            while (true)
            {
                var next = -1;
                for (var i = 0; i < heads.Count; i++)
                {
                    if (heads[i] is { } head && (next < 0 || head.Sequence < heads[next]!.Sequence))
                    {
                        next = i;
                    }
                }
                if (next < 0)
                {
                    yield break;
                }
                yield return heads[next]!;
                heads[next] = await NextAsync(stream, readers[next]).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Table storage scans a partition in ascending row-key order only, but a block of <see cref="BlockSize"/> sequence
    /// numbers lives in one partition: the stream is read a block at a time, newest block first, each with one range query
    /// (at most 100 rows) reversed in memory. A block with no rows (lines removed) is passed over; verification, not a
    /// query, reports what is missing. Where the stream ends is found from the tail hint (one point read) and, when
    /// <paramref name="toSequence"/> lies past it, one query per bucket for the rows after it (README.md, "Audit log").
    /// </remarks>
    public async IAsyncEnumerable<AuditLine> ReadBackwardAsync(string stream, long toSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Never past the stream's end: a token naming a place beyond it must not walk millions of empty blocks.
        var last = await Guard(() => LastSequenceAsync(stream, toSequence, cancellationToken), "read", stream).ConfigureAwait(false);
        for (var block = (last - 1) / BlockSize; last >= 1 && block >= 0; block--)
        {
            var first = block * BlockSize + 1;
            var upper = Math.Min(last, first + BlockSize - 1);
            var lines = await Guard(async () =>
            {
                var held = new List<AuditLine>(BlockSize);
                await foreach (var entity in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Partition(stream, Bucket(first))} and RowKey ge {Row(first)} and RowKey le {Row(upper)}"), cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    held.Add(ToLine(stream, entity));
                }
                return held;
            }, "read", stream).ConfigureAwait(false);
            for (var i = lines.Count - 1; i >= 0; i--)
            {
                yield return lines[i];
            }
        }
    }

    // The highest sequence number held that is at most `toSequence` (0 for an empty stream), or `toSequence` itself when
    // the tail hint says the stream reaches it.
    private async Task<long> LastSequenceAsync(string stream, long toSequence, CancellationToken cancellationToken)
    {
        var hint = await _table.GetEntityIfExistsAsync<TableEntity>(TailPartition(stream), TailRow, select: ["Sequence"], cancellationToken: cancellationToken).ConfigureAwait(false);
        var hinted = hint.HasValue && hint.Value!.GetInt64("Sequence") is { } h ? h : 0;
        if (toSequence <= hinted)
        {
            return toSequence;
        }
        var last = hinted;
        for (var bucket = 0; bucket < options.Buckets; bucket++)
        {
            await foreach (var entity in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Partition(stream, bucket)} and RowKey gt {Row(hinted)} and RowKey le {Row(toSequence)}"), select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (long.TryParse(entity.RowKey, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) && sequence > last)
                {
                    last = sequence;
                }
            }
        }
        return last;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditLine>> ReadCheckpointsAsync(string stream, CancellationToken cancellationToken) => Guard(async () =>
    {
        var kept = new List<AuditLine>();
        await foreach (var entity in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {CheckpointPartition(stream)}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            kept.Add(ToLine(stream, entity));
        }
        return (IReadOnlyList<AuditLine>)kept;
    }, "read checkpoints of", stream);

    /// <summary>The partition a line of <paramref name="stream"/> at <paramref name="sequence"/> lives in.</summary>
    public string PartitionOf(string stream, long sequence) => Partition(stream, Bucket(sequence));

    /// <summary>The row key of a sequence number.</summary>
    public static string Row(long sequence) => sequence.ToString("D19", CultureInfo.InvariantCulture);

    private int Bucket(long sequence) => (int)((Math.Max(sequence, 1) - 1) / BlockSize % options.Buckets);

    private static string Partition(string stream, int bucket) => $"{stream}~{bucket:D3}";

    private static string CheckpointPartition(string stream) => $"{stream}~cp";

    private static string TailPartition(string stream) => $"{stream}~tail";

    // Inserts the lines of one partition in one transaction; lines already there are compared, not written again.
    private async Task InsertAsync(string stream, int bucket, List<AuditLine> lines, CancellationToken cancellationToken)
    {
        var partition = Partition(stream, bucket);
        try
        {
            await _table.SubmitTransactionAsync(lines.Select(l => new TableTransactionAction(TableTransactionActionType.Add, ToEntity(partition, l))), cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (TableTransactionFailedException failed) when (failed.Status == 409)
        {
            // Some are there already (a retry after an unknown outcome, or another writer): find out which.
        }
        var missing = new List<AuditLine>();
        foreach (var line in lines)
        {
            var held = await _table.GetEntityIfExistsAsync<TableEntity>(partition, Row(line.Sequence), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!held.HasValue)
            {
                missing.Add(line);
            }
            else if (held.Value!.GetString("Hash") != line.Hash)
            {
                throw new AuditStoreException($"Audit stream '{stream}' already holds a different record {line.Sequence}.", null, conflict: true);
            }
        }
        if (missing.Count > 0)
        {
            await _table.SubmitTransactionAsync(missing.Select(l => new TableTransactionAction(TableTransactionActionType.Add, ToEntity(partition, l))), cancellationToken).ConfigureAwait(false);
        }
    }

    // The tail hint, now and then (it only shortens the search on open; it is never trusted alone).
    private async Task HintAsync(string stream, long sequence, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_hintWritten.TryGetValue(stream, out var written) && sequence - written < options.TailHintEvery)
            {
                return;
            }
            _hintWritten[stream] = sequence;
        }
        var hint = new TableEntity(TailPartition(stream), TailRow) { ["Sequence"] = sequence };
        await _table.UpsertEntityAsync(hint, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<AuditLine?> NextAsync(string stream, IAsyncEnumerator<TableEntity> reader)
    {
        try
        {
            return await reader.MoveNextAsync().ConfigureAwait(false) ? ToLine(stream, reader.Current) : null;
        }
        catch (Exception e) when (AzureTableErrors.IsStorageFailure(e))
        {
            throw new AuditStoreException($"The audit stream '{stream}' could not be read: {e.Message}", e);
        }
    }

    private static TableEntity ToEntity(string partition, AuditLine line)
    {
        var entity = new TableEntity(partition, Row(line.Sequence))
        {
            ["Prev"] = line.PreviousHash,
            ["Hash"] = line.Hash,
            ["Body"] = line.Body,
        };
        if (line.Signature is not null)
        {
            entity["Sig"] = line.Signature;
            entity["KeyId"] = line.KeyId;
        }
        return entity;
    }

    private static AuditLine ToLine(string stream, TableEntity entity)
    {
        if (!long.TryParse(entity.RowKey, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || entity.GetString("Prev") is not { } prev || entity.GetString("Hash") is not { } hash || entity.GetString("Body") is not { } body)
        {
            throw new AuditStoreException($"A row of audit stream '{stream}' ({entity.PartitionKey}/{entity.RowKey}) is not an audit record.", null, unreadable: true);
        }
        return new AuditLine { Stream = stream, Sequence = sequence, PreviousHash = prev, Hash = hash, Body = body, Signature = entity.GetString("Sig"), KeyId = entity.GetString("KeyId") };
    }

    private Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_created is null || _created.IsFaulted || _created.IsCanceled)
            {
                _created = _table.CreateIfNotExistsAsync(cancellationToken);
            }
            return _created;
        }
    }

    // Azure's failures become the store's (a second writer's line among them); nothing else passes the boundary.
    private async Task<T> Guard<T>(Func<Task<T>> call, string operation, string what)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (AuditStoreException)
        {
            throw;
        }
        catch (Exception e) when (AzureTableErrors.IsStorageFailure(e) || e is TableTransactionFailedException)
        {
            throw new AuditStoreException($"Could not {operation} audit {what} in table '{options.TableName}': {AzureTableErrors.Classify(e)}.", e);
        }
    }
}

/// <summary>The Azure audit store's table and partition scheme. Bound from <c>GrantSilo:Audit:AzureTable</c>.</summary>
public sealed class AzureTableAuditOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Audit:AzureTable";

    /// <summary>The table (default <c>GrantSiloAudit</c>).</summary>
    public string TableName { get; set; } = "GrantSiloAudit";

    /// <summary>
    /// Partitions per stream (default 16): blocks of 100 lines go round them, so one silo's stream may take 16 × 2,000 =
    /// 32,000 lines a second before any partition reaches Azure's 2,000 entities a second.
    /// </summary>
    public int Buckets { get; set; } = 16;

    /// <summary>How many lines may be written between updates of a stream's tail hint (default 1,000).</summary>
    public int TailHintEvery { get; set; } = 1_000;
}
