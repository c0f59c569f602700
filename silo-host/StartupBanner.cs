using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.SiloHost;

/// <summary>Says, once the silo has started, where it listens and how it is configured.</summary>
internal sealed partial class StartupBanner(ILogger<StartupBanner> logger, IHostApplicationLifetime lifetime, SiloHostOptions silo, string storage) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => LogListening(logger, silo.SiloPort, silo.GatewayPort, silo.ClusterId, silo.ServiceId, storage));
        lifetime.ApplicationStopping.Register(() => LogStopping(logger));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "GrantSilo silo started: silo port 127.0.0.1:{SiloPort}, client gateway 127.0.0.1:{GatewayPort}, cluster '{ClusterId}', service '{ServiceId}', storage {Storage}. Press Ctrl+C to stop.")]
    private static partial void LogListening(ILogger logger, int siloPort, int gatewayPort, string clusterId, string serviceId, string storage);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "GrantSilo silo stopping: leaving the cluster cleanly")]
    private static partial void LogStopping(ILogger logger);
}
