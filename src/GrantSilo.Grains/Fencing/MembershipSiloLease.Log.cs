using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Fencing;

public sealed partial class MembershipSiloLease
{
    [LoggerMessage(EventId = (int)LogEvents.LeaseStarted, Level = LogLevel.Information, Message = "Silo lease of {Silo} started: lease {Duration}, renewed every {RenewInterval}; the cluster declares a silo dead no sooner than {FastestDeath}")]
    private static partial void LogStarted(ILogger logger, SiloAddress silo, TimeSpan duration, TimeSpan renewInterval, TimeSpan fastestDeath);

    [LoggerMessage(EventId = (int)LogEvents.LeaseRenewFailed, Level = LogLevel.Warning, Message = "Could not renew the silo lease of {Silo}; decisions fail closed if it lapses")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, SiloAddress silo);

    [LoggerMessage(EventId = (int)LogEvents.LeaseDeclaredDead, Level = LogLevel.Warning, Message = "The membership table says silo {Silo} is dead; its lease is void and it allows nothing more")]
    private static partial void LogDeclaredDead(ILogger logger, SiloAddress silo);

    [LoggerMessage(EventId = (int)LogEvents.LeaseNotConfirmed, Level = LogLevel.Warning, Message = "Silo lease of {Silo} not renewed: {Why}")]
    private static partial void LogNotConfirmed(ILogger logger, SiloAddress silo, string why);
}
