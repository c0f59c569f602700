using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Hosting;

/// <summary>
/// Says, once the silo has started, where it listens and how it is configured; then, once it can answer calls
/// (<see cref="SiloReadiness"/>), that it is ready. Between the two a restarted silo may be waiting out the grain
/// directory's hold on a dead silo's grains: callers and orchestrators should wait for "ready".
/// </summary>
public sealed partial class StartupBanner(ILogger<StartupBanner> logger, IHostApplicationLifetime lifetime, ILocalSiloDetails local, SiloHostOptions silo, string storage, SiloReadiness readiness, TimeProvider time) : IHostedService, IDisposable
{
    /// <summary>How often readiness is checked until the silo is first ready.</summary>
    public static readonly TimeSpan ReadinessPollInterval = TimeSpan.FromMilliseconds(250);

    private readonly CancellationTokenSource _stopping = new();

    /// <summary>The banner for a host whose services are <paramref name="services"/>.</summary>
    public static StartupBanner Create(IServiceProvider services, SiloHostOptions silo, string storage)
    {
        ArgumentNullException.ThrowIfNull(services);
        return new(
            services.GetRequiredService<ILogger<StartupBanner>>(),
            services.GetRequiredService<IHostApplicationLifetime>(),
            services.GetRequiredService<ILocalSiloDetails>(),
            silo,
            storage,
            services.GetRequiredService<SiloReadiness>(),
            services.GetService<TimeProvider>() ?? TimeProvider.System);
    }
    private Task? _watch;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            LogListening(logger, local.SiloAddress.Endpoint.Address, silo.SiloPort, silo.GatewayPort, silo.ClusterId, silo.ServiceId, storage, local.SiloAddress);
            _watch = Task.Run(() => WatchReadinessAsync(_stopping.Token));
        });
        lifetime.ApplicationStopping.Register(() => LogStopping(logger));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_watch is { } watch)
        {
            await watch.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task WatchReadinessAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        string? lastReason = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var reason = await readiness.CheckAsync(cancellationToken);
                if (reason is null)
                {
                    var elapsed = (long)time.GetElapsedTime(started).TotalMilliseconds;
                    LogReady(logger, elapsed);
                    return;
                }
                if (reason != lastReason)
                {
                    LogNotReady(logger, reason);
                    lastReason = reason;
                }
                await Task.Delay(ReadinessPollInterval, time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = (int)LogEvents.SiloStarted, Level = LogLevel.Information, Message = "GrantSilo silo started: silo port {Address}:{SiloPort}, client gateway {Address}:{GatewayPort}, cluster '{ClusterId}', service '{ServiceId}', storage {Storage}, silo {Silo}. Press Ctrl+C to stop.")]
    private static partial void LogListening(ILogger logger, System.Net.IPAddress address, int siloPort, int gatewayPort, string clusterId, string serviceId, string storage, SiloAddress silo);

    [LoggerMessage(EventId = (int)LogEvents.SiloReady, Level = LogLevel.Information, Message = "GrantSilo silo ready: answering calls ({ElapsedMs} ms after start)")]
    private static partial void LogReady(ILogger logger, long elapsedMs);

    [LoggerMessage(EventId = (int)LogEvents.SiloNotReady, Level = LogLevel.Information, Message = "GrantSilo silo not ready yet: {Reason}")]
    private static partial void LogNotReady(ILogger logger, string reason);

    [LoggerMessage(EventId = (int)LogEvents.SiloStopping, Level = LogLevel.Information, Message = "GrantSilo silo stopping: leaving the cluster cleanly")]
    private static partial void LogStopping(ILogger logger);
}
