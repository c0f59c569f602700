using GrantSilo.Client;
using GrantSilo.GrainInterfaces;

namespace GrantSilo.Testing;

/// <summary>
/// The test harness's client: each call is made, with a real token through GrantSilo's door, by the caller
/// the access rules expect for it — an agent opens its own sessions, is issued its own credentials and
/// delegates its own tasks; a named person approves and publishes; everything else is the harness (a
/// service with every role). Tests about the rules themselves use <see cref="As"/> with an explicit caller.
/// </summary>
public sealed class ActingGrantClient(GrantClient connection, TestIdentity identity) : IGrantClient
{
    private readonly GrantClient _harness = connection.As(identity.Harness);

    /// <summary>The connection without a caller (every call refused as unauthenticated).</summary>
    public GrantClient Anonymous => connection;

    /// <summary>The harness itself.</summary>
    public GrantClient Harness => _harness;

    public IGrantClient As(ICallerTokenSource caller) => connection.As(caller);

    /// <summary>A client calling as the agent (its JWT-SVID).</summary>
    public GrantClient AsAgent(string spiffeId) => connection.As(identity.Agent(spiffeId));

    /// <summary>A client calling as a person with the given roles.</summary>
    public GrantClient AsPerson(string name, params string[] roles) => connection.As(identity.Person(name, roles));

    /// <summary>A client calling as a service with the given roles.</summary>
    public GrantClient AsService(string name, params string[] roles) => connection.As(identity.Service(name, roles));

    private GrantClient ByName(string name, params string[] personRoles) =>
        name.StartsWith("spiffe://", StringComparison.Ordinal) ? AsAgent(name)
        : name.StartsWith("service:", StringComparison.Ordinal) ? AsService(name, TestIdentity.HarnessRoles)
        : AsPerson(name, personRoles);

    public Task<GrantResult<AgentInfo>> RegisterAgentAsync(string workloadId, AgentRegistration registration, CancellationToken cancellationToken = default) => _harness.RegisterAgentAsync(workloadId, registration, cancellationToken);
    public Task<GrantResult<AgentInfo>> GetAgentAsync(string workloadId, CancellationToken cancellationToken = default) => _harness.GetAgentAsync(workloadId, cancellationToken);
    public Task<GrantResult<AgentInfo>> SuspendAgentAsync(string workloadId, string reason, CancellationToken cancellationToken = default) => _harness.SuspendAgentAsync(workloadId, reason, cancellationToken);
    public Task<GrantResult<AgentInfo>> ResumeAgentAsync(string workloadId, string reason, CancellationToken cancellationToken = default) => _harness.ResumeAgentAsync(workloadId, reason, cancellationToken);
    public Task<GrantResult<AgentInfo>> RetireAgentAsync(string workloadId, string reason, CancellationToken cancellationToken = default) => _harness.RetireAgentAsync(workloadId, reason, cancellationToken);

    /// <summary>Created by the harness as orchestrator (a named orchestrator in the request is replaced by the harness, which proved it).</summary>
    public Task<GrantResult<TaskInfo>> CreateTaskAsync(CreateTaskRequest request, CancellationToken cancellationToken = default) =>
        _harness.CreateTaskAsync(request is null ? null! : request with { Orchestrator = null }, cancellationToken);

    /// <summary>Delegated by the parent task's agent.</summary>
    public async Task<GrantResult<TaskInfo>> DelegateAsync(string parentTaskId, DelegationRequest request, CancellationToken cancellationToken = default) =>
        await (await ParentAgentAsync(parentTaskId, cancellationToken)).DelegateAsync(parentTaskId, request, cancellationToken);

    public Task<GrantResult<TaskInfo>> GetTaskAsync(string taskId, CancellationToken cancellationToken = default) => _harness.GetTaskAsync(taskId, cancellationToken);
    public Task<GrantResult<TaskTreeNode>> GetTaskTreeAsync(string taskId, CancellationToken cancellationToken = default) => _harness.GetTaskTreeAsync(taskId, cancellationToken);
    public Task<GrantResult<Page<TaskInfo>>> ListAgentTasksAsync(string workloadId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) => _harness.ListAgentTasksAsync(workloadId, continuationToken, pageSize, cancellationToken);
    public Task<GrantResult<Page<SessionInfo>>> ListAgentSessionsAsync(string workloadId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) => _harness.ListAgentSessionsAsync(workloadId, continuationToken, pageSize, cancellationToken);
    public Task<GrantResult<Page<SessionInfo>>> ListTaskSessionsAsync(string taskId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) => _harness.ListTaskSessionsAsync(taskId, continuationToken, pageSize, cancellationToken);
    public Task<GrantResult<Page<CredentialInfo>>> ListTaskCredentialsAsync(string taskId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) => _harness.ListTaskCredentialsAsync(taskId, continuationToken, pageSize, cancellationToken);
    public Task<GrantResult<Page<CredentialInfo>>> ListSessionCredentialsAsync(string sessionId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) => _harness.ListSessionCredentialsAsync(sessionId, continuationToken, pageSize, cancellationToken);
    public Task<GrantResult<TokenIntrospection>> IntrospectAsync(string token, CancellationToken cancellationToken = default) => _harness.IntrospectAsync(token, cancellationToken);
    public Task<GrantResult<TokenIntrospection>> IntrospectAsync(string token, TokenPresentation presentation, CancellationToken cancellationToken = default) => _harness.IntrospectAsync(token, presentation, cancellationToken);
    public Task<GrantResult<TaskInfo>> ReauthorizeTaskAsync(string taskId, CancellationToken cancellationToken = default) => _harness.ReauthorizeTaskAsync(taskId, cancellationToken);
    public Task<GrantResult<TaskInfo>> RevokeTaskAsync(string taskId, string reason, CancellationToken cancellationToken = default) => _harness.RevokeTaskAsync(taskId, reason, cancellationToken);
    public Task<GrantResult<TaskInfo>> CompleteTaskAsync(string taskId, string? summary = null, CancellationToken cancellationToken = default) => _harness.CompleteTaskAsync(taskId, summary, cancellationToken);

