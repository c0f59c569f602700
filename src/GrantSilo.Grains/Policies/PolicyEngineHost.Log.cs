using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Policies;

internal sealed partial class PolicyEngineHost
{
    [LoggerMessage(EventId = (int)LogEvents.PolicyInstalled, Level = LogLevel.Information, Message = "Policy version {Version} installed on silo {Silo}")]
    private static partial void LogInstalled(ILogger logger, long version, SiloAddress silo);

    [LoggerMessage(EventId = (int)LogEvents.PolicySyncFailed, Level = LogLevel.Warning, Message = "Could not confirm the active policy version with the policy store; decisions deny once the confirmation lapses")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = (int)LogEvents.PolicyInstallFailed, Level = LogLevel.Error, Message = "Policy version {Version} pushed by the store does not compile on this silo")]
    private static partial void LogInstallFailed(ILogger logger, Exception exception, long version);

    [LoggerMessage(EventId = (int)LogEvents.PolicyOlderVersionOffered, Level = LogLevel.Warning, Message = "The policy store offered version {Offered}, older than installed version {Installed}; keeping the installed version (if this repeats, the store lost its state and decisions deny once the confirmation lapses)")]
    private static partial void LogOlderVersionOffered(ILogger logger, long offered, long installed);

    [LoggerMessage(EventId = (int)LogEvents.CatalogInstalled, Level = LogLevel.Information, Message = "Resource catalog version {Version} ({Entries} entries) installed on silo {Silo}")]
    private static partial void LogCatalogInstalled(ILogger logger, long version, int entries, SiloAddress silo);

    [LoggerMessage(EventId = (int)LogEvents.CatalogOlderVersionOffered, Level = LogLevel.Warning, Message = "The policy store offered resource catalog version {Offered}, older than installed version {Installed}; keeping the installed version")]
    private static partial void LogOlderCatalogOffered(ILogger logger, long offered, long installed);

    [LoggerMessage(EventId = (int)LogEvents.AccessRulesInstalled, Level = LogLevel.Information, Message = "Access rules version {Version} (sha256 {Sha256}) installed on silo {Silo}")]
    private static partial void LogAccessRulesInstalled(ILogger logger, long version, string sha256, SiloAddress silo);

    [LoggerMessage(EventId = (int)LogEvents.AccessRulesOlderVersionOffered, Level = LogLevel.Warning, Message = "The policy store offered access rules version {Offered}, older than installed version {Installed}; keeping the installed version")]
    private static partial void LogOlderAccessRulesOffered(ILogger logger, long offered, long installed);

    [LoggerMessage(EventId = (int)LogEvents.AccessRulesInstallFailed, Level = LogLevel.Error, Message = "Access rules version {Version} pushed by the store does not validate on this silo")]
    private static partial void LogAccessRulesInstallFailed(ILogger logger, Exception exception, long version);
}
