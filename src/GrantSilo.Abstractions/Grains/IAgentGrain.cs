using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>An agent, keyed by its workload id (for example <c>spiffe://acme.dev/agent/planner</c>).</summary>
[Alias("grantsilo.IAgentGrain")]
public interface IAgentGrain : IGrainWithStringKey
{
    /// <summary>Registers the agent. Registering again with the same owner and ceiling returns the existing agent.</summary>
    [Alias("Register"), CallerOperation(CallerOperations.AgentRegister)]
    Task<GrantResult<AgentInfo>> RegisterAsync(AgentRegistration registration, CancellationToken cancellationToken = default);

    [AlwaysInterleave, Alias("Get"), CallerOperation(CallerOperations.AgentRead)]
    Task<GrantResult<AgentInfo>> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Suspends the agent and ends all its live sessions, tasks and credentials.</summary>
    [Alias("Suspend"), CallerOperation(CallerOperations.AgentSuspend)]
    Task<GrantResult<AgentInfo>> SuspendAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>Lets a suspended agent act again. What ended on suspension stays ended.</summary>
    [Alias("Resume"), CallerOperation(CallerOperations.AgentResume)]
    Task<GrantResult<AgentInfo>> ResumeAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>Retires the agent for good and ends all its live sessions, tasks and credentials.</summary>
    [Alias("Retire"), CallerOperation(CallerOperations.AgentRetire)]
    Task<GrantResult<AgentInfo>> RetireAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a session of this agent (<see cref="OpenSessionRequest.Agent"/> must name it). GrantSilo chooses the
    /// session id and returns it. Refused when the agent is not active, or with <see cref="GrantErrorCode.QuotaExceeded"/>
    /// when it already has as many live sessions as allowed.
    /// </summary>
    [Alias("OpenSession"), CallerOperation(CallerOperations.SessionOpen)]
    Task<GrantResult<SessionInfo>> OpenSessionAsync(OpenSessionRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The agent's live tasks that the caller may read one by one (<c>task.read</c> under the access rules in force),
    /// a page at a time, ordered by task id. A page may be short, or empty, before the continuation token is null.
    /// </summary>
    [AlwaysInterleave, Alias("ListTasks"), CallerOperation(CallerOperations.AgentRead)]
    Task<GrantResult<Page<TaskInfo>>> ListTasksAsync(string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The agent's live sessions that the caller may read one by one (<c>session.read</c> under the access rules in
    /// force), a page at a time, ordered by session id. A page may be short, or empty, before the continuation token is null.
    /// </summary>
    [AlwaysInterleave, Alias("ListSessions"), CallerOperation(CallerOperations.AgentRead)]
    Task<GrantResult<Page<SessionInfo>>> ListSessionsAsync(string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);
}
