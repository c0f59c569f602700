using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Policies;

internal sealed partial class PolicyStoreGrain
{
    [LoggerMessage(EventId = (int)LogEvents.PolicyPublished, Level = LogLevel.Information, Message = "Policy version {Version} published by {Author} with {Count} policies")]
    private static partial void LogPublished(ILogger logger, long version, string author, int count);

    [LoggerMessage(EventId = (int)LogEvents.SchemaPublished, Level = LogLevel.Information, Message = "Schema version {Version} published by {Author}")]
    private static partial void LogSchemaPublished(ILogger logger, long version, string author);

    [LoggerMessage(EventId = (int)LogEvents.PolicyPublishRejected, Level = LogLevel.Information, Message = "Policy publish by {Author} rejected: {Code} ({DetailCode}) at {Position}")]
    private static partial void LogPublishRejected(ILogger logger, string author, GrantErrorCode code, string? detailCode, TextPosition? position);

    [LoggerMessage(EventId = (int)LogEvents.PolicyPublishFailed, Level = LogLevel.Error, Message = "Could not confirm that policy or schema version {Version} was written; storage is read back, and the publish answers with what it holds")]
    private static partial void LogPublishFailed(ILogger logger, Exception? exception, long version);

    [LoggerMessage(EventId = (int)LogEvents.PolicySiloNotAcknowledged, Level = LogLevel.Warning, Message = "Silo {Silo} did not install {What} version {Version}; waiting for its confirmation lease to lapse")]
    private static partial void LogSiloNotAcknowledged(ILogger logger, Exception exception, SiloAddress silo, string what, long version);

    [LoggerMessage(EventId = (int)LogEvents.CatalogPublished, Level = LogLevel.Information, Message = "Resource catalog version {Version} published by {Author} with {Count} entries")]
    private static partial void LogCatalogPublished(ILogger logger, long version, string author, int count);

    [LoggerMessage(EventId = (int)LogEvents.CatalogPublishRejected, Level = LogLevel.Information, Message = "Resource catalog publish by {Author} rejected: {DetailCode} at {Target}")]
    private static partial void LogCatalogPublishRejected(ILogger logger, string author, string? detailCode, string? target);

    [LoggerMessage(EventId = (int)LogEvents.AccessRulesPublished, Level = LogLevel.Information, Message = "Access rules version {Version} published by {Author} with {Count} rules")]
    private static partial void LogAccessRulesPublished(ILogger logger, long version, string author, int count);

    [LoggerMessage(EventId = (int)LogEvents.AccessRulesPublishRejected, Level = LogLevel.Information, Message = "Access rules publish by {Author} rejected: {Reason}")]
    private static partial void LogAccessRulesPublishRejected(ILogger logger, string author, string reason);
}