    /// <summary>Opened by the agent itself.</summary>
    public Task<GrantResult<SessionInfo>> OpenSessionAsync(OpenSessionRequest request, CancellationToken cancellationToken = default) =>
        request?.Agent is { Length: > 0 } agent ? AsAgent(agent).OpenSessionAsync(request, cancellationToken) : _harness.OpenSessionAsync(request!, cancellationToken);

    public Task<GrantResult<SessionInfo>> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) => _harness.GetSessionAsync(sessionId, cancellationToken);
    public Task<GrantResult<SessionInfo>> EndSessionAsync(string sessionId, string reason, CancellationToken cancellationToken = default) => _harness.EndSessionAsync(sessionId, reason, cancellationToken);

    /// <summary>Issued to the session's agent.</summary>
    public async Task<GrantResult<IssuedCredential>> IssueCredentialAsync(string sessionId, IssueCredentialRequest request, CancellationToken cancellationToken = default)
    {
        var session = await _harness.GetSessionAsync(sessionId, cancellationToken);
        var caller = session.IsSuccess ? AsAgent(session.Value.Agent) : _harness;
        return await caller.IssueCredentialAsync(sessionId, request, cancellationToken);
    }

    public Task<GrantResult<CredentialInfo>> GetCredentialAsync(string credentialId, CancellationToken cancellationToken = default) => _harness.GetCredentialAsync(credentialId, cancellationToken);
    public Task<GrantResult<CredentialInfo>> RevokeCredentialAsync(string credentialId, string reason, CancellationToken cancellationToken = default) => _harness.RevokeCredentialAsync(credentialId, reason, cancellationToken);
    public Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, CancellationToken cancellationToken = default) => _harness.AuthorizeAsync(token, action, resource, cancellationToken);
    public Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, string approvalId, CancellationToken cancellationToken = default) => _harness.AuthorizeAsync(token, action, resource, approvalId, cancellationToken);
    public Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, TokenPresentation presentation, string? approvalId = null, CancellationToken cancellationToken = default) => _harness.AuthorizeAsync(token, action, resource, presentation, approvalId, cancellationToken);

    /// <summary>Exchanged by the subject token's agent (the planner).</summary>
    public Task<GrantResult<IssuedCredential>> ExchangeCredentialAsync(CredentialExchangeRequest request, CancellationToken cancellationToken = default) =>
        GrantSilo.Identity.Tokens.CredentialJwt.ReadVerified(request?.SubjectToken ?? "") is { } subject
            ? AsAgent(subject.Subject).ExchangeCredentialAsync(request!, cancellationToken)
            : _harness.ExchangeCredentialAsync(request!, cancellationToken);

    /// <summary>Published by the named author (a person with the policy-author role).</summary>
    public Task<GrantResult<PolicyVersionInfo>> PublishPolicyAsync(string text, string author, CancellationToken cancellationToken = default) => ByName(author, "policy-author").PublishPolicyAsync(text, author, cancellationToken);
    public Task<GrantResult<PolicyDraftCheck>> ValidatePolicyAsync(string text, CancellationToken cancellationToken = default) => _harness.ValidatePolicyAsync(text, cancellationToken);
    public Task<GrantResult<SchemaVersionInfo>> PublishSchemaAsync(string text, string author, CancellationToken cancellationToken = default) => ByName(author, "policy-author").PublishSchemaAsync(text, author, cancellationToken);
    public Task<GrantResult<SchemaVersion>> GetActiveSchemaAsync(CancellationToken cancellationToken = default) => _harness.GetActiveSchemaAsync(cancellationToken);
    public Task<GrantResult<PolicyVersionInfo>> LinkPolicyTemplateAsync(PolicyLink link, string author, CancellationToken cancellationToken = default) => ByName(author, "policy-author").LinkPolicyTemplateAsync(link, author, cancellationToken);
    public Task<GrantResult<PolicyVersionInfo>> UnlinkPolicyTemplateAsync(string linkId, string author, CancellationToken cancellationToken = default) => ByName(author, "policy-author").UnlinkPolicyTemplateAsync(linkId, author, cancellationToken);
    public Task<GrantResult<PolicySetVersion>> GetActivePolicyAsync(CancellationToken cancellationToken = default) => _harness.GetActivePolicyAsync(cancellationToken);
    public Task<GrantResult<PolicySetVersion>> GetPolicyVersionAsync(long version, CancellationToken cancellationToken = default) => _harness.GetPolicyVersionAsync(version, cancellationToken);
    public Task<GrantResult<IReadOnlyList<PolicyVersionInfo>>> ListPolicyVersionsAsync(CancellationToken cancellationToken = default) => _harness.ListPolicyVersionsAsync(cancellationToken);
    public Task<GrantResult<ApprovalInfo>> GetApprovalAsync(string approvalId, CancellationToken cancellationToken = default) => _harness.GetApprovalAsync(approvalId, cancellationToken);

    /// <summary>Decided by the named approver: a person with the approver role in the approvers group (an agent's name calls as that agent).</summary>
    public Task<GrantResult<ApprovalInfo>> ApproveAsync(string approvalId, string approver, string? comment = null, CancellationToken cancellationToken = default) => ByName(approver, "approver", "approvers").ApproveAsync(approvalId, approver, comment, cancellationToken);
    public Task<GrantResult<ApprovalInfo>> DenyApprovalAsync(string approvalId, string approver, string? reason = null, CancellationToken cancellationToken = default) => ByName(approver, "approver", "approvers").DenyApprovalAsync(approvalId, approver, reason, cancellationToken);
    public Task<GrantResult<IReadOnlyList<ApprovalInfo>>> ListPendingApprovalsAsync(CancellationToken cancellationToken = default) => _harness.ListPendingApprovalsAsync(cancellationToken);
    public Task<GrantResult<ApprovalSubscription>> SubscribeApprovalsAsync(IApprovalObserver observer, CancellationToken cancellationToken = default) => _harness.SubscribeApprovalsAsync(observer, cancellationToken);
    /// <summary>Published by the named author (an operator).</summary>
    public Task<GrantResult<ResourceCatalogVersionInfo>> PublishResourceCatalogAsync(string text, string author, CancellationToken cancellationToken = default) => ByName(author, "operator").PublishResourceCatalogAsync(text, author, cancellationToken);
    public Task<GrantResult<ResourceCatalogVersion>> GetActiveResourceCatalogAsync(CancellationToken cancellationToken = default) => _harness.GetActiveResourceCatalogAsync(cancellationToken);
    public Task<GrantResult<IReadOnlyList<ResourceCatalogVersionInfo>>> ListResourceCatalogVersionsAsync(CancellationToken cancellationToken = default) => _harness.ListResourceCatalogVersionsAsync(cancellationToken);
    /// <summary>Published by the named author (an operator).</summary>
    public Task<GrantResult<AccessRulesVersionInfo>> PublishAccessRulesAsync(string text, string author, CancellationToken cancellationToken = default) => ByName(author, "operator").PublishAccessRulesAsync(text, author, cancellationToken);
    public Task<GrantResult<AccessRulesVersion>> GetActiveAccessRulesAsync(CancellationToken cancellationToken = default) => _harness.GetActiveAccessRulesAsync(cancellationToken);
    public Task<GrantResult<IReadOnlyList<AccessRulesVersionInfo>>> ListAccessRulesVersionsAsync(CancellationToken cancellationToken = default) => _harness.ListAccessRulesVersionsAsync(cancellationToken);
    public Task<GrantResult<IReadOnlyList<PendingCascade>>> ListPendingCascadesAsync(CancellationToken cancellationToken = default) => _harness.ListPendingCascadesAsync(cancellationToken);

    private async Task<GrantClient> ParentAgentAsync(string parentTaskId, CancellationToken cancellationToken)
    {
        var parent = await _harness.GetTaskAsync(parentTaskId, cancellationToken);
        return parent.IsSuccess ? AsAgent(parent.Value.Agent) : _harness;
    }

    public Task<GrantResult<Page<AuditEntry>>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default) => _harness.QueryAuditAsync(query, cancellationToken);
    public Task<GrantResult<AuditLineage>> GetAuditLineageAsync(string decisionId, CancellationToken cancellationToken = default) => _harness.GetAuditLineageAsync(decisionId, cancellationToken);
    public Task<GrantResult<AuditVerification>> VerifyAuditAsync(CancellationToken cancellationToken = default) => _harness.VerifyAuditAsync(cancellationToken);
    public Task<GrantResult<IReadOnlyList<AuditSigningKey>>> GetAuditKeysAsync(CancellationToken cancellationToken = default) => _harness.GetAuditKeysAsync(cancellationToken);
}
