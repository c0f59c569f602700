using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GrantSilo.Grains.Fencing;

/// <summary>
/// The silo lease of the AzureTable profile. From the moment the silo is active it re-reads its own
/// row in the membership table every <see cref="SiloLeaseTiming.RenewInterval"/>. A read that finds the
/// row Active confirms membership as of the moment the read was <em>started</em> (taken on the
/// monotonic clock, which keeps running while the process is paused). <see cref="IsValid"/> is true
/// only while the newest confirmation is younger than <see cref="SiloLeaseTiming.Duration"/>, which is
/// shorter than the cluster needs to declare a silo dead; once the row is seen Dead, never again.
/// </summary>
public sealed partial class MembershipSiloLease : ISiloLease, ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly IMembershipTable _table;
    private readonly ILocalSiloDetails _silo;
    private readonly TimeProvider _time;
    private readonly ILogger<MembershipSiloLease> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private long _confirmedAt = long.MinValue;
    private volatile bool _declaredDead;
    private Task? _loop;

    public MembershipSiloLease(IMembershipTable table, ILocalSiloDetails silo, IOptions<ClusterMembershipOptions> membership, IOptions<SiloLeaseOptions> lease, ILogger<MembershipSiloLease> logger)
        : this(table, silo, SiloLeaseTiming.From(membership.Value, lease.Value), TimeProvider.System, logger)
    {
    }

    internal MembershipSiloLease(IMembershipTable table, ILocalSiloDetails silo, SiloLeaseTiming timing, TimeProvider time, ILogger<MembershipSiloLease> logger)
    {
        _table = table;
        _silo = silo;
        Timing = timing;
        _time = time;
        _logger = logger;
    }

    /// <summary>The lease duration and renewal interval in force.</summary>
    public SiloLeaseTiming Timing { get; }

    /// <inheritdoc />
    public bool IsValid(out string? reason)
    {
        if (_declaredDead)
        {
            reason = "the membership table says this silo is dead";
            return false;
        }
        var confirmedAt = Interlocked.Read(ref _confirmedAt);
        if (confirmedAt == long.MinValue)
        {
            reason = "membership not confirmed yet";
            return false;
        }
        var age = _time.GetElapsedTime(confirmedAt);
        if (age >= Timing.Duration)
        {
            reason = $"membership last confirmed {age.TotalMilliseconds:0} ms ago; the lease is {Timing.Duration.TotalMilliseconds:0} ms";
            return false;
        }
        reason = null;
        return true;
    }

    /// <summary>Reads this silo's membership row once and renews the lease if it is Active.</summary>
    public async Task<bool> RenewAsync(CancellationToken cancellationToken)
    {
        // Taken before the read: the row was Active at some instant after this.
        var startedAt = _time.GetTimestamp();
        var data = await _table.ReadRowAsync(_silo.SiloAddress, cancellationToken).WaitAsync(Timing.Duration, _time, cancellationToken).ConfigureAwait(false);
        var entry = data.Members.FirstOrDefault(m => m.Item1.SiloAddress.Equals(_silo.SiloAddress))?.Item1;
        if (entry is null)
        {
            LogNotConfirmed(_logger, _silo.SiloAddress, "no membership row");
            return false;
        }
        if (entry.Status == SiloStatus.Dead)
        {
            if (!_declaredDead)
            {
                _declaredDead = true;
                LogDeclaredDead(_logger, _silo.SiloAddress);
            }
            return false;
        }
        if (entry.Status != SiloStatus.Active)
        {
            LogNotConfirmed(_logger, _silo.SiloAddress, $"status {entry.Status}");
            return false;
        }
        // Renewals may complete out of order; the lease only ever moves forward.
        var current = Interlocked.Read(ref _confirmedAt);
        while (startedAt > current)
        {
            var seen = Interlocked.CompareExchange(ref _confirmedAt, startedAt, current);
            if (seen == current)
            {
                break;
            }
            current = seen;
        }
        return true;
    }

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(MembershipSiloLease), ServiceLifecycleStage.Active, StartAsync, StopAsync);
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        // The silo's row is Active by now; confirm once before it reports started, then keep renewing.
        try
        {
            await RenewAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogRenewFailed(_logger, exception, _silo.SiloAddress);
        }
        LogStarted(_logger, _silo.SiloAddress, Timing.Duration, Timing.RenewInterval, Timing.FastestDeathDeclaration);
        _loop = Task.Run(() => RenewLoopAsync(_stopping.Token), CancellationToken.None);
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RenewLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Timing.RenewInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_declaredDead)
                {
                    return;
                }
                try
                {
                    await RenewAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
                {
                    // No confirmation this round: the lease simply ages; decisions fail closed when it lapses.
                    LogRenewFailed(_logger, exception, _silo.SiloAddress);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    public void Dispose() => _stopping.Dispose();
}
