using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Tls;

/// <summary>Says at start-up what TLS this process uses (never a key or password: subjects and thumbprints only). Registered by the <c>UseGrantSiloTls</c> extensions.</summary>
public sealed class GrantSiloTlsBanner(ILogger<GrantSiloTlsCredentials> logger, GrantSiloTlsCredentials credentials) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var description = credentials.Describe();
        Log.TlsInUse(logger, description);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
