using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables.Storage;

public sealed partial class AzureTableGrainStorage
{
    [LoggerMessage(EventId = (int)AzureTableEventId.TableCreated, Level = LogLevel.Information, Message = "Grain storage {ProviderName} created Azure table {TableName}")]
    private partial void LogTableCreated(string providerName, string tableName);

    [LoggerMessage(EventId = (int)AzureTableEventId.TableInitFailed, Level = LogLevel.Error, Message = "Grain storage {ProviderName} could not create or reach Azure table {TableName}")]
    private partial void LogTableInitFailed(Exception exception, string providerName, string tableName);

    [LoggerMessage(EventId = (int)AzureTableEventId.GrainStateRead, Level = LogLevel.Trace, Message = "Read state {StateName} of {GrainId}: ETag {ETag}, exists {RecordExists}")]
    private partial void LogStateRead(string stateName, GrainId grainId, string? eTag, bool recordExists);

    [LoggerMessage(EventId = (int)AzureTableEventId.GrainStateWritten, Level = LogLevel.Trace, Message = "Wrote state {StateName} of {GrainId}: ETag {ETag}, {Size} bytes")]
    private partial void LogStateWritten(string stateName, GrainId grainId, string eTag, int size);

    [LoggerMessage(EventId = (int)AzureTableEventId.GrainStateCleared, Level = LogLevel.Trace, Message = "Cleared state {StateName} of {GrainId}: ETag {ETag}")]
    private partial void LogStateCleared(string stateName, GrainId grainId, string? eTag);

    [LoggerMessage(EventId = (int)AzureTableEventId.GrainStateConflict, Level = LogLevel.Warning, Message = "{Operation} of state {StateName} of {GrainId} refused: expected ETag {ExpectedETag}, stored {StoredETag}")]
    private partial void LogConflict(string operation, string stateName, GrainId grainId, string? expectedETag, string? storedETag);

    [LoggerMessage(EventId = (int)AzureTableEventId.GrainStateFailed, Level = LogLevel.Warning, Message = "{Operation} of state {StateName} of {GrainId} in table {TableName} failed")]
    private partial void LogStorageFailed(Exception exception, string operation, string stateName, GrainId grainId, string tableName);

    [LoggerMessage(EventId = (int)AzureTableEventId.GrainStateTooLarge, Level = LogLevel.Error, Message = "State {StateName} of {GrainId} is {Size} bytes, over the {MaxSize} bytes one entity holds; nothing written")]
    private partial void LogStateTooLarge(string stateName, GrainId grainId, int size, int maxSize);

    [LoggerMessage(EventId = (int)AzureTableEventId.GrainStateOutcomeResolved, Level = LogLevel.Information, Message = "{Operation} of state {StateName} of {GrainId} got HTTP {Status}, but reading back showed this write had committed")]
    private partial void LogOutcomeResolved(string operation, string stateName, GrainId grainId, int status);
}
