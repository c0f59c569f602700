using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables.Reminders;

public sealed partial class AzureTableReminderTable
{
    [LoggerMessage(EventId = (int)AzureTableEventId.TableCreated, Level = LogLevel.Information, Message = "Reminder table created Azure table {TableName}")]
    private partial void LogTableCreated(string tableName);

    [LoggerMessage(EventId = (int)AzureTableEventId.TableInitFailed, Level = LogLevel.Error, Message = "Reminder table could not create or reach Azure table {TableName}")]
    private partial void LogTableInitFailed(Exception exception, string tableName);

    [LoggerMessage(EventId = (int)AzureTableEventId.ReminderRead, Level = LogLevel.Trace, Message = "{Operation} read {Count} {What}")]
    private partial void LogRead(string operation, string what, int count);

    [LoggerMessage(EventId = (int)AzureTableEventId.ReminderUpserted, Level = LogLevel.Debug, Message = "Upserted reminder {ReminderName} of {GrainId}: ETag {ETag}")]
    private partial void LogUpserted(GrainId grainId, string reminderName, string? eTag);

    [LoggerMessage(EventId = (int)AzureTableEventId.ReminderRemoved, Level = LogLevel.Debug, Message = "Remove reminder {ReminderName} of {GrainId}: removed {Removed}")]
    private partial void LogRemoved(GrainId grainId, string reminderName, bool removed);

    [LoggerMessage(EventId = (int)AzureTableEventId.ReminderFailed, Level = LogLevel.Warning, Message = "{Operation} of reminder {ReminderName} of {GrainId} failed")]
    private partial void LogFailed(Exception exception, string operation, GrainId grainId, string reminderName);

    [LoggerMessage(EventId = (int)AzureTableEventId.ReminderQueryFailed, Level = LogLevel.Warning, Message = "{Operation} of {What} failed")]
    private partial void LogQueryFailed(Exception exception, string operation, string what);

    [LoggerMessage(EventId = (int)AzureTableEventId.ReminderTableCleared, Level = LogLevel.Information, Message = "Cleared {Count} reminders")]
    private partial void LogCleared(int count);
}
