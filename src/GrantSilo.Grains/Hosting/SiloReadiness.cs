using GrantSilo.Grains.Fencing;
using Orleans.Placement;

namespace GrantSilo.Grains.Hosting;

/// <summary>
/// Whether this silo can answer calls now. A silo that has started may still be unable to: after a restart the grain
/// directory holds a dead silo's grains for a while (<c>GrainDirectoryOptions.RangeLeaseDuration</c>, see
/// <c>docs/consistency.md</c>), and until its silo lease is confirmed every GrantSilo call is refused. So readiness is
/// measured, not assumed: the silo lease must be valid, and a new grain activated here (registered in the directory
/// like any other) must answer within <see cref="ProbeTimeout"/>.
/// </summary>
public sealed class SiloReadiness(IGrainFactory grains, ISiloLease lease, TimeProvider time)
{
    /// <summary>How long a probe may take before the silo counts as not ready.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long a check's answer is reused by <see cref="CurrentAsync"/>, so polling readiness costs at most one probe per interval.</summary>
    public static readonly TimeSpan ReuseFor = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private Task<string?>? _current;
    private long _currentStarted;

    /// <summary>
    /// The answer of a check started less than <see cref="ReuseFor"/> ago, or of a new one: callers polling readiness
    /// (an orchestrator's probe, <c>/health/ready</c>) share one probe instead of each activating a grain.
    /// </summary>
    public Task<string?> CurrentAsync()
    {
        lock (_gate)
        {
            if (_current is null || (_current.IsCompleted && time.GetElapsedTime(_currentStarted) >= ReuseFor))
            {
                _currentStarted = time.GetTimestamp();
                _current = CheckAsync();
            }
            return _current;
        }
    }

    /// <summary>Checks now: null when ready, otherwise why not.</summary>
    public async Task<string?> CheckAsync(CancellationToken cancellationToken = default)
    {
        // The probe is the silo's own call, whoever asked (an HTTP readiness request runs in an outside-call scope,
        // and the door refuses outside calls to internal methods). Clearing the scope here ends with this method.
        Access.OutsideCalls.End();
        if (!lease.IsValid(out var reason))
        {
            return $"the silo lease is not valid: {reason}";
        }
        try
        {
            var probe = grains.GetGrain<IReadinessProbeGrain>(Guid.NewGuid());
            await probe.PingAsync().WaitAsync(ProbeTimeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return $"a new grain did not answer within {ProbeTimeout.TotalSeconds:0} s (the grain directory may still hold a dead silo's grains)";
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return $"a new grain could not be activated: {exception.GetType().Name}";
        }
        return null;
    }
}

/// <summary>A throwaway grain, activated on this silo, whose answer shows the silo can activate grains and answer calls.</summary>
internal interface IReadinessProbeGrain : IGrainWithGuidKey
{
    Task PingAsync();
}

[PreferLocalPlacement]
internal sealed class ReadinessProbeGrain : Grain, IReadinessProbeGrain
{
    public Task PingAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
