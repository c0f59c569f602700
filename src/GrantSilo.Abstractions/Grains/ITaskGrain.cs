using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>A task, keyed by its task id.</summary>
[Alias("grantsilo.ITaskGrain")]
public interface ITaskGrain : IGrainWithStringKey
{
    /// <summary>Creates this task as a root task for a person.</summary>
    [Alias("Create"), CallerOperation(CallerOperations.TaskCreate)]
    Task<GrantResult<TaskInfo>> CreateAsync(CreateTaskRequest request, CancellationToken cancellationToken = default);

    /// <summary>Delegates a child task to another agent; the request is checked, never trimmed.</summary>
    [Alias("Delegate"), CallerOperation(CallerOperations.TaskDelegate)]
    Task<GrantResult<TaskInfo>> DelegateAsync(DelegationRequest request, CancellationToken cancellationToken = default);

    [AlwaysInterleave, Alias("Get"), CallerOperation(CallerOperations.TaskRead)]
    Task<GrantResult<TaskInfo>> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>This task and all its descendants with their states.</summary>
    [AlwaysInterleave, Alias("GetTree"), CallerOperation(CallerOperations.TaskRead)]
    Task<GrantResult<TaskTreeNode>> GetTreeAsync(CancellationToken cancellationToken = default);

    /// <summary>Re-authorizes a task awaiting it at a checkpoint, as a fresh check; starts a new interval.</summary>
    [Alias("Reauthorize"), CallerOperation(CallerOperations.TaskReauthorize)]
    Task<GrantResult<TaskInfo>> ReauthorizeAsync(CancellationToken cancellationToken = default);

    /// <summary>Revokes the task durably, then ends every descendant and credential.</summary>
    [Alias("Revoke"), CallerOperation(CallerOperations.TaskRevoke)]
    Task<GrantResult<TaskInfo>> RevokeAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>Completes the task durably, then ends every descendant and credential.</summary>
    [Alias("Complete"), CallerOperation(CallerOperations.TaskComplete)]
    Task<GrantResult<TaskInfo>> CompleteAsync(string? summary, CancellationToken cancellationToken = default);

    /// <summary>The live sessions that issued credentials for this task, a page at a time, ordered by session id.</summary>
    [AlwaysInterleave, Alias("ListSessions"), CallerOperation(CallerOperations.TaskRead)]
    Task<GrantResult<Page<SessionInfo>>> ListSessionsAsync(string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);

    /// <summary>The live credentials of this task, a page at a time, ordered by session, then credential id.</summary>
    [AlwaysInterleave, Alias("ListCredentials"), CallerOperation(CallerOperations.TaskRead)]
    Task<GrantResult<Page<CredentialInfo>>> ListCredentialsAsync(string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);
}
