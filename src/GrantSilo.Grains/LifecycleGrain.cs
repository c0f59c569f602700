using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains;

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
    private bool _pendingReported;
    private bool _resolveOwed;

    protected LifecycleGrain(IPersistentState<TState> state, TimeProvider time, GrantSiloOptions options, ILogger logger, TimeProvider? leaseClock = null)
    {
        _state = state;
        Time = time;
        Options = options;
        Logger = logger;
        LeaseClock = leaseClock ?? TimeProvider.System;
        Leases = new LeaseLedger(LeaseClock, options.DecisionLeaseDuration);
    }

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
            Leases.StartGrace();
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

    /// <summary>Writes the state; on failure deactivates (so the next activation reloads the truth) and returns false.</summary>
    protected async Task<bool> TryWriteAsync()
    {
        await _writeGate.WaitAsync();
        try
        {
            await _state.WriteStateAsync();
            return true;
        }
        catch (Exception exception)
        {
            // A failed or stale write leaves memory ahead of storage; drop this activation so no
            // answer is ever given from state that is not durable. Decisions meanwhile fail closed.
            LogStateWriteFailed(Logger, exception, Kind, Key);
            DeactivateOnIdle();
            return false;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    protected static GrantError Unavailable(string what) =>
        new(GrantErrorCode.Unavailable, $"GrantSilo could not durably record {what}; nothing was changed. Retry the request.");

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
    /// ones stay for the reminder to retry, and pending work is reported to the cascade monitor.
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
        }
        finally
        {
            _cascadeRunning = false;
        }
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

    [LoggerMessage(EventId = (int)LogEvents.StateWriteFailed, Level = LogLevel.Error, Message = "Could not write the state of {Kind} {Id}; deactivating so the next activation reloads durable state")]
    private static partial void LogStateWriteFailed(ILogger logger, Exception exception, string kind, string id);

    [LoggerMessage(EventId = (int)LogEvents.StateWriteFailed + 1, Level = LogLevel.Warning, Message = "Could not update the lifecycle reminder of {Kind} {Id}")]
    private static partial void LogReminderFailed(ILogger logger, Exception exception, string kind, string id);

    [LoggerMessage(EventId = (int)LogEvents.TaskCascadeStepFailed, Level = LogLevel.Warning, Message = "Cascade step of {Kind} {Id} to {Target} failed; a reminder retries it")]
    private static partial void LogCascadeStepFailed(ILogger logger, Exception exception, string kind, string id, string target);
}
