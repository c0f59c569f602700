using System.Buffers;
using System.Text;

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

    /// <summary>
    /// A stream's lines from <paramref name="toSequence"/> (inclusive; <see cref="long.MaxValue"/> for its newest) back to its
    /// first, newest first, as stored (nothing is checked), with the signed retention cut a shortened stream begins with
    /// last. Works page by page of the store (a segment, a block of one partition): a reader that stops early has read
    /// only the stream's newer part. A line that cannot be read ends the enumeration with <see cref="AuditStoreException"/>
    /// (<see cref="AuditStoreException.Unreadable"/>).
    /// </summary>
    IAsyncEnumerable<AuditLine> ReadBackwardAsync(string stream, long toSequence, CancellationToken cancellationToken);

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

/// <summary>
/// A batch of consecutive lines of one stream for <see cref="IAuditStore.AppendAsync(string, EncodedAuditLines, CancellationToken)"/>:
/// each line's place and hashes, and, when the sealer made them, the lines' encoding (one JSON line each, as
/// <see cref="AuditLine.WriteTo"/> writes it, then '\n'). The lines themselves (<see cref="Lines"/>) are made only when a
/// store asks for them: a store that writes the encoding never needs them. The journal reuses a batch for its next write,
/// so a store keeps nothing of it but the lines it asked for.
/// </summary>
public sealed class EncodedAuditLines
{
    private readonly ArrayBufferWriter<byte> _encoded = new(64 * 1024);
    private readonly ArrayBufferWriter<byte> _bodies = new(64 * 1024);
    private readonly List<Place> _places = [];
    private readonly List<AuditLine?> _lines = [];
    private string _stream = "";

    /// <summary>The lines given, with no encoding.</summary>
    public static EncodedAuditLines Of(IReadOnlyList<AuditLine> lines)
    {
        var batch = new EncodedAuditLines { HasEncoding = false };
        foreach (var line in lines)
        {
            batch._stream = line.Stream;
            batch._places.Add(new Place(line.Sequence, line.PreviousHash, line.Hash, 0, 0, 0, line.IsCheckpoint));
            batch._lines.Add(line);
        }
        return batch;
    }

    /// <summary>Whether the batch carries its lines' encoding (<see cref="From"/>).</summary>
    public bool HasEncoding { get; private set; } = true;

    /// <summary>How many lines.</summary>
    public int Count => _places.Count;

    /// <summary>Line <paramref name="index"/>'s sequence number.</summary>
    public long Sequence(int index) => _places[index].Sequence;

    /// <summary>Line <paramref name="index"/>'s link to the line before it.</summary>
    public string PreviousHash(int index) => _places[index].Previous;

    /// <summary>Line <paramref name="index"/>'s hash.</summary>
    public string Hash(int index) => _places[index].Hash;

    /// <summary>Whether line <paramref name="index"/> is a signed checkpoint.</summary>
    public bool IsCheckpoint(int index) => _places[index].Checkpoint;

    /// <summary>Line <paramref name="index"/> (made on first asking).</summary>
    public AuditLine Line(int index) => _lines[index] ??= new AuditLine
    {
        Stream = _stream,
        Sequence = _places[index].Sequence,
        PreviousHash = _places[index].Previous,
        Hash = _places[index].Hash,
        Body = Encoding.UTF8.GetString(_bodies.WrittenSpan.Slice(_places[index].BodyStart, _places[index].BodyLength)),
    };

    /// <summary>The lines, in order (made on first asking).</summary>
    public IReadOnlyList<AuditLine> Lines => [.. Enumerable.Range(0, Count).Select(Line)];

    /// <summary>The encoding of the lines from <paramref name="index"/> on (with <see cref="HasEncoding"/>).</summary>
    public ReadOnlyMemory<byte> From(int index) => HasEncoding ? _encoded.WrittenMemory[_places[index].Start..] : throw new InvalidOperationException("This batch carries no encoding.");

    // The sealer's side: a batch is begun, filled line by line, and reused for the next write.
    internal void Begin(string stream)
    {
        _stream = stream;
        _places.Clear();
        _lines.Clear();
        if (_encoded.Capacity > 4 * 1024 * 1024)
        {
            // One unusually large batch does not keep its buffers for the silo's lifetime.
            _encoded.Clear();
            _bodies.Clear();
        }
        _encoded.ResetWrittenCount();
        _bodies.ResetWrittenCount();
    }

    internal string Add(long sequence, string previousHash, AuditRecord record, string silo) =>
        Placed(sequence, previousHash, _encoded.WrittenCount, _bodies.WrittenCount, AuditChain.Seal(_stream, sequence, previousHash, record, _encoded, _bodies, silo));

    // A body encoded ahead by its recorder (AuditChain.EncodeBody): sealing only hashes and copies it.
    internal string Add(long sequence, string previousHash, ReadOnlySpan<byte> json, ReadOnlySpan<byte> escaped) =>
        Placed(sequence, previousHash, _encoded.WrittenCount, _bodies.WrittenCount, AuditChain.SealEncoded(_stream, sequence, previousHash, json, escaped, _encoded, _bodies));

    // A line just sealed: where its encoding and body begin (taken before sealing wrote them, as the arguments are
    // evaluated in order) and its hash.
    private string Placed(long sequence, string previousHash, int start, int bodyStart, string hash)
    {
        _places.Add(new Place(sequence, previousHash, hash, start, bodyStart, _bodies.WrittenCount - bodyStart, false));
        _lines.Add(null);
        return hash;
    }

    internal void Add(AuditLine checkpoint)
    {
        _places.Add(new Place(checkpoint.Sequence, checkpoint.PreviousHash, checkpoint.Hash, _encoded.WrittenCount, 0, 0, checkpoint.IsCheckpoint));
        _lines.Add(checkpoint);
        checkpoint.WriteTo(_encoded);
        _encoded.Write("\n"u8);
    }

    private readonly record struct Place(long Sequence, string Previous, string Hash, int Start, int BodyStart, int BodyLength, bool Checkpoint);
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
