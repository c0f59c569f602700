using GrantSilo.Grains;

namespace GrantSilo.Client;

/// <summary>
/// The one client orchestrators, agents, gateways and operators use to talk to GrantSilo over an
/// Orleans cluster client. Refusals come back as typed <see cref="GrantResult{T}"/> values; a
/// cluster failure comes back as <see cref="GrantErrorCode.Unavailable"/>; authorization never
/// throws and fails closed.
/// </summary>
public sealed class GrantClient
{
    private readonly IClusterClient _cluster;
    private readonly TimeProvider _time;

    /// <summary>Creates a client over a connected Orleans cluster client.</summary>
    public GrantClient(IClusterClient cluster, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        _cluster = cluster;
        _time = time ?? TimeProvider.System;
    }

    // ---- Agents ----

    /// <summary>Registers an agent under its workload id (for example <c>spiffe://acme.dev/agent/planner</c>).</summary>
    public Task<GrantResult<AgentInfo>> RegisterAgentAsync(string workloadId, AgentRegistration registration) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).RegisterAsync(registration));

    public Task<GrantResult<AgentInfo>> GetAgentAsync(string workloadId) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).GetAsync());

    /// <summary>Suspends an agent: its live sessions, tasks and credentials end.</summary>
    public Task<GrantResult<AgentInfo>> SuspendAgentAsync(string workloadId, string reason) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).SuspendAsync(reason));

    public Task<GrantResult<AgentInfo>> ResumeAgentAsync(string workloadId, string reason) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).ResumeAsync(reason));

    /// <summary>Retires an agent for good: its live sessions, tasks and credentials end.</summary>
    public Task<GrantResult<AgentInfo>> RetireAgentAsync(string workloadId, string reason) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).RetireAsync(reason));

    // ---- Tasks ----

    /// <summary>Creates a root task for a person (orchestrators).</summary>
    public Task<GrantResult<TaskInfo>> CreateTaskAsync(CreateTaskRequest request) =>
        GuardAsync(() => _cluster.GetGrain<ITaskGrain>(NewId("t")).CreateAsync(request));

    /// <summary>Delegates a child of <paramref name="parentTaskId"/> to another agent (the parent's agent, proving itself with a live credential of the parent).</summary>
    public Task<GrantResult<TaskInfo>> DelegateAsync(string parentTaskId, DelegationRequest request) =>
        CallAsync(parentTaskId, "Task id", id => Task(id).DelegateAsync(request));

    public Task<GrantResult<TaskInfo>> GetTaskAsync(string taskId) =>
        CallAsync(taskId, "Task id", id => Task(id).GetAsync());

    /// <summary>The task and its descendants: who delegated what to whom, with states.</summary>
    public Task<GrantResult<TaskTreeNode>> GetTaskTreeAsync(string taskId) =>
        CallAsync(taskId, "Task id", id => Task(id).GetTreeAsync());

    /// <summary>Re-authorizes a task waiting at a checkpoint (a fresh check).</summary>
    public Task<GrantResult<TaskInfo>> ReauthorizeTaskAsync(string taskId) =>
        CallAsync(taskId, "Task id", id => Task(id).ReauthorizeAsync());

    /// <summary>Revokes a task and everything below it.</summary>
    public Task<GrantResult<TaskInfo>> RevokeTaskAsync(string taskId, string reason) =>
        CallAsync(taskId, "Task id", id => Task(id).RevokeAsync(reason));

    /// <summary>Completes a task; everything below it ends.</summary>
    public Task<GrantResult<TaskInfo>> CompleteTaskAsync(string taskId, string? summary = null) =>
        CallAsync(taskId, "Task id", id => Task(id).CompleteAsync(summary));

    // ---- Sessions and credentials ----

    /// <summary>Opens a session for an agent.</summary>
    public Task<GrantResult<SessionInfo>> OpenSessionAsync(OpenSessionRequest request) =>
        GuardAsync(() => _cluster.GetGrain<ISessionGrain>(NewId("s")).OpenAsync(request));

    public Task<GrantResult<SessionInfo>> GetSessionAsync(string sessionId) =>
        CallAsync(sessionId, "Session id", id => Session(id).GetAsync());

    /// <summary>Ends a session and every credential issued in it.</summary>
    public Task<GrantResult<SessionInfo>> EndSessionAsync(string sessionId, string reason) =>
        CallAsync(sessionId, "Session id", id => Session(id).EndAsync(reason));

    /// <summary>Issues a short-lived credential in a session for a task the session's agent is assigned to.</summary>
    public Task<GrantResult<IssuedCredential>> IssueCredentialAsync(string sessionId, IssueCredentialRequest request) =>
        CallAsync(sessionId, "Session id", id => Session(id).IssueCredentialAsync(request));

    public Task<GrantResult<CredentialInfo>> GetCredentialAsync(string credentialId) =>
        CallAsync(credentialId, "Credential id", id => Credential(id).GetAsync());

    /// <summary>Revokes one credential (nothing else).</summary>
    public Task<GrantResult<CredentialInfo>> RevokeCredentialAsync(string credentialId, string reason) =>
        CallAsync(credentialId, "Credential id", id => Credential(id).RevokeAsync(reason));

    /// <summary>
    /// Decides whether the holder of <paramref name="token"/> may do <paramref name="action"/> on
    /// <paramref name="resource"/> now (gateways). Never throws: malformed tokens are denied without
    /// a call, and any failure is a deny.
    /// </summary>
    public async Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource)
    {
        if (!CredentialToken.TryParse(token, out var credentialId, out var secret))
        {
            return Decision.Deny(DecisionReason.MalformedToken, "The token is not a well-formed GrantSilo token.", _time.GetUtcNow());
        }
        try
        {
            return await Credential(credentialId).AuthorizeAsync(secret, action, resource).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return Decision.Deny(DecisionReason.Error, $"GrantSilo could not be reached ({exception.GetType().Name}: {exception.Message}); failing closed.", _time.GetUtcNow(), credentialId);
        }
    }

    /// <summary>Cascades (ending descendants, sessions, credentials) that failed a step and are being retried.</summary>
    public Task<IReadOnlyList<PendingCascade>> ListPendingCascadesAsync() =>
        _cluster.GetGrain<ICascadeMonitorGrain>(0).ListAsync();

    private IAgentGrain Agent(string id) => _cluster.GetGrain<IAgentGrain>(id);

    private ITaskGrain Task(string id) => _cluster.GetGrain<ITaskGrain>(id);

    private ISessionGrain Session(string id) => _cluster.GetGrain<ISessionGrain>(id);

    private ICredentialGrain Credential(string id) => _cluster.GetGrain<ICredentialGrain>(id);

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static async Task<GrantResult<T>> CallAsync<T>(string id, string field, Func<string, Task<GrantResult<T>>> call)
    {
        // Identifiers are checked before they name a grain, so bad input never activates anything.
        var canonical = Canonical.Identifier(id, field);
        if (!canonical.IsSuccess)
        {
            return GrantResult<T>.Fail(canonical.Error);
        }
        return await GuardAsync(() => call(canonical.Value)).ConfigureAwait(false);
    }

    private static async Task<GrantResult<T>> GuardAsync<T>(Func<Task<GrantResult<T>>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException and not GrantException)
        {
            return GrantResult<T>.Fail(GrantErrorCode.Unavailable, $"GrantSilo could not complete the request ({exception.GetType().Name}: {exception.Message}); it may or may not have taken effect, so read the state before retrying.");
        }
    }
}
