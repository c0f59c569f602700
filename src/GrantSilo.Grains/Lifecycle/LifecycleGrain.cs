using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Lifecycle;

/// <summary>
/// What agents, tasks, sessions and credentials share: durable state written one write at a time,
/// a clock that decides validity, and a single idempotent tick that enacts due transitions. A
/// grain timer gives sub-minute precision while the grain is active; a reminder (durable) makes sure
/// the tick happens even after a deactivation or a silo crash. Ticks may be missed, late or doubled;
/// correctness never waits for one, because every decision re-checks the clock.
/// </summary>
// The write gate never allocates a wait handle (only WaitAsync is used), so there is nothing to dispose.
#pragma warning disable CA1001
internal abstract partial class LifecycleGrain<TState> : Grain, IRemindable
    where TState : class, new()
#pragma warning restore CA1001
{
    internal const string ReminderName = "lifecycle";

    // Reminders cannot fire more often than once a minute; timers cover shorter delays while active.
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromHours(12);

    private readonly IPersistentState<TState> _state;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private IGrainTimer? _timer;
    private DateTimeOffset? _timerDue;
    private DateTimeOffset? _reminderDue;

    // A reminder update that failed (its ring owner may have just died and not yet been declared dead):
    // retried shortly by a timer, and once more when the activation is deactivated, so a due transition
    // or a pending cascade never waits on a reminder that was never moved.
    private bool _reminderOwed;
    private IGrainTimer? _reminderRetry;

    /// <summary>How soon a failed reminder update is tried again.</summary>
    internal static readonly TimeSpan ReminderRetryDelay = TimeSpan.FromSeconds(5);
    private bool _cascadeRunning;

    // A failed cascade step is retried promptly by a timer while this activation lives, backing off
    // from CascadeFirstRetryDelay; the reminder is the durable retry behind it.
    private int _cascadeFailures;
    private IGrainTimer? _cascadeRetry;
    private bool _pendingReported;
    private bool _resolveOwed;

    // Writes whose outcome is not yet known (memory may be ahead of storage while any is in flight).
    private int _writesInFlight;
    private TaskCompletionSource? _writesSettled;

    // A write failed and its outcome is unknown: it may have committed although its reply was lost.
    // Until a read settles what storage holds, this activation answers nothing from memory.
    private bool _unsettled;

    // Counts reloads of the state, so a change made before a reload is never written as if it survived.
    private long _generation;

    protected LifecycleGrain(IPersistentState<TState> state, LifecycleServices services, ILogger logger)
    {
        _state = state;
        Time = services.Time;
        Options = services.Options;
        Logger = logger;
        LeaseClock = services.LeaseClock;
        SiloLease = services.SiloLease;
        Leases = new LeaseLedger(LeaseClock, Options.DecisionLeaseDuration);
    }

    /// <summary>Whether this silo is still known to be a live member of the cluster.</summary>
    protected ISiloLease SiloLease { get; }

    /// <summary>
    /// True while a failed write's outcome is unknown: every answer that could allow must then fail
    /// closed, and every read must say it is unavailable.
    /// </summary>
    protected bool Unsettled => _unsettled;

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

    protected bool Exists => _state.RecordExists;

    protected DateTimeOffset Now => Time.GetUtcNow();

    protected string Key => this.GetPrimaryKeyString();

    /// <summary>
    /// The key as an error or a log may show it (<see cref="Untrusted.Id"/>): a grain can be addressed by
    /// any string, a token passed by mistake for an id among them, and no answer may repeat its secret.
    /// </summary>
    protected string ShownKey => Untrusted.Id(Key);

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
            // An earlier activation may have reported pending work: resolve it once the work is done.
            _resolveOwed = PendingSteps > 0;
            // Pending work from a previous activation is reported (again) by the next cascade run;
            // reporting is an upsert, so a report that already reached the monitor is harmless.
            // Ended objects with nothing left to enact need no timer or reminder; idle collection
            // deactivates them like any other grain.
            if (NextDue(Now) is not null)
            {
                await ScheduleAsync();
            }
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName)
        {
            return;
        }
        _reminderDue = null;
        await TickAsync();
    }

    private Task OnTimerAsync()
    {
        _timerDue = null;
        return TickAsync();
    }

    protected async Task TickAsync()
    {
        if (!Exists)
        {
            await UnscheduleAsync();
            return;
        }
        await OnTickAsync();
        await ScheduleAsync();
    }

    /// <summary>
    /// Writes the state as it is in memory now. Returns true once it is durable. Returns false when it is
    /// not known to be: the write failed (perhaps after committing, with its reply lost), or the state was
    /// reloaded since the caller changed it. After a failure the state is read back, so memory again
    /// matches storage and the caller can see what storage holds; if the read fails too, the activation
    /// stays <see cref="Unsettled"/> (failing closed) and is deactivated, so the next one reloads.
    /// Never roll memory back after a false: it already holds what storage holds, or nothing is served.
    /// </summary>
    protected async Task<bool> TryWriteAsync()
    {
        // Read in the caller's turn, right after it changed the state.
        var generation = _generation;
        _writesInFlight++;
        try
        {
            await _writeGate.WaitAsync();
            try
            {
                if (_unsettled)
                {
                    await SettleAsync();
                    return false;
                }
                if (generation != _generation)
                {
                    return false;
                }
                await _state.WriteStateAsync();
                return true;
            }
            catch (Exception exception)
            {
                LogStateWriteFailed(Logger, exception, Kind, Key);
                _unsettled = true;
                await SettleAsync();
                return false;
            }
            finally
            {
                _writeGate.Release();
            }
        }
        finally
        {
            if (--_writesInFlight == 0 && _writesSettled is { } settled)
            {
                _writesSettled = null;
                settled.TrySetResult();
            }
        }
    }

    // Reads storage back after a write whose outcome is unknown. Called with the write gate held.
    private async Task SettleAsync()
    {
        try
        {
            await _state.ReadStateAsync();
            _generation++;
            _unsettled = false;
            LogStateSettled(Logger, Kind, Key);
        }
        catch (Exception exception)
        {
            // Still unknown: answer nothing from memory, and let the next activation read again.
            LogStateWriteFailed(Logger, exception, Kind, Key);
            DeactivateOnIdle();
        }
    }

    /// <summary>
    /// Returns once no write is in flight, so memory holds only durable state; false when the outcome of
    /// a failed write is still unknown.
    /// </summary>
    protected async ValueTask<bool> DurableAsync()
    {
        while (_writesInFlight > 0)
        {
            _writesSettled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await _writesSettled.Task;
        }
        return !_unsettled;
    }

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
        return !_unsettled && SiloLease.IsValid(out _);
    }

    /// <summary>An answer built only from durable state, or <see cref="GrantErrorCode.Unavailable"/> while a write's outcome is unknown.</summary>
    protected Task<GrantResult<T>> ReadDurableAsync<T>(Func<GrantResult<T>> read)
    {
        if (_writesInFlight == 0)
        {
            return Task.FromResult(_unsettled ? GrantResult<T>.Fail(UnknownState()) : read());
        }
        return WaitThenReadAsync();

        async Task<GrantResult<T>> WaitThenReadAsync() =>
            await DurableAsync() ? read() : GrantResult<T>.Fail(UnknownState());
    }

    private GrantError UnknownState() =>
        new(GrantErrorCode.Unavailable, $"GrantSilo cannot confirm the durable state of {Kind} '{ShownKey}' right now; retry.", target: ShownKey);

    /// <summary>The answer for a change that could not be confirmed as recorded and in force.</summary>
    protected static GrantError Unavailable(string what) =>
        new(GrantErrorCode.Unavailable, $"GrantSilo could not confirm that {what} was recorded and in force; it may or may not have taken effect. Retry the request: retrying an end is safe.");

    /// <summary>Arms the timer and the reminder for the next due time, or clears them when nothing is due.</summary>
    protected async Task ScheduleAsync()
    {
        var now = Now;
        var due = NextDue(now);
        if (_resolveOwed)
        {
            // The monitor still lists work that is done: keep ticking until it hears so.
            var retry = now + Options.CascadeRetryInterval;
            due = due is { } d && d < retry ? d : retry;
        }
        if (due is null)
        {
            await UnscheduleAsync();
            return;
        }
        var delay = due.Value - now;
        if (delay < TimeSpan.Zero)
        {
            delay = TimeSpan.Zero;
        }
        // Only ever move the wake-ups earlier: a wake-up that comes too early finds nothing due and
        // schedules again, so later due times need no writes (a session's idle deadline moves on
        // every use).
        if (_timerDue is null || due < _timerDue)
        {
            _timer?.Dispose();
            _timer = this.RegisterGrainTimer(
                static (self, _) => self.OnTimerAsync(),
                this,
                new GrainTimerCreationOptions(delay < MaxTimerDelay ? delay : MaxTimerDelay, Timeout.InfiniteTimeSpan) { Interleave = true });
            _timerDue = due;
        }
        if (UsesReminder && (_reminderDue is null || due < _reminderDue))
        {
            try
            {
                await this.RegisterOrUpdateReminder(ReminderName, delay, Options.CascadeRetryInterval);
                _reminderDue = due;
                _reminderOwed = false;
            }
            catch (Exception exception)
            {
                // The timer still covers this activation; the update is retried shortly, and on deactivation.
                LogReminderFailed(Logger, exception, Kind, Key);
                _reminderOwed = true;
                _reminderRetry ??= this.RegisterGrainTimer(
                    static (self, _) => self.RetryReminderAsync(),
                    this,
                    new GrainTimerCreationOptions(ReminderRetryDelay, Timeout.InfiniteTimeSpan) { Interleave = true });
            }
        }
    }

    private Task RetryReminderAsync()
    {
        _reminderRetry?.Dispose();
        _reminderRetry = null;
        return _reminderOwed && Exists ? ScheduleAsync() : Task.CompletedTask;
    }

    private async Task UnscheduleAsync()
    {
        _timer?.Dispose();
        _timer = null;
        _timerDue = null;
        if (!UsesReminder)
        {
            return;
        }
        try
        {
            var reminder = await this.GetReminder(ReminderName);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }
            _reminderDue = null;
        }
        catch (Exception exception)
        {
            LogReminderFailed(Logger, exception, Kind, Key);
        }
    }

    /// <summary>
    /// Runs the pending cascade steps in parallel; confirmed steps leave the pending set, failed
    /// ones stay, retried by a timer with backoff and by the reminder, and pending work is reported to
    /// the cascade monitor.
    /// </summary>
    protected async Task RunCascadeAsync(params (ISet<string> Pending, Func<string, Task> Step)[] sets)
    {
        if (_cascadeRunning)
        {
            return;
        }
        _cascadeRunning = true;
        try
        {
            var confirmed = new List<(ISet<string> Pending, string Id)>();
            var work = new List<Task>();
            foreach (var (pending, step) in sets)
            {
                foreach (var id in pending.ToArray())
                {
                    work.Add(RunStepAsync(pending, id, step, confirmed));
                }
            }
            if (work.Count == 0)
            {
                await ReportPendingAsync();
                return;
            }
            await Task.WhenAll(work);
            foreach (var (pending, id) in confirmed)
            {
                pending.Remove(id);
            }
            if (confirmed.Count > 0)
            {
                await TryWriteAsync();
            }
            await ReportPendingAsync();
            if (PendingSteps > 0)
            {
                ArmCascadeRetry();
            }
            else
            {
                _cascadeFailures = 0;
            }
        }
        finally
        {
            _cascadeRunning = false;
        }
    }

    /// <summary>The delay before the prompt retry after <paramref name="failures"/> failed cascade runs in a row (one or more).</summary>
    internal static TimeSpan CascadeRetryDelay(GrantSiloOptions options, int failures)
    {
        var delay = options.CascadeFirstRetryDelay;
        for (var i = 1; i < failures && delay < options.CascadeRetryInterval; i++)
        {
            delay *= 2;
        }
        return delay < options.CascadeRetryInterval ? delay : options.CascadeRetryInterval;
    }

    private void ArmCascadeRetry()
    {
        _cascadeFailures++;
        _cascadeRetry?.Dispose();
        _cascadeRetry = this.RegisterGrainTimer(
            static (self, _) => self.RetryCascadeAsync(),
            this,
            new GrainTimerCreationOptions(CascadeRetryDelay(Options, _cascadeFailures), Timeout.InfiniteTimeSpan) { Interleave = true });
    }

    private Task RetryCascadeAsync()
    {
        _cascadeRetry?.Dispose();
        _cascadeRetry = null;
        return TickAsync();
    }

    private async Task RunStepAsync(ISet<string> pending, string id, Func<string, Task> step, List<(ISet<string>, string)> confirmed)
    {
        try
        {
            await step(id);
            confirmed.Add((pending, id));
        }
        catch (Exception exception)
        {
            LogCascadeStepFailed(Logger, exception, Kind, Key, id);
        }
    }

    private async Task ReportPendingAsync()
    {
        var pending = PendingSteps;
        var monitor = GrainFactory.GetGrain<ICascadeMonitorGrain>(0);
        try
        {
            if (pending > 0)
            {
                // Upsert on every failed run, so a report lost with an earlier activation is made again.
                await monitor.ReportAsync(new PendingCascade { Kind = Kind, Id = Key, PendingSteps = pending, Since = Now });
                if (!_pendingReported)
                {
                    _pendingReported = true;
                    GrantSiloMetrics.PendingCascades.Add(1);
                }
            }
            else if (_pendingReported || _resolveOwed)
            {
                await monitor.ResolveAsync(Kind, Key);
                _resolveOwed = false;
                if (_pendingReported)
                {
                    _pendingReported = false;
                    GrantSiloMetrics.PendingCascades.Add(-1);
                }
            }
        }
        catch (Exception exception)
        {
            _resolveOwed = pending == 0;
            LogCascadeStepFailed(Logger, exception, Kind, Key, "cascade-monitor");
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_reminderOwed && Exists && UsesReminder && NextDue(Now) is { } due)
        {
            // Last chance to leave a durable wake-up behind (a silo shutting down, or idle collection).
            try
            {
                var delay = due - Now;
                await this.RegisterOrUpdateReminder(ReminderName, delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Options.CascadeRetryInterval, cancellationToken);
                _reminderOwed = false;
            }
            catch (Exception exception)
            {
                LogReminderFailed(Logger, exception, Kind, Key);
            }
        }
        if (_pendingReported)
        {
            GrantSiloMetrics.PendingCascades.Add(-1);
            _pendingReported = false;
        }
    }

    [LoggerMessage(EventId = (int)LogEvents.StateWriteFailed, Level = LogLevel.Error, Message = "Could not write or read back the state of {Kind} {Id}; its outcome is unknown, so nothing is answered from memory until a read settles it")]
    private static partial void LogStateWriteFailed(ILogger logger, Exception exception, string kind, string id);

    [LoggerMessage(EventId = (int)LogEvents.StateWriteFailed + 2, Level = LogLevel.Information, Message = "The state of {Kind} {Id} was read back after a failed write; answers resume from what storage holds")]
    private static partial void LogStateSettled(ILogger logger, string kind, string id);

    [LoggerMessage(EventId = (int)LogEvents.StateWriteFailed + 1, Level = LogLevel.Warning, Message = "Could not update the lifecycle reminder of {Kind} {Id}")]
    private static partial void LogReminderFailed(ILogger logger, Exception exception, string kind, string id);

    [LoggerMessage(EventId = (int)LogEvents.TaskCascadeStepFailed, Level = LogLevel.Warning, Message = "Cascade step of {Kind} {Id} to {Target} failed; it is retried with backoff, and by the reminder")]
    private static partial void LogCascadeStepFailed(ILogger logger, Exception exception, string kind, string id, string target);
}
