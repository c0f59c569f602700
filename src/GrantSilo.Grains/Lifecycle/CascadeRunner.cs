using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Lifecycle;

/// <summary>
/// Records an end on everything below it: runs a grain's pending cascade steps in parallel, drops the
/// confirmed ones from their pending sets (and writes that down), keeps the failed ones, retried by a
/// timer with backoff while the grain is active and by its reminder regardless, and keeps the cascade
/// monitor told what is still pending. Joins the grain's lifecycle to keep the pending-cascade metric
/// true across deactivations.
/// </summary>
internal sealed partial class CascadeRunner
{
    private readonly IGrainBase _grain;
    private readonly IGrainFactory _grains;
    private readonly Func<int> _pendingSteps;
    private readonly Func<Task<bool>> _write;
    private readonly Func<Task> _retry;
    private readonly TimeProvider _time;
    private readonly GrantSiloOptions _options;
    private readonly ILogger _logger;
    private readonly string _kind;
    private readonly CascadeStepSlots _backgroundSlots;
    private bool _running;
    private int _failures;
    private IGrainTimer? _retryTimer;
    private bool _pendingReported;

    // pendingSteps: How many steps are not yet confirmed, across every pending set.
    // write: Writes the grain's state (with the shrunken pending sets).
    // retry: Runs the grain's tick, which runs the cascade again.
    // backgroundSlots: The silo's slots for the steps of background runs.
    public CascadeRunner(IGrainBase grain, IGrainFactory grains, Func<int> pendingSteps, Func<Task<bool>> write, Func<Task> retry, TimeProvider time, GrantSiloOptions options, ILogger logger, string kind, CascadeStepSlots backgroundSlots)
    {
        _backgroundSlots = backgroundSlots;
        _grain = grain;
        _grains = grains;
        _pendingSteps = pendingSteps;
        _write = write;
        _retry = retry;
        _time = time;
        _options = options;
        _logger = logger;
        _kind = kind;
        grain.GrainContext.ObservableLifecycle.Subscribe(nameof(CascadeRunner), GrainLifecycleStage.Activate - 1, OnStartAsync, OnStopAsync);
    }

    /// <summary>
    /// True while the cascade monitor may still list work that is done (reported by an earlier activation,
    /// or a resolution that did not reach it): the grain keeps ticking until the monitor hears so.
    /// </summary>
    public bool ResolveOwed { get; private set; }

    private string Key => _grain.GrainContext.GrainId.Key.ToString()!;

    /// <summary>The delay before the prompt retry after <paramref name="failures"/> failed runs in a row (one or more).</summary>
    internal static TimeSpan RetryDelay(GrantSiloOptions options, int failures)
    {
        var delay = options.CascadeFirstRetryDelay;
        for (var i = 1; i < failures && delay < options.CascadeRetryInterval; i++)
        {
            delay *= 2;
        }
        return delay < options.CascadeRetryInterval ? delay : options.CascadeRetryInterval;
    }

    /// <summary>
    /// Runs every pending step of <paramref name="sets"/> once. A run already in progress makes this a no-op. Each step
    /// of a <paramref name="background"/> run (one no caller waits for) takes one of the silo's slots
    /// (<see cref="CascadeStepSlots"/>).
    /// </summary>
    public async Task RunAsync(bool background, params (ISet<string> Pending, Func<string, Task> Step)[] sets)
    {
        if (_running)
        {
            return;
        }
        _running = true;
        try
        {
            var confirmed = new List<(ISet<string> Pending, string Id)>();
            var work = new List<Task>();
            foreach (var (pending, step) in sets)
            {
                foreach (var id in pending.ToArray())
                {
                    work.Add(background
                        ? _backgroundSlots.RunAsync(() => RunStepAsync(pending, id, step, confirmed))
                        : RunStepAsync(pending, id, step, confirmed));
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
                await _write();
            }
            await ReportPendingAsync();
            if (_pendingSteps() > 0)
            {
                ArmRetry();
            }
            else
            {
                _failures = 0;
            }
        }
        finally
        {
            _running = false;
        }
    }

    private void ArmRetry()
    {
        _failures++;
        _retryTimer?.Dispose();
        _retryTimer = _grain.RegisterGrainTimer(
            static (self, _) => self.RetryAsync(),
            this,
            new GrainTimerCreationOptions(RetryDelay(_options, _failures), Timeout.InfiniteTimeSpan) { Interleave = true });
    }

    private Task RetryAsync()
    {
        _retryTimer?.Dispose();
        _retryTimer = null;
        return _retry();
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
            LogCascadeStepFailed(_logger, exception, _kind, Key, id);
        }
    }

    private async Task ReportPendingAsync()
    {
        var pending = _pendingSteps();
        var monitor = _grains.GetGrain<ICascadeMonitorGrain>(0);
        try
        {
            if (pending > 0)
            {
                // Upsert on every failed run, so a report lost with an earlier activation is made again.
                await monitor.ReportAsync(new PendingCascade { Kind = _kind, Id = Key, PendingSteps = pending, Since = _time.GetUtcNow() });
                if (!_pendingReported)
                {
                    _pendingReported = true;
                    GrantSiloMetrics.AddPendingCascades(1);
                }
            }
            else if (_pendingReported || ResolveOwed)
            {
                await monitor.ResolveAsync(_kind, Key);
                ResolveOwed = false;
                if (_pendingReported)
                {
                    _pendingReported = false;
                    GrantSiloMetrics.AddPendingCascades(-1);
                }
            }
        }
        catch (Exception exception)
        {
            ResolveOwed = pending == 0;
            LogCascadeStepFailed(_logger, exception, _kind, Key, "cascade-monitor");
        }
    }

    // An earlier activation may have reported pending work: resolve it once the work is done. Pending
    // work itself is reported (again) by the next run; reporting is an upsert.
    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        ResolveOwed = _pendingSteps() > 0;
        return Task.CompletedTask;
    }

    private Task OnStopAsync(CancellationToken cancellationToken)
    {
        if (_pendingReported)
        {
            GrantSiloMetrics.AddPendingCascades(-1);
            _pendingReported = false;
        }
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = (int)LogEvents.TaskCascadeStepFailed, Level = LogLevel.Warning, Message = "Cascade step of {Kind} {Id} to {Target} failed; it is retried with backoff, and by the reminder")]
    private static partial void LogCascadeStepFailed(ILogger logger, Exception exception, string kind, string id, string target);
}
