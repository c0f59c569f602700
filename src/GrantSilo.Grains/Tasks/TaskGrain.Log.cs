using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Tasks;

internal sealed partial class TaskGrain
{
    [LoggerMessage(EventId = (int)LogEvents.TaskCreated, Level = LogLevel.Debug, Message = "Task {TaskId} created for agent {Agent} at depth {Depth}")]
    private static partial void LogTaskCreated(ILogger logger, string taskId, string agent, int depth);

    [LoggerMessage(EventId = (int)LogEvents.TaskDelegated, Level = LogLevel.Debug, Message = "Task {TaskId} delegated child {ChildId} to agent {Agent} at depth {Depth}")]
    private static partial void LogTaskDelegated(ILogger logger, string taskId, string childId, string agent, int depth);

    [LoggerMessage(EventId = (int)LogEvents.TaskDelegationRejected, Level = LogLevel.Debug, Message = "Delegation from task {TaskId} rejected: {Code} (permission {Permission})")]
    private static partial void LogDelegationRejected(ILogger logger, string taskId, GrantErrorCode code, string? permission);

    [LoggerMessage(EventId = (int)LogEvents.TaskEnded, Level = LogLevel.Debug, Message = "Task {TaskId} ended as {Status}; {Pending} cascade steps to run")]
    private static partial void LogTaskEnded(ILogger logger, string taskId, GrantTaskStatus status, int pending);

    [LoggerMessage(EventId = (int)LogEvents.TaskCheckpointReached, Level = LogLevel.Debug, Message = "Task {TaskId} reached its checkpoint and awaits re-authorization")]
    private static partial void LogTaskCheckpointReached(ILogger logger, string taskId);

    [LoggerMessage(EventId = (int)LogEvents.TaskReauthorized, Level = LogLevel.Debug, Message = "Task {TaskId} re-authorized until {CheckpointDueAt}")]
    private static partial void LogTaskReauthorized(ILogger logger, string taskId, DateTimeOffset checkpointDueAt);

    [LoggerMessage(EventId = (int)LogEvents.TaskPolicyDrift, Level = LogLevel.Warning, Message = "Task {TaskId}: the active policy no longer permits its scope (permission {Permission}): {Detail}")]
    private static partial void LogPolicyDrift(ILogger logger, string taskId, string? permission, string detail);

    // A spec another grain would never send (a forged call, or a bug): worth a warning.
    [LoggerMessage(EventId = (int)LogEvents.TaskChildSpecRefused, Level = LogLevel.Warning, Message = "Child task {TaskId} refused its spec: {Code} (permission {Permission}); nothing was created")]
    private static partial void LogChildRefused(ILogger logger, string taskId, GrantErrorCode code, string? permission);
}
