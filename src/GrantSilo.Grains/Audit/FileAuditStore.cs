using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Audit;

/// <summary>
/// The embedded default audit store: each stream is a directory of append-only segment files of JSON lines
/// (<c>{stream}/{first sequence}.log</c>), written one batch per write and one fsync per batch, closed and a new one begun
/// once a segment reaches <see cref="FileAuditStoreOptions.SegmentBytes"/>, and deleted once older than
/// <see cref="FileAuditStoreOptions.Retention"/>. Checkpoints are kept a second time in <c>{stream}/checkpoints.log</c>.
/// Before retention deletes segments it keeps a signed retention cut in <c>{stream}/retention.log</c> (where the stream
/// now starts and the hash its first record links to), read back as the stream's first line so verification knows the
/// removal was retention's. One process writes a directory.
/// </summary>
public sealed partial class FileAuditStore : IAuditStore, IDisposable
{
    private const string SegmentExtension = ".log";
    private const string CheckpointFile = "checkpoints.log";
    private const string RetentionFile = "retention.log";

    // How far ahead of the writer a segment is zeroed at a time (never past the size at which it is closed), from a
    // buffer of zeroes written as often as it takes.
    private const long ZeroStep = 4 * 1024 * 1024;
    private static readonly byte[] Zeros = new byte[64 * 1024];

    // Whether fdatasync could be called; false once the platform's C library turned out not to have it.
    private static bool _dataSync = OperatingSystem.IsLinux();

    private readonly FileAuditStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<FileAuditStore> _logger;
    private readonly AuditKeys? _keys;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Writer> _writers = new(StringComparer.Ordinal);
    private FileStream? _directoryLock;
    private readonly ArrayBufferWriter<byte> _encoded = new(64 * 1024);
    private readonly BlockingWriterThread _writerThread = new("GrantSilo audit writer");

