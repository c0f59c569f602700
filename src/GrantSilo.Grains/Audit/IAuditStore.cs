namespace GrantSilo.Grains.Audit;

/// <summary>
/// Where audit lines are kept: append-only streams, each one writer's hash chain (docs/audit.md). Two stores ship: segment
/// files (<see cref="FileAuditStore"/>, the embedded default) and Azure Tables. Both pass one contract test suite.
/// </summary>
/// <remarks>
/// A store translates its own failures into <see cref="AuditStoreException"/>; it never half-writes a batch it reports as
/// failed, so the writer may write the same batch again.
/// </remarks>
public interface IAuditStore
{
    /// <summary>
    /// Opens a stream to write to: its last sequence number and hash (0 and "" for a new stream). A store that finds an
    /// unfinished write at the tail (a torn line after a crash: never acknowledged) removes it and says so in
    /// <see cref="AuditStreamTail.Repaired"/>.
    /// </summary>
    Task<AuditStreamTail> OpenAsync(string stream, CancellationToken cancellationToken);

    /// <summary>
    /// Appends consecutive lines of one stream, durably, in one write. Idempotent: lines already stored with the same hash
    /// are not stored again (a retry after an unknown outcome leaves no duplicates); a different line already at a place
    /// is refused (<see cref="AuditStoreException.Conflict"/>).
    /// </summary>
    Task AppendAsync(string stream, IReadOnlyList<AuditLine> lines, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="AppendAsync(string, IReadOnlyList{AuditLine}, CancellationToken)"/>, with the lines also given as the
    /// sealer encoded them (each line's JSON and a line break): a store that keeps JSON lines writes those bytes instead of
    /// encoding the lines again. The bytes are only valid during the call.
    /// </summary>
    Task AppendAsync(string stream, EncodedAuditLines batch, CancellationToken cancellationToken) => AppendAsync(stream, batch.Lines, cancellationToken);

    /// <summary>The streams held, in name order.</summary>
    Task<IReadOnlyList<string>> ListStreamsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A stream's lines from <paramref name="fromSequence"/> on, in order, as stored (nothing is checked). A line that
    /// cannot be read ends the enumeration with <see cref="AuditStoreException"/> (<see cref="AuditStoreException.Unreadable"/>).
    /// </summary>
    IAsyncEnumerable<AuditLine> ReadAsync(string stream, long fromSequence, CancellationToken cancellationToken);

    /// <summary>The checkpoints of a stream as kept aside from it, in order (verification checks the stream still holds them).</summary>
    Task<IReadOnlyList<AuditLine>> ReadCheckpointsAsync(string stream, CancellationToken cancellationToken);

    /// <summary>The most lines one append should carry (one group commit): 100 unless the store takes more in one write.</summary>
    int MaxBatch => 100;

    /// <summary>
    /// Checks that this writer hashes token-derived values under the same key as every other writer of the store (by the
    /// key's public id, <see cref="AuditKeys.HashKeyId"/>, never the key): the first writer's id is kept, and a writer
    /// with another is refused (<see cref="AuditStoreException"/>). Otherwise an investigator holding a token would find
    /// its records on some silos' streams only. A store only one process writes (segment files, memory) has nothing to
    /// compare with.
    /// </summary>
    Task AgreeOnHashKeyAsync(string hashKeyId, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Sealed lines and their encoding, one JSON line each (<see cref="AuditLine.WriteTo"/>, then '\n'), in order.</summary>
public readonly struct EncodedAuditLines(IReadOnlyList<AuditLine> lines, ReadOnlyMemory<byte> utf8, IReadOnlyList<int> starts)
{
    /// <summary>The lines.</summary>
    public IReadOnlyList<AuditLine> Lines => lines;

    /// <summary>The encoding of the lines from <paramref name="index"/> on.</summary>
    public ReadOnlyMemory<byte> From(int index) => utf8[starts[index]..];
}

/// <summary>Where a stream ends.</summary>
public sealed record AuditStreamTail(long Sequence, string Hash)
{
    /// <summary>What an unfinished write left behind and the store removed on open, or null.</summary>
    public string? Repaired { get; init; }

    /// <summary>The first sequence still held (later than 1 once retention has removed old segments).</summary>
    public long FirstSequence { get; init; } = 1;
}

/// <summary>An audit store failure, translated at the store boundary.</summary>
public sealed class AuditStoreException : Exception
{
    public AuditStoreException(string message, Exception? inner = null, bool conflict = false, bool unreadable = false) : base(message, inner)
    {
        Conflict = conflict;
        Unreadable = unreadable;
    }

    public AuditStoreException()
    {
    }

    public AuditStoreException(string message) : base(message)
    {
    }

    public AuditStoreException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Another line already holds a place this batch writes (another writer on the stream).</summary>
    public bool Conflict { get; }

    /// <summary>Stored data could not be read as audit lines (torn or edited).</summary>
    public bool Unreadable { get; }
}
