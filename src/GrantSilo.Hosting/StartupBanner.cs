using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Hosting;

/// <summary>Says, once the silo has started, where it listens and how it is configured.</summary>
public sealed partial class StartupBanner(ILogger<StartupBanner> logger, IHostApplicationLifetime lifetime, ILocalSiloDetails local, SiloHostOptions silo, string storage) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => LogListening(logger, local.SiloAddress.Endpoint.Address, silo.SiloPort, silo.GatewayPort, silo.ClusterId, silo.ServiceId, storage, local.SiloAddress));
        lifetime.ApplicationStopping.Register(() => LogStopping(logger));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = (int)LogEvents.SiloStarted, Level = LogLevel.Information, Message = "GrantSilo silo started: silo port {Address}:{SiloPort}, client gateway {Address}:{GatewayPort}, cluster '{ClusterId}', service '{ServiceId}', storage {Storage}, silo {Silo}. Press Ctrl+C to stop.")]
    private static partial void LogListening(ILogger logger, System.Net.IPAddress address, int siloPort, int gatewayPort, string clusterId, string serviceId, string storage, SiloAddress silo);

    [LoggerMessage(EventId = (int)LogEvents.SiloStopping, Level = LogLevel.Information, Message = "GrantSilo silo stopping: leaving the cluster cleanly")]
    private static partial void LogStopping(ILogger logger);
}