    /// <param name="options">The directory, segment size and retention.</param>
    /// <param name="time">The clock retention measures age by.</param>
    /// <param name="logger">Where the store logs.</param>
    /// <param name="keys">
    /// The audit keys: retention signs its cuts with the signing key. Without them retention deletes nothing (an unsigned
    /// removal would read as tampering).
    /// </param>
    public FileAuditStore(IOptions<FileAuditStoreOptions> options, TimeProvider time, ILogger<FileAuditStore> logger, AuditKeys? keys = null)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        _keys = keys;
    }

    /// <summary>A batch is one write and one fsync whatever its size: a thousand lines share one.</summary>
    public int MaxBatch => 1000;

    /// <summary>The directory of the streams.</summary>
    public string Root => Path.GetFullPath(_options.Directory);

    /// <inheritdoc />
    public Task<AuditStreamTail> OpenAsync(string stream, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            try
            {
                var writer = OpenWriter(stream);
                return Task.FromResult(new AuditStreamTail(writer.Sequence, writer.Hash) { Repaired = writer.Repaired, FirstSequence = writer.FirstSequence });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AuditStoreException($"The audit stream '{stream}' in {Root} cannot be opened: {e.Message}", e);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>The write and its fsync run on the store's own writer thread (<see cref="BlockingWriterThread"/>).</remarks>
    public Task AppendAsync(string stream, IReadOnlyList<AuditLine> lines, CancellationToken cancellationToken) =>
        AppendAsync(stream, EncodedAuditLines.Of(lines), encoded: false);

    /// <inheritdoc />
    /// <remarks>
    /// The sealer's bytes are written as they are. Called from a thread of its own (the journal's writer), the write and
    /// its fsync run right there; from the thread pool, on the store's writer thread.
    /// </remarks>
    public Task AppendAsync(string stream, EncodedAuditLines batch, CancellationToken cancellationToken) =>
        AppendAsync(stream, batch, encoded: batch.HasEncoding);

    private Task AppendAsync(string stream, EncodedAuditLines batch, bool encoded)
    {
        if (Thread.CurrentThread.IsThreadPoolThread)
        {
            return _writerThread.RunAsync(() => Append(stream, batch, encoded));
        }
        try
        {
            Append(stream, batch, encoded);
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    private void Append(string stream, EncodedAuditLines batch, bool encoded)
    {
        lock (_lock)
        {
            Writer writer;
            try
            {
                writer = _writers.TryGetValue(stream, out var open) && open.File is not null ? open : OpenWriter(stream);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AuditStoreException($"The audit stream '{stream}' in {Root} cannot be opened: {e.Message}", e);
            }
            // The lines not held yet: the rest of the batch after those already written (a retry of a batch whose outcome
            // was unknown), each following the one before.
            var firstFresh = -1;
            var (nextSequence, nextPrevious) = (writer.Sequence + 1, writer.Hash);
            for (var i = 0; i < batch.Count; i++)
            {
                var sequence = batch.Sequence(i);
                if (firstFresh < 0 && sequence <= writer.Sequence)
                {
                    // Written before. Only the newest place can be compared cheaply.
                    if (sequence == writer.Sequence && batch.Hash(i) != writer.Hash)
                    {
                        throw new AuditStoreException($"Audit stream '{stream}' already holds a different record {sequence}.", null, conflict: true);
                    }
                    continue;
                }
                if (sequence != nextSequence || batch.PreviousHash(i) != nextPrevious)
                {
                    throw new AuditStoreException($"Audit stream '{stream}' ends at {nextSequence - 1}; record {sequence} does not follow it.", null, conflict: true);
                }
                if (firstFresh < 0)
                {
                    firstFresh = i;
                }
                (nextSequence, nextPrevious) = (sequence + 1, batch.Hash(i));
            }
            if (firstFresh < 0)
            {
                return;
            }
            var last = batch.Count - 1;
            // Lines already held are a prefix of the batch (a retry), so the fresh ones are the rest of its encoding.
            var bytes = encoded ? batch.From(firstFresh) : Encode(batch, firstFresh);
            try
            {
                if (writer.DataLength >= _options.SegmentBytes)
                {
                    Roll(writer, batch.Sequence(firstFresh));
                }
                var before = writer.DataLength;
                try
                {
                    if (before + bytes.Length > writer.ZeroedLength)
                    {
                        ZeroAhead(writer, before + bytes.Length);
                    }
                    RandomAccess.Write(writer.File!.SafeFileHandle, bytes.Span, before);
                    // One flush per group commit: the batch is durable, or it is taken back. Written over space already
                    // zeroed and flushed, so the file's size and blocks do not change and a data flush needs no journal commit.
                    SyncData(writer.File);
                }
                catch
                {
                    TakeBack(writer, before);
                    throw;
                }
                writer.DataLength = before + bytes.Length;
                writer.Sequence = batch.Sequence(last);
                writer.Hash = batch.Hash(last);
                writer.DurableLength = writer.DataLength;
                List<AuditLine>? checkpoints = null;
                for (var i = firstFresh; i <= last; i++)
                {
                    if (batch.IsCheckpoint(i))
                    {
                        (checkpoints ??= []).Add(batch.Line(i));
                    }
                }
                if (checkpoints is not null)
                {
                    KeepCheckpoints(stream, checkpoints);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AuditStoreException($"The audit stream '{stream}' in {Root} could not be written: {e.Message}", e);
            }
            return;
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListStreamsAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Root))
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }
        return Task.FromResult<IReadOnlyList<string>>([.. Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>().Where(AuditStreams.IsValidName).Order(StringComparer.Ordinal)]);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditLine> ReadAsync(string stream, long fromSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var segments = Segments(stream);
        // A stream that retention shortened begins with the signed cut that says so (verification needs it; a stream that
        // starts after record 1 without one had its start removed by someone else).
        if (segments.Count > 0 && segments[0].First > 1 && fromSequence < segments[0].First
            && ReadCuts(stream).LastOrDefault(c => c.Sequence == segments[0].First - 1) is { } cut)
        {
            yield return cut;
        }
        for (var i = 0; i < segments.Count; i++)
        {
            if (i + 1 < segments.Count && segments[i + 1].First <= fromSequence)
            {
                continue;
            }
            cancellationToken.ThrowIfCancellationRequested();
            var bytes = await ReadSegmentOrFailAsync(stream, segments[i].Path, cancellationToken).ConfigureAwait(false);
            foreach (var line in Lines(stream, segments[i].Path, bytes))
            {
                if (line.Sequence >= fromSequence)
                {
                    yield return line;
                }
            }
        }
    }

    // A segment's bytes, or the store's "unreadable" failure naming it.
    private async Task<byte[]> ReadSegmentOrFailAsync(string stream, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadSegmentAsync(stream, path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AuditStoreException($"Audit segment {Path.GetFileName(path)} of stream '{stream}' cannot be read: {e.Message}", e, unreadable: true);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Segments are read newest first, one at a time (each as far as <see cref="ReadAsync"/> reads it), and only those
    /// that hold lines at or before <paramref name="toSequence"/>: a reader that stops early never reads the older ones.
    /// </remarks>
    public async IAsyncEnumerable<AuditLine> ReadBackwardAsync(string stream, long toSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var segments = Segments(stream);
        for (var i = segments.Count - 1; i >= 0; i--)
        {
            if (segments[i].First > toSequence)
            {
                continue;
            }
            cancellationToken.ThrowIfCancellationRequested();
            var bytes = await ReadSegmentOrFailAsync(stream, segments[i].Path, cancellationToken).ConfigureAwait(false);
            // Lines() reports a torn or unreadable line as it comes to it, so the segment is parsed whole before any of
            // it is given (as a forward read would fail on it too).
            var lines = Lines(stream, segments[i].Path, bytes).ToList();
            for (var j = lines.Count - 1; j >= 0; j--)
            {
                if (lines[j].Sequence <= toSequence)
                {
                    yield return lines[j];
                }
            }
        }
        // A stream that retention shortened begins with the signed cut that says so: given last, as the oldest line.
        if (segments.Count > 0 && segments[0].First > 1 && segments[0].First - 1 <= toSequence
            && ReadCuts(stream).LastOrDefault(c => c.Sequence == segments[0].First - 1) is { } cut)
        {
            yield return cut;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditLine>> ReadCheckpointsAsync(string stream, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Root, stream, CheckpointFile);
        if (!File.Exists(path))
        {
            return [];
        }
        var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        // A torn last checkpoint line (a crash while keeping it) is left out: the stream itself holds the checkpoint.
        return [.. Split(bytes).Select(l => AuditLine.TryParse(l.Span)).OfType<AuditLine>()];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _writerThread.Dispose();
        lock (_lock)
        {
            foreach (var writer in _writers.Values)
            {
                Close(writer);
            }
            _writers.Clear();
            _directoryLock?.Dispose();
            _directoryLock = null;
        }
    }

    // Opens (or reopens) a stream for appending: finds its last line, and removes the torn line an unfinished write left.
    private Writer OpenWriter(string stream)
    {
        LockDirectory();
        if (_writers.Remove(stream, out var stale))
        {
            stale.File?.Dispose();
        }
        var directory = Path.Combine(Root, stream);
        Directory.CreateDirectory(directory);
        var segments = Segments(stream);
        var writer = new Writer { FirstSequence = segments.Count > 0 ? segments[0].First : 1 };
        string? repaired = null;
        for (var i = segments.Count - 1; i >= 0; i--)
        {
            var bytes = File.ReadAllBytes(segments[i].Path);
            var end = DataEnd(bytes);
            if (end < bytes.Length)
            {
                // After the last whole line: space zeroed ahead of the writer (left by a stop that did not trim it), or a
                // write that never finished, so never acknowledged. Either way it is not a record.
                using (var file = new FileStream(segments[i].Path, FileMode.Open, FileAccess.Write, FileShare.Read))
                {
                    file.SetLength(end);
                    file.Flush(flushToDisk: true);
                }
                var torn = bytes.Length - end - bytes.AsSpan(end).Count((byte)0);
                if (torn > 0)
                {
                    repaired = $"{torn} bytes of an unfinished write were removed from segment {Path.GetFileName(segments[i].Path)}.";
                    LogTornTailRemoved(_logger, stream, torn, Path.GetFileName(segments[i].Path));
                }
            }
            var last = Split(bytes.AsMemory(0, end)).LastOrDefault();
            if (last.Length == 0)
            {
                if (i == segments.Count - 1 && i > 0)
                {
                    // An empty newest segment (a crash right after rolling): append to it, continuing the one before.
                    continue;
                }
                break;
            }
            var line = AuditLine.TryParse(last.Span)
                ?? throw new AuditStoreException($"The last record of audit segment {Path.GetFileName(segments[i].Path)} of stream '{stream}' cannot be read; run 'grantctl audit verify' and move the damaged segment aside.", null, unreadable: true);
            writer.Sequence = line.Sequence;
            writer.Hash = line.Hash;
            break;
        }
        var current = segments.Count > 0 ? segments[^1].Path : SegmentPath(stream, 1);
        writer.File = new FileStream(current, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 0);
        writer.DataLength = writer.ZeroedLength = writer.File.Length;
        writer.DurableLength = writer.DataLength;
        writer.CurrentSegment = current;
        writer.Repaired = repaired;
        _writers[stream] = writer;
        return writer;
    }

    // One process writes a directory: a second (a mistaken deployment, two silos on one volume) is refused, never interleaved.
    private void LockDirectory()
    {
        if (_directoryLock is not null)
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Root);
        }
        else
        {
            // Owner-only when made here, as the audit keys' directory is (it is that directory by default): a directory
            // a umask of 002 left group-writable would be refused for the keys (AuditKeys) and open the log to the group.
            Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        try
        {
            _directoryLock = new FileStream(Path.Combine(Root, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.DeleteOnClose);
        }
        catch (IOException e)
        {
            throw new AuditStoreException($"Another process writes the audit directory {Root}; give each silo its own ({FileAuditStoreOptions.SectionName}:{nameof(FileAuditStoreOptions.Directory)}).", e);
        }
    }

    private void Roll(Writer writer, long firstSequence)
    {
        Close(writer);
        var stream = Path.GetFileName(Path.GetDirectoryName(writer.CurrentSegment)!);
        writer.CurrentSegment = SegmentPath(stream, firstSequence);
        writer.File = new FileStream(writer.CurrentSegment, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 0);
        writer.DataLength = writer.ZeroedLength = writer.File.Length;
        writer.DurableLength = writer.DataLength;
        ApplyRetention(stream);
    }

    // Zeroes the space ahead of the writer, a step at a time, and flushes it with the file's new size: the batches written
    // into it then change neither, so each needs only a data flush. Space past the data is never a record (DataEnd).
    private void ZeroAhead(Writer writer, long needed)
    {
        var target = Math.Max(needed, Math.Min(writer.ZeroedLength + ZeroStep, _options.SegmentBytes));
        for (var at = writer.ZeroedLength; at < target; at += Zeros.Length)
        {
            RandomAccess.Write(writer.File!.SafeFileHandle, Zeros.AsSpan(0, (int)Math.Min(Zeros.Length, target - at)), at);
        }
        writer.File!.Flush(flushToDisk: true);
        writer.ZeroedLength = target;
    }

    // A closed segment holds its records and nothing after them: the zeroed space ahead is cut off.
    private static void Close(Writer writer)
    {
        if (writer.File is not { } file)
        {
            return;
        }
        try
        {
            if (writer.ZeroedLength > writer.DataLength)
            {
                file.SetLength(writer.DataLength);
                file.Flush(flushToDisk: true);
            }
        }
        catch (IOException)
        {
            // Left as it is: the next open cuts the zeroed space off.
        }
        file.Dispose();
        writer.File = null;
    }

    // Where a segment's records end: after the last line break before any zeroed space (a NUL byte is never in a line).
    private static int DataEnd(ReadOnlySpan<byte> bytes)
    {
        var zeroed = bytes.IndexOf((byte)0);
        return bytes[..(zeroed < 0 ? bytes.Length : zeroed)].LastIndexOf((byte)'\n') + 1;
    }

    // A data flush (fdatasync) where the platform has one; a full one elsewhere, or if it cannot be called.
    private static void SyncData(FileStream file)
    {
        if (_dataSync)
        {
            try
            {
                if (NativeMethods.FDataSync(file.SafeFileHandle) != 0)
                {
                    throw new IOException($"fdatasync failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
                }
                return;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _dataSync = false;
            }
        }
        file.Flush(flushToDisk: true);
    }

    // Deletes closed segments whose newest record is older than the retention (the file's last write is that record's),
    // after keeping a signed cut that says where the stream now starts and what its first record links to.
    private void ApplyRetention(string stream)
    {
        if (_options.Retention is not { } retention)
        {
            return;
        }
        var cutoff = _time.GetUtcNow() - retention;
        var segments = Segments(stream);
        // Never the newest segment, and only from the oldest on: the chain kept stays whole.
        var expired = 0;
        while (expired < segments.Count - 1 && File.GetLastWriteTimeUtc(segments[expired].Path) < cutoff.UtcDateTime)
        {
            expired++;
        }
        if (expired == 0)
        {
            return;
        }
        if (_keys is null)
        {
            LogRetentionUnsigned(_logger, stream);
            return;
        }
        // The stream must still start where it did: at record 1 or at a cut retention signed. Otherwise someone else removed
        // its start, and a new cut would hide that: nothing is deleted, and verification reports it.
        var cuts = ReadCuts(stream);
        var first = segments[0].First;
        if (first != 1 && !cuts.Any(c => c.Sequence == first - 1))
        {
            LogRetentionRefused(_logger, stream, first);
            return;
        }
        var kept = segments[expired].First;
        if (LinkInto(stream, segments[expired].Path, kept) is not { } link)
        {
            LogRetentionRefused(_logger, stream, kept);
            return;
        }
        var cut = AuditChain.SealRetentionCut(stream, kept - 1, link, new AuditRecord
        {
            Id = AuditIds.New(_time),
            Kind = AuditEventKind.RetentionCut,
            At = _time.GetUtcNow(),
            Subject = stream,
            Detail = $"Records {first}-{kept - 1} of stream {stream} were removed by retention (older than {retention}); record {kept} links to the last of them.",
        }, _keys.SigningKey, _keys.KeyId);
        // Kept (and flushed) before anything is deleted: a crash between the two leaves old segments and a cut, which
        // still verifies (the stream starts at record 1 or at an earlier cut), and the next pass deletes them.
        using (var file = new FileStream(Path.Combine(Root, stream, RetentionFile), FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0))
        {
            // Not through the store's encoding buffer: retention runs while that holds the batch being written.
            file.Write(Encoding.UTF8.GetBytes(cut.ToJson() + "\n"));
            file.Flush(flushToDisk: true);
        }
        for (var i = 0; i < expired; i++)
        {
            File.Delete(segments[i].Path);
            var name = Path.GetFileName(segments[i].Path);
            LogSegmentExpired(_logger, stream, name);
        }
        if (_writers.TryGetValue(stream, out var writer))
        {
            writer.FirstSequence = kept;
        }
    }

    // The hash record `first` (the first of its segment) links to: from the segment's first line, or, for the segment just
    // begun and still empty, the stream's tail. Null when neither says.
    private string? LinkInto(string stream, string segment, long first)
    {
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            var line = new ArrayBufferWriter<byte>(4096);
            Span<byte> chunk = stackalloc byte[4096];
            int read;
            while ((read = file.Read(chunk)) > 0)
            {
                var end = chunk[..read].IndexOf((byte)'\n');
                line.Write(chunk[..(end < 0 ? read : end)]);
                if (end >= 0)
                {
                    break;
                }
            }
            var text = line.WrittenSpan;
            var zero = text.IndexOf((byte)0);
            if (zero >= 0)
            {
                text = text[..zero];
            }
            if (text.Length > 0)
            {
                return AuditLine.TryParse(text) is { } parsed && parsed.Sequence == first ? parsed.PreviousHash : null;
            }
        }
        return _writers.TryGetValue(stream, out var writer) && writer.Sequence == first - 1 ? writer.Hash : null;
    }

    // The retention cuts kept for a stream, oldest first (a torn last one, from a crash while keeping it, is left out:
    // its segments were not deleted).
    private List<AuditLine> ReadCuts(string stream)
    {
        var path = Path.Combine(Root, stream, RetentionFile);
        if (!File.Exists(path))
        {
            return [];
        }
        return [.. Split(File.ReadAllBytes(path)).Select(l => AuditLine.TryParse(l.Span)).OfType<AuditLine>()];
    }

    private static void TakeBack(Writer writer, long length)
    {
        try
        {
            writer.File!.SetLength(length);
            writer.File.Flush(flushToDisk: true);
            writer.DataLength = writer.ZeroedLength = length;
        }
        catch (IOException)
        {
            // The file's end is unknown now: reopen on the next append (which removes a torn line and finds the last whole one).
            writer.File?.Dispose();
            writer.File = null;
        }
    }

    private void KeepCheckpoints(string stream, List<AuditLine> checkpoints)
    {
        using var file = new FileStream(Path.Combine(Root, stream, CheckpointFile), FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        file.Write(Encode(EncodedAuditLines.Of(checkpoints), 0).Span);
        file.Flush(flushToDisk: true);
    }

    private async Task<byte[]> ReadSegmentAsync(string stream, string path, CancellationToken cancellationToken)
    {
        long? durable = null;
        lock (_lock)
        {
            if (_writers.TryGetValue(stream, out var writer) && writer.File is not null && writer.CurrentSegment == path)
            {
                durable = writer.DurableLength;
            }
        }
        // The segment being written is read only as far as its last durable batch (a write in flight is not a record yet).
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = (int)Math.Min(durable ?? file.Length, file.Length);
        var bytes = new byte[length];
        await file.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        return bytes;
    }

    private static IEnumerable<AuditLine> Lines(string stream, string path, byte[] bytes)
    {
        // A segment a crash left with zeroed space after its records reads as those records (its partial line, if any,
        // is still reported below).
        if (bytes.AsSpan().IndexOf((byte)0) is var zeroed and >= 0 && !bytes.AsSpan(zeroed).ContainsAnyExcept((byte)0))
        {
            bytes = bytes[..zeroed];
        }
        var end = bytes.AsSpan().LastIndexOf((byte)'\n') + 1;
        foreach (var raw in Split(bytes.AsMemory(0, end)))
        {
            yield return AuditLine.TryParse(raw.Span)
                ?? throw new AuditStoreException($"Audit segment {Path.GetFileName(path)} of stream '{stream}' holds a line that is not an audit record.", null, unreadable: true);
        }
        if (end < bytes.Length)
        {
            throw new AuditStoreException($"Audit segment {Path.GetFileName(path)} of stream '{stream}' ends in a partial record ({bytes.Length - end} bytes): it was truncated or a write never finished.", null, unreadable: true);
        }
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Split(ReadOnlyMemory<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            var at = bytes.Span.IndexOf((byte)'\n');
            if (at < 0)
            {
                yield return bytes;
                yield break;
            }
            if (at > 0)
            {
                yield return bytes[..at];
            }
            bytes = bytes[(at + 1)..];
        }
    }

    // A batch as it is written: one JSON line each. Into the store's one buffer, reused (it is only used under the lock).
    private ReadOnlyMemory<byte> Encode(EncodedAuditLines lines, int from)
    {
        _encoded.ResetWrittenCount();
        for (var i = from; i < lines.Count; i++)
        {
            lines.Line(i).WriteTo(_encoded);
            _encoded.Write("\n"u8);
        }
        return _encoded.WrittenMemory;
    }

    private string SegmentPath(string stream, long firstSequence) => Path.Combine(Root, stream, $"{firstSequence:D16}{SegmentExtension}");

    private List<(long First, string Path)> Segments(string stream)
    {
        var directory = Path.Combine(Root, stream);
        if (!Directory.Exists(directory))
        {
            return [];
        }
        return [.. Directory.EnumerateFiles(directory, "*" + SegmentExtension)
            .Select(p => (Ok: long.TryParse(Path.GetFileNameWithoutExtension(p), out var first), First: first, Path: p))
            .Where(s => s.Ok)
            .Select(s => (s.First, s.Path))
            .OrderBy(s => s.First)];
    }

    private sealed class Writer
    {
        public FileStream? File { get; set; }
        public string CurrentSegment { get; set; } = "";
        public long DurableLength { get; set; }
        /// <summary>Where the records end (the file may be longer: zeroed space ahead).</summary>
        public long DataLength { get; set; }
        /// <summary>The file's length: zeroed and flushed up to here.</summary>
        public long ZeroedLength { get; set; }
        public long Sequence { get; set; }
        public string Hash { get; set; } = "";
        public long FirstSequence { get; set; } = 1;
        public string? Repaired { get; set; }
    }

    [LoggerMessage(EventId = 2600, Level = LogLevel.Warning, Message = "Audit stream {Stream}: removed {Bytes} bytes of an unfinished (never acknowledged) write from segment {Segment}.")]
    private static partial void LogTornTailRemoved(ILogger logger, string stream, int bytes, string segment);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Warning, Message = "Audit stream {Stream}: segments are past their retention but are kept: the store has no signing key to sign the retention cut with.")]
    private static partial void LogRetentionUnsigned(ILogger logger, string stream);

    [LoggerMessage(EventId = 2603, Level = LogLevel.Error, Message = "Audit stream {Stream}: retention deleted nothing, because the stream's records do not start where retention left them (at record {First}): records were removed by something other than retention. Run 'grantctl audit verify'.")]
    private static partial void LogRetentionRefused(ILogger logger, string stream, long first);

    [LoggerMessage(EventId = 2601, Level = LogLevel.Information, Message = "Audit stream {Stream}: segment {Segment} is past its retention and was deleted.")]
    private static partial void LogSegmentExpired(ILogger logger, string stream, string segment);
}

/// <summary>Stream names: 1-64 letters, digits, '-' or '_' (they name directories and table partitions).</summary>
public static class AuditStreams
{
    /// <summary>Whether <paramref name="name"/> can name a stream.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 64 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>A stream name made from anything (a silo name): invalid characters become '-'.</summary>
    public static string FromName(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').Take(64).ToArray();
        return chars.Length == 0 ? "silo" : new string(chars);
    }
}
