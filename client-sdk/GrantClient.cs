using GrantSilo.GrainInterfaces;

namespace GrantSilo.Client;

/// <summary>
/// The one client orchestrators, agents, gateways and operators use to talk to GrantSilo over an
/// Orleans cluster client. Refusals come back as typed <see cref="GrantResult{T}"/> values; a
/// cluster failure comes back as <see cref="GrantErrorCode.Unavailable"/>; authorization never
/// throws and fails closed.
/// </summary>
public sealed class GrantClient
{
    // Gateways authorize the same few credentials over and over; resolving a grain reference costs as
    // much as a small fraction of the call itself, so references of recently used credentials are kept.
    private const int MaxCachedCredentials = 4096;

    private readonly IClusterClient _cluster;
    private readonly TimeProvider _time;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ICredentialGrain> _credentials = new(StringComparer.Ordinal);

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

    /// <summary>Opens a session for the agent the request names; GrantSilo chooses the session id (in the answer).</summary>
    public Task<GrantResult<SessionInfo>> OpenSessionAsync(OpenSessionRequest request) =>
        request is null
            ? System.Threading.Tasks.Task.FromResult(GrantResult<SessionInfo>.Fail(GrantErrorCode.InvalidArgument, "An open-session request is required."))
            : CallAsync(request.Agent, "Agent workload id", id => Agent(id).OpenSessionAsync(request));

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
        catch (Exception exception)
        {
            // A cancellation the caller did not ask for (a silo killed mid-call) is a deny like any failure.
            return Decision.Deny(DecisionReason.Error, $"GrantSilo could not be reached ({exception.GetType().Name}: {exception.Message}); failing closed.", _time.GetUtcNow(), credentialId);
        }
    }

    /// <summary>
    /// Retries a request that came back <see cref="DecisionKind.StepUpRequired"/>, presenting the
    /// approval it named once a person has approved it. Allowed only for exactly the same credential,
    /// action and resource, once; a denied, expired or used approval is a deny. Never throws.
    /// </summary>
    public async Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, string approvalId)
    {
        if (!CredentialToken.TryParse(token, out var credentialId, out var secret))
        {
            return Decision.Deny(DecisionReason.MalformedToken, "The token is not a well-formed GrantSilo token.", _time.GetUtcNow());
        }
        try
        {
            return await Credential(credentialId).AuthorizeWithApprovalAsync(secret, action, resource, approvalId).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // A cancellation the caller did not ask for (a silo killed mid-call) is a deny like any failure.
            return Decision.Deny(DecisionReason.Error, $"GrantSilo could not be reached ({exception.GetType().Name}: {exception.Message}); failing closed.", _time.GetUtcNow(), credentialId);
        }
    }

    // ---- Paged reads and introspection ----

    /// <summary>The live tasks of an agent, one page at a time (pass back the page's continuation token for the next).</summary>
    public Task<GrantResult<Page<TaskInfo>>> ListAgentTasksAsync(string workloadId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).ListTasksAsync(continuationToken, pageSize, cancellationToken));

    /// <summary>The live sessions of an agent, one page at a time.</summary>
    public Task<GrantResult<Page<SessionInfo>>> ListAgentSessionsAsync(string workloadId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).ListSessionsAsync(continuationToken, pageSize, cancellationToken));

    /// <summary>The live sessions holding credentials for a task, one page at a time.</summary>
    public Task<GrantResult<Page<SessionInfo>>> ListTaskSessionsAsync(string taskId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(taskId, "Task id", id => Task(id).ListSessionsAsync(continuationToken, pageSize, cancellationToken));

    /// <summary>The live credentials of a task, one page at a time.</summary>
    public Task<GrantResult<Page<CredentialInfo>>> ListTaskCredentialsAsync(string taskId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(taskId, "Task id", id => Task(id).ListCredentialsAsync(continuationToken, pageSize, cancellationToken));

    /// <summary>The live credentials issued in a session, one page at a time.</summary>
    public Task<GrantResult<Page<CredentialInfo>>> ListSessionCredentialsAsync(string sessionId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(sessionId, "Session id", id => Session(id).ListCredentialsAsync(continuationToken, pageSize, cancellationToken));

    /// <summary>
    /// Whether <paramref name="token"/> is active now and, if not, why; with its task, agent, session, scope and
    /// expiry (gateways, resource servers). A malformed token is answered without a call; a forged one gets the
    /// answer an unknown one gets. The secret is never returned.
    /// </summary>
    public Task<GrantResult<TokenIntrospection>> IntrospectAsync(string token, CancellationToken cancellationToken = default)
    {
        if (!CredentialToken.TryParse(token, out var credentialId, out var secret))
        {
            return System.Threading.Tasks.Task.FromResult(GrantResult<TokenIntrospection>.Ok(TokenIntrospection.Unknown(DecisionReason.MalformedToken, _time.GetUtcNow())));
        }
        return GuardAsync(async () => GrantResult<TokenIntrospection>.Ok(await Credential(credentialId).IntrospectAsync(secret, cancellationToken).ConfigureAwait(false)));
    }

    // ---- Policy ----

    /// <summary>
    /// Publishes a new version of the Cedar policy set. Invalid text is refused with
    /// <see cref="GrantErrorCode.PolicyInvalid"/> (its <see cref="GrantError.Position"/> and
    /// <see cref="GrantError.DetailCode"/> say where and what) and the active version stays. On success
    /// every silo decides with the new version by the time this returns.
    /// </summary>
    public Task<GrantResult<PolicyVersionInfo>> PublishPolicyAsync(string text, string author) =>
        GuardAsync(() => Policies.PublishAsync(text, author));

    /// <summary>
    /// Publishes a new version of the Cedar schema policies are validated against (for example the
    /// shipped schema extended with an operator's resource attributes and actions). Refused with
    /// <see cref="GrantErrorCode.SchemaInvalid"/>, the active schema unchanged, when it does not parse,
    /// drops one of GrantSilo's own declarations, or would make the active policy set invalid.
    /// </summary>
    public Task<GrantResult<SchemaVersionInfo>> PublishSchemaAsync(string text, string author) =>
        GuardAsync(() => Policies.PublishSchemaAsync(text, author));

    /// <summary>The schema policies are validated against now, with its text (version 0 is the shipped schema).</summary>
    public Task<GrantResult<SchemaVersion>> GetActiveSchemaAsync() =>
        GuardAsync(async () => GrantResult<SchemaVersion>.Ok(await Policies.GetActiveSchemaAsync().ConfigureAwait(false)));

    /// <summary>
    /// Adds a template-linked policy (a policy template's <c>?principal</c>/<c>?resource</c> slots filled, for
    /// example the shipped <c>person-requires-approval</c> for one person) as a new policy version.
    /// </summary>
    public Task<GrantResult<PolicyVersionInfo>> LinkPolicyTemplateAsync(PolicyLink link, string author) =>
        GuardAsync(() => Policies.LinkTemplateAsync(link, author));

    /// <summary>Removes a template-linked policy, as a new policy version.</summary>
    public Task<GrantResult<PolicyVersionInfo>> UnlinkPolicyTemplateAsync(string linkId, string author) =>
        GuardAsync(() => Policies.UnlinkTemplateAsync(linkId, author));

    /// <summary>The policy version decisions use now, with its text.</summary>
    public Task<GrantResult<PolicySetVersion>> GetActivePolicyAsync() =>
        GuardAsync(async () => GrantResult<PolicySetVersion>.Ok(await Policies.GetActiveAsync().ConfigureAwait(false)));

    /// <summary>One policy version with its text (version 0 is the shipped default).</summary>
    public Task<GrantResult<PolicySetVersion>> GetPolicyVersionAsync(long version) =>
        GuardAsync(() => Policies.GetVersionAsync(version));

    /// <summary>Every policy version, oldest first (version 0 is the shipped default).</summary>
    public Task<GrantResult<IReadOnlyList<PolicyVersionInfo>>> ListPolicyVersionsAsync() =>
        GuardAsync(async () => GrantResult<IReadOnlyList<PolicyVersionInfo>>.Ok(await Policies.ListVersionsAsync().ConfigureAwait(false)));

    // ---- Step-up approvals ----

    public Task<GrantResult<ApprovalInfo>> GetApprovalAsync(string approvalId) =>
        CallAsync(approvalId, "Approval id", id => Approval(id).GetAsync());

    /// <summary>A person (<paramref name="approver"/>) approves a step-up request; the agent may then retry once.</summary>
    public Task<GrantResult<ApprovalInfo>> ApproveAsync(string approvalId, string approver, string? comment = null) =>
        CallAsync(approvalId, "Approval id", id => Approval(id).ApproveAsync(approver, comment));

    /// <summary>A person denies a step-up request; a retry with it is denied.</summary>
    public Task<GrantResult<ApprovalInfo>> DenyApprovalAsync(string approvalId, string approver, string? reason = null) =>
        CallAsync(approvalId, "Approval id", id => Approval(id).DenyAsync(approver, reason));

    /// <summary>Approvals still waiting for a person, as far as the approval hub has heard (best effort).</summary>
    public Task<GrantResult<IReadOnlyList<ApprovalInfo>>> ListPendingApprovalsAsync() =>
        GuardAsync(async () => GrantResult<IReadOnlyList<ApprovalInfo>>.Ok(await _cluster.GetGrain<IApprovalHubGrain>(0).ListPendingAsync().ConfigureAwait(false)));

    /// <summary>
    /// Subscribes <paramref name="observer"/> to step-up requests and their outcomes. The subscription
    /// is renewed every <see cref="ApprovalSubscriptions.RenewEvery"/> until it is disposed.
    /// </summary>
    public async Task<GrantResult<ApprovalSubscription>> SubscribeApprovalsAsync(IApprovalObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var reference = _cluster.CreateObjectReference<IApprovalObserver>(observer);
        var hub = _cluster.GetGrain<IApprovalHubGrain>(0);
        GrantResult<DateTimeOffset> subscribed;
        try
        {
            subscribed = await hub.SubscribeAsync(reference).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            _cluster.DeleteObjectReference<IApprovalObserver>(reference);
            return GrantResult<ApprovalSubscription>.Fail(GrantErrorCode.Unavailable, $"GrantSilo could not subscribe the approver ({exception.GetType().Name}: {exception.Message}); retry.");
        }
        if (!subscribed.IsSuccess)
        {
            _cluster.DeleteObjectReference<IApprovalObserver>(reference);
            return GrantResult<ApprovalSubscription>.Fail(subscribed.Error);
        }
        return new ApprovalSubscription(_cluster, hub, reference);
    }

    /// <summary>Cascades (ending descendants, sessions, credentials) that failed a step and are being retried.</summary>
    public Task<IReadOnlyList<PendingCascade>> ListPendingCascadesAsync() =>
        _cluster.GetGrain<ICascadeMonitorGrain>(0).ListAsync();

    private IAgentGrain Agent(string id) => _cluster.GetGrain<IAgentGrain>(id);

    private ITaskGrain Task(string id) => _cluster.GetGrain<ITaskGrain>(id);

    private ISessionGrain Session(string id) => _cluster.GetGrain<ISessionGrain>(id);

    private ICredentialGrain Credential(string id)
    {
        if (_credentials.TryGetValue(id, out var cached))
        {
            return cached;
        }
        var grain = _cluster.GetGrain<ICredentialGrain>(id);
        if (_credentials.Count >= MaxCachedCredentials)
        {
            _credentials.Clear();
        }
        _credentials.TryAdd(id, grain);
        return grain;
    }

    private IApprovalGrain Approval(string id) => _cluster.GetGrain<IApprovalGrain>(id);

    private IPolicyStoreGrain Policies => _cluster.GetGrain<IPolicyStoreGrain>(0);

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
        // Every transport failure, a cancellation the caller did not ask for among them (a silo killed
        // while it placed the grain), is an answer, never an exception.
        catch (Exception exception) when (exception is not GrantException)
        {
            return GrantResult<T>.Fail(GrantErrorCode.Unavailable, $"GrantSilo could not complete the request ({exception.GetType().Name}: {exception.Message}); it may or may not have taken effect. Retrying an end (revoke, complete, suspend, end session) is always safe: it answers only once the end is in force.");
        }
    }
}

/// <summary>An approver's subscription to step-up requests; renewed in the background until disposed.</summary>
public sealed class ApprovalSubscription : IAsyncDisposable
{
    private readonly IClusterClient _cluster;
    private readonly IApprovalHubGrain _hub;
    private readonly IApprovalObserver _reference;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;

    internal ApprovalSubscription(IClusterClient cluster, IApprovalHubGrain hub, IApprovalObserver reference)
    {
        _cluster = cluster;
        _hub = hub;
        _reference = reference;
        _renewal = RenewAsync();
    }

    // Renewal runs on real time: the hub keeps subscriptions on the system clock.
    private async Task RenewAsync()
    {
        using var timer = new PeriodicTimer(ApprovalSubscriptions.RenewEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await _hub.SubscribeAsync(_reference).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The next tick tries again; the hub keeps the subscription for several renewal periods.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    /// <summary>Stops renewing, unsubscribes and releases the observer reference.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewal.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            await _hub.UnsubscribeAsync(_reference).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The subscription expires on its own.
        }
        _cluster.DeleteObjectReference<IApprovalObserver>(_reference);
        _stop.Dispose();
    }
}
