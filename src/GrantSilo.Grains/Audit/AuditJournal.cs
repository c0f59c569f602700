using System.Buffers;
using System.Collections.Concurrent;
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
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _silo;
    private readonly int _maxBatch;

    // Records wait in batches, oldest first, for the writer; the newest batch takes new records until the writer takes it
    // or it is full. A batch is acknowledged (or refused) as one: one completion per group commit, never one per record.
    private readonly Lock _gate = new();
    private readonly Queue<Batch> _pending = new();
    private Batch? _open;
    private int _queued;
    private bool _completed;
    // Set while the writer waits for records; the first record after that wakes it (on the thread pool, where it waits its
    // turn behind the decisions already queued: the records they make join the batch).
    private TaskCompletionSource? _idle;
    // Callers waiting for room in a full queue.
    private TaskCompletionSource? _room;

    private Task? _writer;
    // Batches whose callers wait, oldest first, for the sweeper (a timer set for the oldest one's deadline).
    private readonly ConcurrentQueue<Batch> _waiting = new();
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
    // A checkpoint goes with the first write after the stream is opened, so a stream holds records unsigned only while
    // that write is under way (verification treats a stream with no checkpoint as forged).
    private bool _checkpointOwed;
    private volatile bool _checkpointed;
    // The writer's batch as sealed and encoded (reused for every write).
    private readonly EncodedAuditLines _sealed = new();
    // Buffers for bodies encoded ahead: taken by recorders, given back by the writer once their batch is written.
    private readonly BodyBuffers _bodies = new();

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
        _maxBatch = Math.Max(2, options.MaxBatch ?? store.MaxBatch);
    }

    /// <summary>The stream this silo writes.</summary>
    public string Stream { get; }

    /// <summary>
    /// True until this journal has had its first checkpoint written (it goes with the first write after opening the
    /// stream): until then this silo's own stream may hold records and no checkpoint without that being forgery.
    /// </summary>
    public bool AwaitingFirstCheckpoint => !_checkpointed;

    /// <summary>Whether the last write to the store succeeded (false while the store is down).</summary>
    public bool Healthy { get; private set; } = true;

    /// <summary>Store writes made (group commits), and the lines they wrote: lines per write is the group commit's size.</summary>
    public (long Writes, long Lines) Written => (Volatile.Read(ref _writes), Volatile.Read(ref _lines));

    private long _writes;
    private long _lines;

    /// <summary>Records waiting to be written (not yet taken by the writer).</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <inheritdoc />
    /// <remarks>
    /// A record with no silo is written with this silo's name. The returned task completes (on the thread pool, never on the
    /// writer's thread) when the record's batch is durable.
    /// </remarks>
    public ValueTask RecordAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        var entry = new Entry(record);
        // Its body is encoded here, by the caller, in parallel with every other: the writer, alone on the stream, then only
        // hashes and copies it, and a batch is written sooner.
        entry.Encode(_silo, _bodies);
        Batch? batch;
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_completed)
            {
                return ValueTask.FromException(new AuditUnavailableException("The audit writer has stopped (the silo is shutting down)."));
            }
            if (_queued >= _options.QueueCapacity)
            {
                batch = null;
                wake = null;
            }
            else
            {
                batch = AddLocked(entry, out var opened);
                wake = WakeLocked();
                if (opened)
                {
                    _waiting.Enqueue(batch);
                }
            }
        }
        if (batch is null)
        {
            return QueueAsync(entry, cancellationToken);
        }
        wake?.TrySetResult();
        // The sweeper refuses the batch if it is not durable by its deadline: no timer per record or batch.
        if (!Volatile.Read(ref _armed))
        {
            Arm();
        }
        return cancellationToken.CanBeCanceled ? WaitAsync(entry, batch, cancellationToken) : new ValueTask(batch.Done.Task);
    }

    // Adds the record to the open batch, opening one when there is none or it is full.
    private Batch AddLocked(Entry entry, out bool opened)
    {
        opened = false;
        if (_open is not { } batch || batch.Entries.Count >= _maxBatch - 1)
        {
            batch = _open = new Batch(_time.GetUtcNow() + _options.DurableWithin, Math.Min(_maxBatch, 64));
            _pending.Enqueue(batch);
            opened = true;
        }
        batch.Entries.Add(entry);
        _queued++;
        return batch;
    }

    private TaskCompletionSource? WakeLocked()
    {
        var idle = _idle;
        _idle = null;
        return idle;
    }

    // The queue is full: wait for room, for at most the record's bound.
    private async ValueTask QueueAsync(Entry entry, CancellationToken cancellationToken)
    {
        Batch batch;
        TaskCompletionSource? wake = null;
        using (var bound = new CancellationTokenSource(_options.DurableWithin, _time))
        using (var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(bound.Token, cancellationToken) : null)
        {
            while (true)
            {
                Task room;
                lock (_gate)
                {
                    if (_completed)
                    {
                        throw new AuditUnavailableException("The audit writer has stopped (the silo is shutting down).");
                    }
                    if (_queued < _options.QueueCapacity)
                    {
                        batch = AddLocked(entry, out var opened);
                        wake = WakeLocked();
                        if (opened)
                        {
                            _waiting.Enqueue(batch);
                        }
                        break;
                    }
                    room = (_room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                }
                try
                {
                    await room.WaitAsync(linked?.Token ?? bound.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    LogQueueFull(_logger, Queued);
                    Dropped(entry.Record);
                    throw new AuditUnavailableException($"The audit queue is full; the record could not be queued within {_options.DurableWithin.TotalMilliseconds:0} ms.");
                }
            }
            wake?.TrySetResult();
        }
        if (!Volatile.Read(ref _armed))
        {
            Arm();
        }
        if (cancellationToken.CanBeCanceled)
        {
            await WaitAsync(entry, batch, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await batch.Done.Task.ConfigureAwait(false);
        }
    }

    // A caller that may stop waiting before the deadline: refused if its record is not acknowledged by then.
    private static async ValueTask WaitAsync(Entry entry, Batch batch, CancellationToken cancellationToken)
    {
        try
        {
            await batch.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!batch.Done.Task.IsCompleted)
        {
            if (entry.GiveUp())
            {
                throw new AuditUnavailableException("The caller stopped waiting before the record was durable.");
            }
            await batch.Done.Task.ConfigureAwait(false);
        }
    }

    // Refuses every waiting batch at its deadline (or all of them, once the writer has stopped) and forgets the settled
    // ones, then sets the sweeper for the oldest batch still waiting. One timer for all records.
    private void Sweep(bool all)
    {
        lock (_waiting)
        {
            _armed = false;
            var now = _time.GetUtcNow();
            while (_waiting.TryPeek(out var batch))
            {
                if (!batch.Settled && !all && batch.Deadline > now)
                {
                    break;
                }
                _waiting.TryDequeue(out _);
                if (!batch.Settled)
                {
                    lock (_gate)
                    {
                        // No record joins a batch that has been refused.
                        if (_open == batch)
                        {
                            _open = null;
                        }
                    }
                    if (batch.GiveUp())
                    {
                        batch.Done.TrySetException(all
                            ? new AuditUnavailableException("The audit writer stopped (the silo is shutting down) before the record was durable.")
                            : new AuditUnavailableException($"The audit store did not make the record durable within {_options.DurableWithin.TotalMilliseconds:0} ms."));
                    }
                }
            }
            if (!all)
            {
                ArmLocked(now);
            }
        }
    }

    // Sets the sweeper for the oldest waiting batch, unless it is set already.
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

    // The writer has stopped: every batch still waiting is refused, and the sweeper stops.
    private void StopSweeper()
    {
        Sweep(all: true);
        lock (_waiting)
        {
            _swept = true;
            _sweeper?.Dispose();
        }
    }

    // The writer forgets the batches it has just acknowledged, so the sweeper's queue holds only batches in flight.
    private void ForgetSettled()
    {
        lock (_waiting)
        {
            while (_waiting.TryPeek(out var batch) && batch.Settled)
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
        TaskCompletionSource? idle;
        lock (_gate)
        {
            _completed = true;
            idle = WakeLocked();
            _room?.TrySetResult();
        }
        idle?.TrySetResult();
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
            LogStopUnwritten(_logger, Queued);
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

    // The oldest batch, if it has at most `room` records, waiting for one if asked to; null once the journal is stopping and
    // every batch has been taken, or when none is waiting (or it does not fit) and not asked to wait.
    private async ValueTask<Batch?> NextAsync(bool wait, int room, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task idle;
            lock (_gate)
            {
                if (_pending.TryPeek(out var batch))
                {
                    if (batch.Entries.Count > room)
                    {
                        return null;
                    }
                    _pending.Dequeue();
                    if (_open == batch)
                    {
                        _open = null;
                    }
                    _queued -= batch.Entries.Count;
                    if (_room is { } free)
                    {
                        _room = null;
                        free.TrySetResult();
                    }
                    return batch;
                }
                if (_completed || !wait)
                {
                    return null;
                }
                idle = (_idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            await idle.WaitAsync(cancellationToken).ConfigureAwait(false);
            // Woken by a record: the decisions already queued on the thread pool run first, and their records join the batch.
            await Task.Yield();
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        AuditStreamTail? tail = null;
        var records = new List<Sealable>(_maxBatch);
        var carried = new List<AuditRecord>();
        _lastCheckpoint = _time.GetUtcNow();
        while (!cancellationToken.IsCancellationRequested)
        {
            if (tail is null)
            {
                tail = await OpenAsync(cancellationToken).ConfigureAwait(false);
                _checkpointOwed = true;
                if (tail.Repaired is { } repaired)
                {
                    carried.Add(new AuditRecord { Id = AuditIds.New(_time), Kind = AuditEventKind.StreamReopened, At = _time.GetUtcNow(), Silo = _silo, Subject = Stream, Detail = repaired });
                }
            }
            if (TakeDropped() is { } refused)
            {
                carried.Add(refused);
            }
            Batch? batch;
            if (carried.Count == 0)
            {
                batch = await NextAsync(wait: true, room: _maxBatch, cancellationToken).ConfigureAwait(false);
                if (batch is null)
                {
                    // Stopping, and every batch written: a last checkpoint covers everything (and says what the queue refused).
                    List<Sealable> last = TakeDropped() is { } dropped ? [new Sealable(dropped, null)] : [];
                    if (_sinceCheckpoint > 0 || last.Count > 0)
                    {
                        await WriteAsync(tail, last, checkpoint: true, cancellationToken).ConfigureAwait(false);
                    }
                    return;
                }
            }
            else
            {
                // Records carried over (withdrawals, refusals) go with the next batch if it is waiting and fits, or alone.
                batch = await NextAsync(wait: false, room: _maxBatch - 1 - carried.Count, cancellationToken).ConfigureAwait(false);
            }
            records.Clear();
            foreach (var record in carried)
            {
                records.Add(new Sealable(record, null));
            }
            carried.Clear();
            var taken = batch is not null && batch.Take();
            if (batch is not null)
            {
                foreach (var entry in batch.Entries)
                {
                    // A record whose caller was refused before it was taken is written as the deny the caller got.
                    entry.AsIs = taken && entry.Waiting;
                    records.Add(entry.AsIs ? new Sealable(entry.Record, entry) : new Sealable(Denied(entry.Record), null));
                }
            }
            var due = _checkpointOwed || _sinceCheckpoint + records.Count >= _options.CheckpointEvery || _time.GetUtcNow() - _lastCheckpoint >= _options.CheckpointInterval;
            tail = await WriteAsync(tail, records, due, cancellationToken).ConfigureAwait(false);
            if (batch is not null)
            {
                var committed = taken && batch.Commit();
                foreach (var entry in batch.Entries)
                {
                    if (entry.AsIs && (!committed || !entry.Acknowledge()))
                    {
                        // Its caller gave up while the batch was being written, and was denied.
                        carried.Add(Withdrawn(entry.Record));
                    }
                }
                if (committed)
                {
                    // Its callers are told from the thread pool (a continuation queued per caller), while this writer goes on
                    // to seal the next batch.
                    ThreadPool.UnsafeQueueUserWorkItem(static done => done.TrySetResult(), batch.Done, preferLocal: false);
                }
                foreach (var entry in batch.Entries)
                {
                    entry.Release(_bodies);
                }
                ForgetSettled();
            }
        }
    }

    // Seals the records (and a checkpoint) after the tail and writes them, again and again until the store takes them.
    private async Task<AuditStreamTail> WriteAsync(AuditStreamTail tail, List<Sealable> records, bool checkpoint, CancellationToken cancellationToken)
    {
        while (true)
        {
            var lines = Seal(tail, records, checkpoint);
            try
            {
                // A store that blocks (segment files: a write and an fsync) does so on a thread of its own, and this writer
                // continues there with the next batch while there is one.
                await _store.AppendAsync(Stream, lines, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _writes);
                Interlocked.Add(ref _lines, lines.Count);
                if (!Healthy)
                {
                    Healthy = true;
                    LogStoreRecovered(_logger, Stream);
                }
                if (checkpoint)
                {
                    _sinceCheckpoint = 0;
                    _lastCheckpoint = _time.GetUtcNow();
                    _checkpointOwed = false;
                    _checkpointed = true;
                }
                else
                {
                    _sinceCheckpoint += lines.Count;
                }
                if (_records is not null)
                {
                    Ship(lines.Lines);
                }
                return new AuditStreamTail(lines.Sequence(lines.Count - 1), lines.Hash(lines.Count - 1));
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

    private EncodedAuditLines Seal(AuditStreamTail tail, List<Sealable> records, bool checkpoint)
    {
        _sealed.Begin(Stream);
        var sequence = tail.Sequence;
        var hash = tail.Hash;
        foreach (var (record, encoded) in records)
        {
            hash = encoded is not null && encoded.Encoded is { } body
                ? _sealed.Add(++sequence, hash, body.Span[..encoded.JsonLength], body.Span[encoded.JsonLength..])
                : _sealed.Add(++sequence, hash, record, _silo);
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
            _sealed.Add(AuditChain.SealCheckpoint(Stream, ++sequence, hash, record, _keys.SigningKey, _keys.KeyId));
        }
        return _sealed;
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
    private void Ship(IReadOnlyList<AuditLine> lines)
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

    // Buffers of one size (a decision's body and its escaped copy fit), taken by many recorders and given back in bulk by
    // the one writer (the shared array pool keeps what a thread gives back for that thread, and drops the rest); at most
    // enough for a few full batches are kept. A larger body gets an array of its own.
    private sealed class BodyBuffers
    {
        private const int Size = 4096, Kept = 1024;
        private readonly ConcurrentQueue<byte[]> _free = new();
        private int _count;

        public byte[] Take(int length)
        {
            if (length <= Size && _free.TryDequeue(out var buffer))
            {
                Interlocked.Decrement(ref _count);
                return buffer;
            }
            return new byte[length <= Size ? Size : length];
        }

        public void Give(byte[] buffer)
        {
            if (buffer.Length != Size)
            {
                return;
            }
            if (Interlocked.Increment(ref _count) <= Kept)
            {
                _free.Enqueue(buffer);
            }
            else
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    // A record to seal: with its entry when its body was encoded ahead (written as it is), or alone (encoded when sealed).
    private readonly record struct Sealable(AuditRecord Record, Entry? Encoded);

    /// <summary>A queued record, and whether its caller still waits for it.</summary>
    private sealed class Entry(AuditRecord record)
    {
        private const int Waits = 0, Acknowledged = 1, Left = 2;
        private int _state;
        private byte[]? _body;
        private int _length;

        [ThreadStatic]
        private static ArrayBufferWriter<byte>? t_scratch;

        public AuditRecord Record { get; } = record;

        // The record's JSON (JsonLength bytes) then that JSON escaped as a line's body, encoded by its caller; null once
        // released (after its batch was written).
        public ReadOnlyMemory<byte>? Encoded => _body is { } body ? body.AsMemory(0, _length) : null;

        public int JsonLength { get; private set; }

        public void Encode(string silo, BodyBuffers buffers)
        {
            var scratch = t_scratch ??= new ArrayBufferWriter<byte>(4096);
            scratch.ResetWrittenCount();
            var (json, escaped) = AuditChain.EncodeBody(Record, silo, scratch);
            _length = json + escaped;
            JsonLength = json;
            _body = buffers.Take(_length);
            scratch.WrittenSpan.CopyTo(_body);
            if (scratch.Capacity > 65536)
            {
                t_scratch = null;
            }
        }

        // Its batch is written (or the record was rewritten as a deny): the buffer goes back to the pool. Only the writer
        // calls this, once it no longer seals the batch.
        public void Release(BodyBuffers buffers)
        {
            if (_body is { } body)
            {
                _body = null;
                buffers.Give(body);
            }
        }

        // Written as it was (not as a deny): set by the writer when it takes the batch.
        public bool AsIs { get; set; }

        // Its caller still waits (has not given up).
        public bool Waiting => Volatile.Read(ref _state) == Waits;

        // The batch is durable: true when its caller still waited (and is now told).
        public bool Acknowledge() => Interlocked.CompareExchange(ref _state, Acknowledged, Waits) == Waits;

        // Its caller stops waiting: true when the record was not acknowledged, so the caller must be refused.
        public bool GiveUp() => Interlocked.CompareExchange(ref _state, Left, Waits) == Waits;
    }

    /// <summary>
    /// Records written together (one group commit), acknowledged or refused together: pending until the writer takes it,
    /// then committed, or abandoned (refused before it was taken: written as denies) or given up (refused while it was being
    /// written: withdrawn afterwards).
    /// </summary>
    private sealed class Batch(DateTimeOffset deadline, int capacity)
    {
        private int _state;

        public List<Entry> Entries { get; } = new(capacity);

        // When its callers are refused if it is not durable by then: its first record's bound.
        public DateTimeOffset Deadline { get; } = deadline;

        // Acknowledged or refused: nobody waits for it any more.
        public bool Settled => Volatile.Read(ref _state) is Committed or Abandoned or GaveUp;

        // Completes on the thread pool: the writer's thread never runs its callers' continuations.
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // The writer takes it: true when its callers still wait.
        public bool Take() => Interlocked.CompareExchange(ref _state, Taken, Pending) == Pending;

        // It is durable: true when its callers still wait (and are told by the caller of this).
        public bool Commit() => Interlocked.CompareExchange(ref _state, Committed, Taken) == Taken;

        // Its deadline passed: true when it was not acknowledged, so its callers must be refused.
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

/// <summary>Record ids: time-ordered (UUID version 7, as 32 lower-case hex digits), so ids sort roughly by when they were made.</summary>
public static class AuditIds
{
    // Random bits for ids, drawn from the cryptographic generator a block at a time (one id per decision: a call into the
    // generator for every id cost more than the rest of the id).
    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_used;

    /// <summary>A new id.</summary>
    public static string New(TimeProvider time)
    {
        var random = t_random ??= new byte[1024];
        if (t_used == 0 || t_used + 10 > random.Length)
        {
            System.Security.Cryptography.RandomNumberGenerator.Fill(random);
            t_used = 0;
        }
        Span<byte> uuid = stackalloc byte[16];
        var milliseconds = time.GetUtcNow().ToUnixTimeMilliseconds();
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(uuid[..8], milliseconds << 16);
        random.AsSpan(t_used, 10).CopyTo(uuid[6..]);
        random.AsSpan(t_used, 10).Clear();
        t_used += 10;
        // RFC 9562: version 7 in the high nibble of byte 6, the variant (10) in the high bits of byte 8.
        uuid[6] = (byte)(0x70 | (uuid[6] & 0x0F));
        uuid[8] = (byte)(0x80 | (uuid[8] & 0x3F));
        return Convert.ToHexStringLower(uuid);
    }
}
