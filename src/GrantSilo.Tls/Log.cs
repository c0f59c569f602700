using Microsoft.Extensions.Logging;

namespace GrantSilo.Tls;

internal static partial class Log
{
    [LoggerMessage(EventId = (int)LogEvents.TlsInUse, Level = LogLevel.Information, Message = "GrantSilo TLS: {Description}")]
    public static partial void TlsInUse(ILogger logger, string description);

    [LoggerMessage(EventId = (int)LogEvents.PeerRefused, Level = LogLevel.Warning, Message = "Refused the TLS peer of a {Link}: certificate '{Subject}' (thumbprint {Thumbprint}): {Reason}")]
    public static partial void PeerRefused(ILogger logger, string link, string subject, string thumbprint, string reason);
}
