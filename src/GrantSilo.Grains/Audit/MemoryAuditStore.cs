namespace GrantSilo.Grains.Audit;

/// <summary>
/// Keeps audit lines in memory: for tests, and for a silo with the durable audit turned off (<see cref="AuditOptions.Enabled"/>
/// false), where it keeps the newest lines only (bounded). Never durable.
/// </summary>
/// <param name="capacity">
/// The most lines a stream keeps: past it, the oldest tenth are dropped, as retention would, and with
/// <paramref name="keys"/> a signed retention cut says so (without them a shortened stream no longer verifies).
/// </param>
/// <param name="keys">The audit keys, to sign retention cuts with.</param>
public sealed class MemoryAuditStore(int capacity = int.MaxValue, AuditKeys? keys = null) : IAuditStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, AuditLine> _cuts = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, List<AuditLine>> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<AuditLine>> _checkpoints = new(StringComparer.Ordinal);

    /// <summary>When set, every call fails (a store that is down), for tests.</summary>
    public Exception? FailWith { get; set; }

    /// <summary>When set, appends wait for it (a stalled store), for tests.</summary>
    public Task? StallUntil { get; set; }

    private TaskCompletionSource _appendStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the next append begins (whatever its outcome), for tests.</summary>
    public Task NextAppendAsync()
    {
        lock (_lock)
        {
            return _appendStarted.Task;
        }
    }

    /// <inheritdoc />
    public int MaxBatch => 1000;

    /// <summary>How many appends have been made (group commits).</summary>
    public int Appends { get; private set; }

    /// <inheritdoc />
    public Task<AuditStreamTail> OpenAsync(string stream, CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        lock (_lock)
        {
            var lines = Lines(stream);
            return Task.FromResult(lines.Count == 0 ? new AuditStreamTail(0, "") : new AuditStreamTail(lines[^1].Sequence, lines[^1].Hash) { FirstSequence = lines[0].Sequence });
        }
    }

    /// <inheritdoc />
    public async Task AppendAsync(string stream, IReadOnlyList<AuditLine> lines, CancellationToken cancellationToken)
    {
        TaskCompletionSource started;
        lock (_lock)
        {
            started = _appendStarted;
            _appendStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        started.TrySetResult();
        if (StallUntil is { } stall)
        {
            await stall.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        ThrowIfFailing();
        lock (_lock)
        {
            var held = Lines(stream);
            var next = held.Count == 0 ? 1 : held[^1].Sequence + 1;
            foreach (var line in lines)
            {
                if (line.Sequence < next)
                {
                    var index = (int)(line.Sequence - held[0].Sequence);
                    if (index < 0 || held[index].Hash != line.Hash)
                    {
                        throw new AuditStoreException($"Audit stream '{stream}' already holds a different record {line.Sequence}.", null, conflict: true);
                    }
                    continue;
                }
                if (line.Sequence != next)
                {
                    throw new AuditStoreException($"Audit stream '{stream}' ends at {next - 1}; record {line.Sequence} does not follow it.", null, conflict: true);
                }
                held.Add(line);
                if (line.IsCheckpoint)
                {
                    if (!_checkpoints.TryGetValue(stream, out var kept))
                    {
                        _checkpoints[stream] = kept = [];
                    }
                    kept.Add(line);
                }
                next++;
            }
            if (held.Count > capacity)
            {
                // A tenth more than needed, so a full stream signs a cut once in a while rather than on every append.
                held.RemoveRange(0, Math.Min(held.Count - 1, held.Count - capacity + capacity / 10));
                if (keys is not null)
                {
                    _cuts[stream] = AuditChain.SealRetentionCut(stream, held[0].Sequence - 1, held[0].PreviousHash, new AuditRecord
                    {
                        Id = AuditIds.New(TimeProvider.System),
                        Kind = AuditEventKind.RetentionCut,
                        At = held[0].TryReadRecord()?.At ?? DateTimeOffset.UnixEpoch,
                        Subject = stream,
                        Detail = $"Records before {held[0].Sequence} of stream {stream} were dropped from memory (a stream keeps at most {capacity}).",
                    }, keys.SigningKey, keys.KeyId);
                }
            }
            Appends++;
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListStreamsAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<string>>([.. _streams.Keys]);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditLine> ReadAsync(string stream, long fromSequence, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        AuditLine[] lines;
        lock (_lock)
        {
            var held = Lines(stream);
            // A stream that was shortened begins with the signed cut that says so.
            AuditLine[] cut = held.Count > 0 && _cuts.TryGetValue(stream, out var c) && c.Sequence == held[0].Sequence - 1 && c.Sequence >= fromSequence ? [c] : [];
            lines = [.. cut, .. held.Where(l => l.Sequence >= fromSequence)];
        }
        foreach (var line in lines)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return line;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditLine> ReadBackwardAsync(string stream, long toSequence, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        var taken = new List<AuditLine>();
        lock (_lock)
        {
            var held = Lines(stream);
            for (var i = held.Count - 1; i >= 0; i--)
            {
                if (held[i].Sequence <= toSequence)
                {
                    taken.Add(held[i]);
                }
            }
            if (held.Count > 0 && _cuts.TryGetValue(stream, out var c) && c.Sequence == held[0].Sequence - 1 && c.Sequence <= toSequence)
            {
                taken.Add(c);
            }
        }
        foreach (var line in taken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return line;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditLine>> ReadCheckpointsAsync(string stream, CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<AuditLine>>(_checkpoints.TryGetValue(stream, out var kept) ? [.. kept] : []);
        }
    }

    /// <summary>Replaces a stored line (a tamperer), for tests.</summary>
    public void Tamper(string stream, Func<List<AuditLine>, List<AuditLine>> change)
    {
        lock (_lock)
        {
            _streams[stream] = change(Lines(stream));
        }
    }

    private List<AuditLine> Lines(string stream)
    {
        if (!_streams.TryGetValue(stream, out var lines))
        {
            _streams[stream] = lines = [];
        }
        return lines;
    }

    private void ThrowIfFailing()
    {
        if (FailWith is { } failure)
        {
            throw new AuditStoreException("The audit store is unavailable (test).", failure);
        }
    }
}
