using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Lifecycle;

/// <summary>
/// When a lifecycle grain next ticks. A grain timer gives sub-minute precision while the grain is
/// active; a reminder (durable) makes sure the tick happens after a deactivation or a silo crash. A
/// reminder update that fails (its ring owner may have just died) is retried shortly by a timer and once
/// more as the activation stops, so a due transition or a pending cascade never waits on a reminder that
/// was never moved. Joins the grain's lifecycle for that last try.
/// </summary>
internal sealed partial class WakeUps
{
    internal const string ReminderName = "lifecycle";

    /// <summary>How soon a failed reminder update is tried again.</summary>
    internal static readonly TimeSpan ReminderRetryDelay = TimeSpan.FromSeconds(5);

    // Reminders cannot fire more often than once a minute; timers cover shorter delays while active.
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromHours(12);

    private readonly IGrainBase _grain;
    private readonly Func<Task> _tick;
    private readonly Func<DateTimeOffset, DateTimeOffset?> _due;
    private readonly Func<bool> _exists;
    private readonly TimeProvider _time;
    private readonly GrantSiloOptions _options;
    private readonly bool _usesReminder;
    private readonly ILogger _logger;
    private readonly string _kind;
    private IGrainTimer? _timer;
    private DateTimeOffset? _timerDue;
    private DateTimeOffset? _reminderDue;
    private bool _reminderOwed;
    private IGrainTimer? _reminderRetry;

    // grain: The grain whose timers and reminder these are.
    // tick: Enacts whatever is due, and schedules again.
    // due: When the next tick is due as of a given instant, or null when nothing is left.
    public WakeUps(IGrainBase grain, Func<Task> tick, Func<DateTimeOffset, DateTimeOffset?> due, Func<bool> exists, TimeProvider time, GrantSiloOptions options, bool usesReminder, ILogger logger, string kind)
    {
        _grain = grain;
        _tick = tick;
        _due = due;
        _exists = exists;
        _time = time;
        _options = options;
        _usesReminder = usesReminder;
        _logger = logger;
        _kind = kind;
        grain.GrainContext.ObservableLifecycle.Subscribe(nameof(WakeUps), GrainLifecycleStage.Activate, _ => Task.CompletedTask, OnStopAsync);
    }

    private string Key => _grain.GrainContext.GrainId.Key.ToString()!;

    /// <summary>A reminder tick arrived: the reminder is no longer known to be due at any particular time.</summary>
    public Task OnReminderAsync()
    {
        _reminderDue = null;
        return _tick();
    }

    /// <summary>Arms the timer and the reminder for the next due time, or clears them when nothing is due.</summary>
    public async Task ScheduleAsync()
    {
        var now = _time.GetUtcNow();
        var due = _due(now);
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
            _timer = _grain.RegisterGrainTimer(
                static (self, _) => self.OnTimerAsync(),
                this,
                new GrainTimerCreationOptions(delay < MaxTimerDelay ? delay : MaxTimerDelay, Timeout.InfiniteTimeSpan) { Interleave = true });
            _timerDue = due;
        }
        if (_usesReminder && (_reminderDue is null || due < _reminderDue))
        {
            try
            {
                await _grain.RegisterOrUpdateReminder(ReminderName, delay, _options.CascadeRetryInterval);
                _reminderDue = due;
                _reminderOwed = false;
            }
            catch (Exception exception)
            {
                // The timer still covers this activation; the update is retried shortly, and on deactivation.
                LogReminderFailed(_logger, exception, _kind, Key);
                _reminderOwed = true;
                _reminderRetry ??= _grain.RegisterGrainTimer(
                    static (self, _) => self.RetryReminderAsync(),
                    this,
                    new GrainTimerCreationOptions(ReminderRetryDelay, Timeout.InfiniteTimeSpan) { Interleave = true });
            }
        }
    }

    /// <summary>Clears the timer and the reminder: nothing is left to enact.</summary>
    public async Task UnscheduleAsync()
    {
        _timer?.Dispose();
        _timer = null;
        _timerDue = null;
        if (!_usesReminder)
        {
            return;
        }
        try
        {
            var reminder = await _grain.GetReminder(ReminderName);
            if (reminder is not null)
            {
                await _grain.UnregisterReminder(reminder);
            }
            _reminderDue = null;
        }
        catch (Exception exception)
        {
            LogReminderFailed(_logger, exception, _kind, Key);
        }
    }

    private Task OnTimerAsync()
    {
        _timerDue = null;
        return _tick();
    }

    private Task RetryReminderAsync()
    {
        _reminderRetry?.Dispose();
        _reminderRetry = null;
        return _reminderOwed && _exists() ? ScheduleAsync() : Task.CompletedTask;
    }

    // Last chance to leave a durable wake-up behind (a silo shutting down, or idle collection).
    private async Task OnStopAsync(CancellationToken cancellationToken)
    {
        if (!_reminderOwed || !_usesReminder || !_exists() || _due(_time.GetUtcNow()) is not { } due)
        {
            return;
        }
        try
        {
            var delay = due - _time.GetUtcNow();
            await _grain.RegisterOrUpdateReminder(ReminderName, delay > TimeSpan.Zero ? delay : TimeSpan.Zero, _options.CascadeRetryInterval, cancellationToken);
            _reminderOwed = false;
        }
        catch (Exception exception)
        {
            LogReminderFailed(_logger, exception, _kind, Key);
        }
    }

    [LoggerMessage(EventId = (int)LogEvents.StateWriteFailed + 1, Level = LogLevel.Warning, Message = "Could not update the lifecycle reminder of {Kind} {Id}")]
    private static partial void LogReminderFailed(ILogger logger, Exception exception, string kind, string id);
}
