using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using GrantSilo.Grains.Hosting;

namespace GrantSilo.Grains.Audit;

/// <summary>
/// The silo's audit writer: records queue (bounded), one writer seals them into this silo's stream (hash chain) and writes
/// each batch with one store write (group commit), adding a signed checkpoint now and then. A record is acknowledged
/// (<see cref="RecordAsync"/> returns) only once its batch is durable; a record not durable within
/// <see cref="AuditOptions.DurableWithin"/> is refused (<see cref="AuditUnavailableException"/>), and the writer keeps the
/// store's failures to itself, retrying until the store returns.
/// </summary>
/// <remarks>
/// A decision that gave up waiting was denied, and the log says so: if its record had not been taken into a batch yet it is
/// written as that deny (<see cref="DecisionReason.AuditUnavailable"/>); if it was already being written, a
/// <see cref="AuditEventKind.DecisionWithdrawn"/> record follows it, naming it.
/// </remarks>
public sealed partial class AuditJournal : IAuditTrail, ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private const int Pending = 0, Taken = 1, Abandoned = 2, Committed = 3, GaveUp = 4;

    private readonly IAuditStore _store;
    private readonly AuditKeys _keys;
    private readonly AuditOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditJournal> _logger;
    private readonly Channel<Entry> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _silo;
    private readonly int _maxBatch;
    private Task? _writer;
    // Records whose callers wait, oldest first, for the sweeper (a timer set for the oldest one's deadline).
    private readonly ConcurrentQueue<Entry> _waiting = new();
    private ITimer? _sweeper;
    // Records the full queue refused since the last RecordsDropped record, by kind.
    private readonly Dictionary<AuditEventKind, long> _dropped = [];
    private DateTimeOffset? _droppedSince;
    private DateTimeOffset _droppedUntil;
    private bool _armed;
    // Set once the writer has stopped and every record still waiting was refused.
    private bool _swept;
    private long _sinceCheckpoint;
    private DateTimeOffset _lastCheckpoint;

    /// <summary>The logger category every durable record is emitted on when <see cref="AuditOptions.LogRecords"/> is set.</summary>
    public const string RecordsCategory = "GrantSilo.Audit.Records";

    private readonly ILogger? _records;

    public AuditJournal(IAuditStore store, AuditKeys keys, IOptions<AuditOptions> options, [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time, ILocalSiloDetails silo, ILogger<AuditJournal> logger, ILoggerFactory loggers)
        : this(store, keys, options.Value, time, silo.Name, logger, options.Value.LogRecords ? loggers.CreateLogger(RecordsCategory) : null)
    {
    }

    /// <summary>A journal outside a silo (tests, measurements): call <see cref="Start"/>.</summary>
    public AuditJournal(IAuditStore store, AuditKeys keys, AuditOptions options, TimeProvider time, string silo, ILogger<AuditJournal> logger, ILogger? records = null)
    {
        _records = records;
        _store = store;
        _keys = keys;
        _options = options;
        _time = time;
        _silo = silo;
        _logger = logger;
        Stream = options.Stream ?? (store is FileAuditStore or MemoryAuditStore ? "local" : AuditStreams.FromName(silo));
        _maxBatch = options.MaxBatch ?? store.MaxBatch;
        _queue = Channel.CreateBounded<Entry>(new BoundedChannelOptions(options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>The stream this silo writes.</summary>
    public string Stream { get; }

    /// <summary>Whether the last write to the store succeeded (false while the store is down).</summary>
    public bool Healthy { get; private set; } = true;

    /// <summary>Records waiting to be written.</summary>
    public int Queued => _queue.Reader.Count;

    /// <inheritdoc />
    public ValueTask RecordAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        var entry = new Entry(record.Silo is null ? record with { Silo = _silo } : record, _time.GetUtcNow() + _options.DurableWithin);
        if (!_queue.Writer.TryWrite(entry))
        {
            return QueueAsync(entry, cancellationToken);
        }
        _waiting.Enqueue(entry);
        // The sweeper refuses it if it is not durable by its deadline: no timer per record.
        if (!Volatile.Read(ref _armed))
        {
            Arm();
        }
        return cancellationToken.CanBeCanceled ? WaitAsync(entry, cancellationToken) : new ValueTask(entry.Done.Task);
    }

    // The queue is full: wait for room, for at most the record's bound.
    private async ValueTask QueueAsync(Entry entry, CancellationToken cancellationToken)
    {
        using (var bound = new CancellationTokenSource(_options.DurableWithin, _time))
        using (var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(bound.Token, cancellationToken) : null)
        {
            try
            {
                await _queue.Writer.WriteAsync(entry, linked?.Token ?? bound.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                LogQueueFull(_logger, _queue.Reader.Count);
                Dropped(entry.Record);
                throw new AuditUnavailableException($"The audit queue is full; the record could not be queued within {_options.DurableWithin.TotalMilliseconds:0} ms.");
            }
            catch (ChannelClosedException)
            {
                throw new AuditUnavailableException("The audit writer has stopped (the silo is shutting down).");
            }
        }
        _waiting.Enqueue(entry);
        if (!Volatile.Read(ref _armed))
        {
            Arm();
        }
        if (cancellationToken.CanBeCanceled)
        {
            await WaitAsync(entry, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await entry.Done.Task.ConfigureAwait(false);
        }
    }

    // A caller that may stop waiting before the deadline: refused if its record is not acknowledged by then.
    private static async ValueTask WaitAsync(Entry entry, CancellationToken cancellationToken)
    {
        try
        {
            await entry.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!entry.Done.Task.IsCompleted)
        {
            if (entry.GiveUp())
            {
                throw new AuditUnavailableException("The caller stopped waiting before the record was durable.");
            }
            await entry.Done.Task.ConfigureAwait(false);
        }
    }

    // Refuses every waiting record at its deadline (or all of them, once the writer has stopped) and forgets the settled
    // ones, then sets the sweeper for the oldest record still waiting. One timer for all records, never one per record.
    private void Sweep(bool all)
    {
        lock (_waiting)
        {
            _armed = false;
            var now = _time.GetUtcNow();
            while (_waiting.TryPeek(out var entry))
            {
                if (!entry.Settled && !all && entry.Deadline > now)
                {
                    break;
                }
                _waiting.TryDequeue(out _);
                if (!entry.Settled && entry.GiveUp())
                {
                    entry.Done.TrySetException(all
                        ? new AuditUnavailableException("The audit writer stopped (the silo is shutting down) before the record was durable.")
                        : new AuditUnavailableException($"The audit store did not make the record durable within {_options.DurableWithin.TotalMilliseconds:0} ms."));
                }
            }
            if (!all)
            {
                ArmLocked(now);
            }
        }
    }

    // Sets the sweeper for the oldest waiting record, unless it is set already.
    private void Arm()
    {
        lock (_waiting)
        {
            ArmLocked(_time.GetUtcNow());
        }
    }

    private void ArmLocked(DateTimeOffset now)
    {
        if (!_armed && _sweeper is not null && !_swept && _waiting.TryPeek(out var head))
        {
            _armed = true;
            var due = head.Deadline - now;
            _sweeper.Change(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }

    // The writer has stopped: every record still waiting is refused, and the sweeper stops.
    private void StopSweeper()
    {
        Sweep(all: true);
        lock (_waiting)
        {
            _swept = true;
            _sweeper?.Dispose();
        }
    }

    // The writer forgets the records it has just acknowledged, so the sweeper's queue holds only records in flight.
    private void ForgetSettled()
    {
        lock (_waiting)
        {
            while (_waiting.TryPeek(out var entry) && entry.Settled)
            {
                _waiting.TryDequeue(out _);
            }
        }
    }

    /// <summary>Starts the writer.</summary>
    public void Start()
    {
        _sweeper ??= _time.CreateTimer(_ => Sweep(all: false), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Arm();
        _writer ??= Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Stops taking records, writes those queued (for at most <paramref name="drainFor"/>), then stops the writer.</summary>
    public async Task StopAsync(TimeSpan drainFor)
    {
        // Stopped once: by the silo's lifecycle or by disposal, whichever comes first.
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        _queue.Writer.TryComplete();
        if (_writer is null)
        {
            StopSweeper();
            return;
        }
        try
        {
            // On the wall clock: a stop is bounded in real time, whatever clock decisions are made by.
            await _writer.WaitAsync(drainFor, TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogStopUnwritten(_logger, _queue.Reader.Count);
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _writer.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            StopSweeper();
        }
    }

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(AuditJournal), ServiceLifecycleStage.ApplicationServices, _ => { Start(); return Task.CompletedTask; }, _ => StopAsync(TimeSpan.FromSeconds(5)));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // The container disposes the journal once per registration that hands it out (itself, the trail, the lifecycle
        // participant): only the first disposal stops it.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await StopAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private int _disposed;
    private int _stopped;

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        AuditStreamTail? tail = null;
        var entries = new List<Entry>(_maxBatch);
        var records = new List<AuditRecord>(_maxBatch);
        var carried = new List<AuditRecord>();
        _lastCheckpoint = _time.GetUtcNow();
        while (!cancellationToken.IsCancellationRequested)
        {
            if (tail is null)
            {
                tail = await OpenAsync(cancellationToken).ConfigureAwait(false);
                if (tail.Repaired is { } repaired)
                {
                    carried.Add(new AuditRecord { Id = AuditIds.New(_time), Kind = AuditEventKind.StreamReopened, At = _time.GetUtcNow(), Silo = _silo, Subject = Stream, Detail = repaired });
                }
            }
            if (TakeDropped() is { } refused)
            {
                carried.Add(refused);
            }
            if (carried.Count == 0 && !_queue.Reader.TryPeek(out _))
            {
                if (!await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    // Completed and drained: a last checkpoint covers everything written (and says what the queue refused).
                    List<AuditRecord> last = TakeDropped() is { } dropped ? [dropped] : [];
                    if (_sinceCheckpoint > 0 || last.Count > 0)
                    {
                        tail = await WriteAsync(tail, last, checkpoint: true, cancellationToken).ConfigureAwait(false);
                    }
                    return;
                }
            }
            entries.Clear();
            records.Clear();
            records.AddRange(carried);
            carried.Clear();
            while (records.Count + entries.Count < _maxBatch - 1 && _queue.Reader.TryRead(out var entry))
            {
                entries.Add(entry);
            }
            foreach (var entry in entries)
            {
                records.Add(entry.Take() ? entry.Record : Denied(entry.Record));
            }
            var due = _sinceCheckpoint + records.Count >= _options.CheckpointEvery || _time.GetUtcNow() - _lastCheckpoint >= _options.CheckpointInterval;
            tail = await WriteAsync(tail, records, due, cancellationToken).ConfigureAwait(false);
            foreach (var entry in entries)
            {
                if (!entry.Commit())
                {
                    // Its caller gave up while the batch was being written, and was denied.
                    carried.Add(Withdrawn(entry.Record));
                }
            }
            ForgetSettled();
        }
    }

    // Seals the records (and a checkpoint) after the tail and writes them, again and again until the store takes them.
    private async Task<AuditStreamTail> WriteAsync(AuditStreamTail tail, List<AuditRecord> records, bool checkpoint, CancellationToken cancellationToken)
    {
        while (true)
        {
            var lines = Seal(tail, records, checkpoint);
            try
            {
                await _store.AppendAsync(Stream, lines, cancellationToken).ConfigureAwait(false);
                if (!Healthy)
                {
                    Healthy = true;
                    LogStoreRecovered(_logger, Stream);
                }
                if (checkpoint)
                {
                    _sinceCheckpoint = 0;
                    _lastCheckpoint = _time.GetUtcNow();
                }
                else
                {
                    _sinceCheckpoint += lines.Count;
                }
                if (_records is not null)
                {
                    Ship(lines);
                }
                return new AuditStreamTail(lines[^1].Sequence, lines[^1].Hash);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (Healthy)
                {
                    Healthy = false;
                    LogStoreFailed(_logger, e, Stream);
                }
                if (e is AuditStoreException { Conflict: true })
                {
                    // The stream moved on without this writer: continue from where it ends now.
                    tail = await OpenAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                await Task.Delay(_options.RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private List<AuditLine> Seal(AuditStreamTail tail, List<AuditRecord> records, bool checkpoint)
    {
        var lines = new List<AuditLine>(records.Count + 1);
        var sequence = tail.Sequence;
        var hash = tail.Hash;
        foreach (var record in records)
        {
            var line = AuditChain.Seal(Stream, ++sequence, hash, record);
            lines.Add(line);
            hash = line.Hash;
        }
        if (checkpoint)
        {
            var record = new AuditRecord
            {
                Id = AuditIds.New(_time),
                Kind = AuditEventKind.Checkpoint,
                At = _time.GetUtcNow(),
                Silo = _silo,
                Subject = Stream,
                Detail = $"Signed checkpoint over records 1-{sequence} of stream {Stream}.",
            };
            lines.Add(AuditChain.SealCheckpoint(Stream, ++sequence, hash, record, _keys.SigningKey, _keys.KeyId));
        }
        return lines;
    }

    private async Task<AuditStreamTail> OpenAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                // A writer whose hash key differs from the store's other writers' writes nothing: decisions are denied
                // (fail closed) and the log says why, until the silo is given the cluster's key.
                await _store.AgreeOnHashKeyAsync(_keys.HashKeyId, cancellationToken).ConfigureAwait(false);
                return await _store.OpenAsync(Stream, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (Healthy)
                {
                    Healthy = false;
                    LogStoreFailed(_logger, e, Stream);
                }
                await Task.Delay(_options.RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // Durable records as log records, for an OpenTelemetry logs exporter (a SIEM). Their stream, sequence and hash let the
    // SIEM's copy be checked against an export.
    private void Ship(List<AuditLine> lines)
    {
        foreach (var line in lines)
        {
            if (line.TryReadRecord() is { } r)
            {
                LogRecord(_records!, r.Id, r.Kind, line.Stream, line.Sequence, line.Hash, r.At, r.Decision, r.Reason, r.Agent, r.TaskId, r.CredentialId, r.CallerName, r.Action,
                    r.ResourceType is null ? null : $"{r.ResourceType}:{r.ResourcePath}", r.RootPerson, r.Cause ?? r.Detail);
            }
        }
    }

    // A record the full queue refused: counted, and named in a RecordsDropped record once there is room.
    private void Dropped(AuditRecord record)
    {
        lock (_dropped)
        {
            _dropped[record.Kind] = _dropped.GetValueOrDefault(record.Kind) + 1;
            _droppedSince ??= record.At;
            _droppedUntil = record.At;
        }
    }

    private AuditRecord? TakeDropped()
    {
        lock (_dropped)
        {
            if (_dropped.Count == 0)
            {
                return null;
            }
            var total = _dropped.Values.Sum();
            var counts = string.Join(", ", _dropped.OrderBy(d => d.Key).Select(d => $"{d.Key} {d.Value}"));
            var record = new AuditRecord
            {
                Id = AuditIds.New(_time),
                Kind = AuditEventKind.RecordsDropped,
                At = _time.GetUtcNow(),
                Silo = _silo,
                Subject = Stream,
                Detail = $"The full audit queue refused {total} record{(total == 1 ? "" : "s")} made between {_droppedSince:O} and {_droppedUntil:O}, so they were never written: {counts}. Their callers were told (decisions were denied).",
            };
            _dropped.Clear();
            _droppedSince = null;
            return record;
        }
    }

    // A decision whose caller gave up before its record was written: written as the deny the caller got.
    private AuditRecord Denied(AuditRecord record) => record.Kind != AuditEventKind.Decision ? record : record with
    {
        Decision = DecisionKind.Deny,
        Reason = DecisionReason.AuditUnavailable,
        Detail = $"Decided {record.Decision} ({record.Reason}), but the record was not durable within {_options.DurableWithin.TotalMilliseconds:0} ms: the caller was denied.",
    };

    private AuditRecord Withdrawn(AuditRecord record) => new()
    {
        Id = AuditIds.New(_time),
        Kind = record.Kind == AuditEventKind.Decision ? AuditEventKind.DecisionWithdrawn : record.Kind,
        At = _time.GetUtcNow(),
        Silo = _silo,
        CauseId = record.Id,
        CredentialId = record.CredentialId,
        TaskId = record.TaskId,
        TaskChain = record.TaskChain,
        Agent = record.Agent,
        RootPerson = record.RootPerson,
        Decision = record.Kind == AuditEventKind.Decision ? DecisionKind.Deny : null,
        Reason = record.Kind == AuditEventKind.Decision ? DecisionReason.AuditUnavailable : null,
        Detail = record.Kind == AuditEventKind.Decision
            ? $"Decision {record.Id} was recorded after its caller had waited {_options.DurableWithin.TotalMilliseconds:0} ms; the caller was denied (AuditUnavailable)."
            : $"Record {record.Id} became durable after its caller stopped waiting.",
    };

    /// <summary>A queued record and its acknowledgement.</summary>
    private sealed class Entry(AuditRecord record, DateTimeOffset deadline)
    {
        private int _state;

        public AuditRecord Record { get; } = record;

        // When its caller is refused if the record is not durable by then.
        public DateTimeOffset Deadline { get; } = deadline;

        // Acknowledged or refused: nobody waits for it any more.
        public bool Settled => Volatile.Read(ref _state) is Committed or Abandoned or GaveUp;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // The writer takes it into a batch: true when its caller still waits.
        public bool Take() => Interlocked.CompareExchange(ref _state, Taken, Pending) == Pending;

        // The batch is durable: true when its caller still waits (and is now told).
        public bool Commit()
        {
            if (Interlocked.CompareExchange(ref _state, Committed, Taken) != Taken)
            {
                return Volatile.Read(ref _state) == Abandoned;
            }
            Done.TrySetResult();
            return true;
        }

        // Its caller stops waiting: true when the record is not (yet) acknowledged, so the caller must be refused.
        public bool GiveUp()
        {
            var prior = Interlocked.CompareExchange(ref _state, Abandoned, Pending);
            if (prior == Pending)
            {
                return true;
            }
            return prior == Taken && Interlocked.CompareExchange(ref _state, GaveUp, Taken) == Taken;
        }
    }

    [LoggerMessage(EventId = 2500, Level = LogLevel.Error, Message = "The audit store failed writing stream {Stream}; decisions are denied until it returns. The writer retries.")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string stream);

    [LoggerMessage(EventId = 2501, Level = LogLevel.Warning, Message = "The audit store is writing stream {Stream} again.")]
    private static partial void LogStoreRecovered(ILogger logger, string stream);

    [LoggerMessage(EventId = 2502, Level = LogLevel.Warning, Message = "The audit queue is full ({Queued} records waiting); a record was refused.")]
    private static partial void LogQueueFull(ILogger logger, int queued);

    [LoggerMessage(EventId = 2510, Level = LogLevel.Information, Message = "Audit {AuditKind} {AuditRecordId} at {At}: {Decision} {Reason} agent {Agent} task {TaskId} credential {CredentialId} caller {Caller} {Action} {Resource} for {RootPerson}; {Cause} [{AuditStream}#{AuditSequence} {AuditHash}]")]
    private static partial void LogRecord(ILogger logger, string auditRecordId, AuditEventKind auditKind, string auditStream, long auditSequence, string auditHash, DateTimeOffset at,
        DecisionKind? decision, DecisionReason? reason, string? agent, string? taskId, string? credentialId, string? caller, string? action, string? resource, string? rootPerson, string? cause);

    [LoggerMessage(EventId = 2503, Level = LogLevel.Error, Message = "The silo stopped with {Queued} audit records unwritten (none of them acknowledged).")]
    private static partial void LogStopUnwritten(ILogger logger, int queued);
}

/// <summary>Record ids: time-ordered (UUID version 7), so ids sort roughly by when they were made.</summary>
public static class AuditIds
{
    /// <summary>A new id.</summary>
    public static string New(TimeProvider time) => Guid.CreateVersion7(time.GetUtcNow()).ToString("N");
}
