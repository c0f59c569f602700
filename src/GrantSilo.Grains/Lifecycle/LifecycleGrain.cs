using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Lifecycle;

/// <summary>
/// What agents, tasks, sessions and credentials share, as a thin base over components that join the
/// grain's lifecycle: <see cref="DurableState{TState}"/> (one write at a time, never rolled back, an
/// unknown outcome settled by reading back), <see cref="WakeUps"/> (a timer while active, a reminder
/// that survives deactivation and crashes), <see cref="CascadeRunner"/> (recording an end on everything
/// below it) and the <see cref="LeaseLedger"/> of decision leases granted. The grain supplies a single
/// idempotent tick that enacts due transitions. Ticks may be missed, late or doubled; correctness never
/// waits for one, because every decision re-checks the clock.
/// </summary>
internal abstract class LifecycleGrain<TState> : Grain, IRemindable, IKeyedGrain
    where TState : class, new()
{
    private GrantError? _keyError;
    private bool _keyChecked;

    private readonly DurableState<TState> _state;
    private readonly WakeUps _wakeUps;
    private readonly CascadeRunner _cascade;
    private readonly DeferredWrite? _deferredIndex;

    protected LifecycleGrain(IPersistentState<TState> state, LifecycleServices services, ILogger logger)
    {
        Time = services.Time;
        Options = services.Options;
        Logger = logger;
        LeaseClock = services.LeaseClock;
        SiloLease = services.SiloLease;
        Audit = services.Audit;
        AuditKeys = services.AuditKeys;
        SiloName = services.SiloName;
        Audited = new Audit.LifecycleAudit(services.Audit, services.Time, services.SiloName, logger, Kind);
        Leases = new LeaseLedger(LeaseClock, Options.DecisionLeaseDuration, Options.MaxLeaseHoldersPerSource);
        _state = new DurableState<TState>(state, logger, Kind, () => ShownKey, DeactivateOnIdle);
        _wakeUps = new WakeUps(this, TickAsync, DueAt, () => Exists, Time, Options, UsesReminder, logger, Kind);
        _cascade = new CascadeRunner(this, GrainFactory, () => PendingSteps, () => WriteCascadeProgressAsync(), TickAsync, Time, Options, logger, Kind, services.CascadeSteps);
        _deferredIndex = DefersIndexWrites ? new DeferredWrite(this, nameof(WriteDeferredIndexAsync), () => WriteDeferredIndexAsync()) : null;
    }

    /// <summary>Where decisions and lifecycle events are recorded.</summary>
    protected Audit.IAuditTrail Audit { get; }

    /// <summary>Records this grain's lifecycle events.</summary>
    protected Audit.LifecycleAudit Audited { get; }

    /// <summary>The audit log's keys.</summary>
    protected Audit.AuditKeys AuditKeys { get; }

    /// <summary>This silo's name, as audit records name it.</summary>
    protected string SiloName { get; }

    /// <summary>Whether this silo is still known to be a live member of the cluster.</summary>
    protected ISiloLease SiloLease { get; }

    /// <summary>
    /// True while a failed write's outcome is unknown: every answer that could allow must then fail
    /// closed, and every read must say it is unavailable.
    /// </summary>
    protected bool Unsettled => _state.Unsettled;

    /// <summary>False for grains that never grant decision leases (credentials): no grace after activation.</summary>
    protected virtual bool GrantsLeases => true;

    protected TimeProvider Time { get; }

    /// <summary>The monotonic clock decision leases are counted on.</summary>
    protected TimeProvider LeaseClock { get; }

    /// <summary>The decision leases this grain granted (agents, tasks and sessions grant them).</summary>
    protected LeaseLedger Leases { get; }

    protected GrantSiloOptions Options { get; }

    protected ILogger Logger { get; }

    protected TState State => _state.State;

    protected bool Exists => _state.Exists;

    protected DateTimeOffset Now => Time.GetUtcNow();

    protected string Key => this.GetPrimaryKeyString();

    /// <summary>
    /// The key as an error or a log may show it (<see cref="Untrusted.Id"/>): a grain can be addressed by
    /// any string, a token passed by mistake for an id among them, and no answer may repeat its secret.
    /// </summary>
    protected string ShownKey => Untrusted.Id(Key);

    /// <summary>
    /// Null when this grain's key is well formed for its kind (<see cref="GrainKeys"/>); the refusal otherwise.
    /// Checked once per activation; <see cref="GrainKeyCallFilter"/> refuses every call while it is set.
    /// </summary>
    public GrantError? KeyError
    {
        get
        {
            if (!_keyChecked)
            {
                _keyError = GrainKeys.Check(Kind, Key);
                _keyChecked = true;
            }
            return _keyError;
        }
    }

    /// <summary>The kind of object, for logs and the cascade monitor: agent, task, session, credential.</summary>
    protected abstract string Kind { get; }

    /// <summary>When the tick should next run, or null when nothing is left to enact.</summary>
    protected abstract DateTimeOffset? NextDue(DateTimeOffset now);

    /// <summary>Enacts whatever is due now. Must be idempotent.</summary>
    protected abstract Task OnTickAsync();

    /// <summary>
    /// False for grains whose due transitions another grain's reminder already covers (credentials:
    /// their session's reminder enacts their expiry), saving a reminder write per grain.
    /// </summary>
    protected virtual bool UsesReminder => true;

    /// <summary>How many cascade steps are not yet confirmed.</summary>
    protected abstract int PendingSteps { get; }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Exists)
        {
            // An earlier activation may have granted decision leases this one does not know of.
            if (GrantsLeases)
            {
                Leases.StartGrace();
            }
            // Ended objects with nothing left to enact need no timer or reminder; idle collection
            // deactivates them like any other grain.
            if (DueAt(Now) is not null)
            {
                await ScheduleAsync();
            }
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        reminderName == WakeUps.ReminderName ? _wakeUps.OnReminderAsync() : Task.CompletedTask;

    protected async Task TickAsync()
    {
        if (!Exists)
        {
            await _wakeUps.UnscheduleAsync();
            return;
        }
        await OnTickAsync();
        await ScheduleAsync();
    }

    /// <summary>Arms the timer and the reminder for the next due time, or clears them when nothing is due.</summary>
    protected Task ScheduleAsync() => _wakeUps.ScheduleAsync();

    /// <inheritdoc cref="DurableState{TState}.TryWriteAsync"/>
    protected Task<bool> TryWriteAsync() => _state.TryWriteAsync();

    /// <inheritdoc cref="DurableState{TState}.ExistsInStorageAsync"/>
    protected Task<bool> ExistsInStorageAsync() => _state.ExistsInStorageAsync();

    /// <inheritdoc cref="DurableState{TState}.DurableAsync"/>
    protected ValueTask<bool> DurableAsync() => _state.DurableAsync();

    /// <inheritdoc cref="DurableState{TState}.ReadDurableAsync"/>
    protected Task<GrantResult<T>> ReadDurableAsync<T>(Func<GrantResult<T>> read) => _state.ReadDurableAsync(read);

    /// <summary>
    /// Makes the confirmed steps of a cascade run durable. Grains whose pending sets live in an index beside
    /// their record write that index instead.
    /// </summary>
    protected virtual Task<bool> WriteCascadeProgressAsync() => TryWriteAsync();

    /// <summary>
    /// Owes <see cref="WriteDeferredIndexAsync"/>: removals from the grain's index that may be lost without harm (see
    /// <see cref="DeferredWrite"/>), written once for the calls that queue meanwhile.
    /// </summary>
    protected void WriteIndexSoon() => (_deferredIndex ?? throw new InvalidOperationException($"A {Kind} does not defer index writes.")).Request();

    /// <summary>True for grains that use <see cref="WriteIndexSoon"/> (read once, as the grain is built).</summary>
    protected virtual bool DefersIndexWrites => false;

    /// <summary>Writes the index changes <see cref="WriteIndexSoon"/> deferred.</summary>
    protected virtual Task WriteDeferredIndexAsync() => Task.CompletedTask;

    /// <inheritdoc cref="CascadeRunner.RunAsync"/>
    protected Task RunCascadeAsync(params (ISet<string> Pending, Func<string, Task> Step)[] sets) => _cascade.RunAsync(background: false, sets);

    /// <inheritdoc cref="CascadeRunner.RunAsync"/>
    protected Task RunCascadeAsync(bool background, params (ISet<string> Pending, Func<string, Task> Step)[] sets) => _cascade.RunAsync(background, sets);

    /// <summary>
    /// The one way an end (revocation, completion, suspension, retirement, session end) is acknowledged,
    /// whether this call made it or found it already made, by this activation or an earlier one:
    /// the end is durable; every holder of a decision lease has dropped it or it has run out (including
    /// any an earlier activation granted); and this silo is still a live member, so no newer activation
    /// elsewhere can have served the old state. False means the end must not be acknowledged.
    /// </summary>
    protected async Task<bool> PutEndInForceAsync()
    {
        if (!await DurableAsync())
        {
            return false;
        }
        if (GrantsLeases)
        {
            await Leases.RevokeAllAsync(GrainFactory, Logger);
        }
        return !Unsettled && SiloLease.IsValid(out _);
    }

    /// <summary>The answer for a change that could not be confirmed as recorded and in force.</summary>
    protected static GrantError Unavailable(string what) =>
        new(GrantErrorCode.Unavailable, $"GrantSilo could not confirm that {what} was recorded and in force; it may or may not have taken effect. Retry the request: retrying an end is safe.");

    // The next tick: the grain's own due time, or sooner while the cascade monitor still lists work
    // that is done (keep ticking until it hears so).
    private DateTimeOffset? DueAt(DateTimeOffset now)
    {
        var due = NextDue(now);
        if (_cascade.ResolveOwed)
        {
            var retry = now + Options.CascadeRetryInterval;
            due = due is { } d && d < retry ? d : retry;
        }
        return due;
    }
}
