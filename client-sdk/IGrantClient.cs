using GrantSilo.GrainInterfaces;

namespace GrantSilo.Client;

/// <summary>
/// Every operation of the GrantSilo client SDK, implemented by <see cref="GrantClient"/>. Depend on this
/// interface to substitute the client in tests (a gateway's, for example); <c>AddGrantClient</c> registers
/// it as the same instance as <see cref="GrantClient"/>.
/// </summary>
/// <remarks>
/// <para>
/// Refusals come back as typed <see cref="GrantResult{T}"/> values. A failure of the cluster or the
/// transport comes back as <see cref="GrantErrorCode.Unavailable"/> (the operation may or may not have
/// taken effect; retrying an end — revoke, complete, suspend, end session — is always safe), and
/// <see cref="GrantError.Exception"/> holds the exception behind it. Ids are checked before they name a
/// grain: a malformed id, or a token passed where an id belongs (a grain's key appears in Orleans'
/// messages and logs), is <see cref="GrantErrorCode.InvalidIdentifier"/> without a call.
/// </para>
/// <para>
/// <b>Cancellation.</b> Every method takes the caller's <see cref="CancellationToken"/> last and passes it
/// to the grain call. When <em>that</em> token is cancelled, the method throws
/// <see cref="OperationCanceledException"/>, as .NET methods do; the operation may or may not have taken
/// effect, as with <see cref="GrantErrorCode.Unavailable"/>. A cancellation the caller did not ask for
/// (a silo that died mid-call, a client shutting down) never escapes as an exception: it is
/// <see cref="GrantErrorCode.Unavailable"/>, or a deny from <c>AuthorizeAsync</c>.
/// </para>
/// </remarks>
public interface IGrantClient
{
    // ---- Agents ----

    /// <summary>A client over the same connection that calls as <paramref name="caller"/> (its token attached to every call).</summary>
    IGrantClient As(ICallerTokenSource caller);

    /// <summary>
    /// Registers an agent under its workload id (for example <c>spiffe://acme.dev/agent/planner</c>), of at most
    /// <see cref="WorkloadId.MaxRegisteredLength"/> characters (<see cref="GrantErrorCode.InvalidIdentifier"/> otherwise).
    /// </summary>
    Task<GrantResult<AgentInfo>> RegisterAgentAsync(string workloadId, AgentRegistration registration, CancellationToken cancellationToken = default);

    /// <summary>An agent as GrantSilo knows it.</summary>
    Task<GrantResult<AgentInfo>> GetAgentAsync(string workloadId, CancellationToken cancellationToken = default);

    /// <summary>Suspends an agent: its live sessions, tasks and credentials end.</summary>
    Task<GrantResult<AgentInfo>> SuspendAgentAsync(string workloadId, string reason, CancellationToken cancellationToken = default);

    /// <summary>Lets a suspended agent act again. What ended on suspension stays ended.</summary>
    Task<GrantResult<AgentInfo>> ResumeAgentAsync(string workloadId, string reason, CancellationToken cancellationToken = default);

    /// <summary>Retires an agent for good: its live sessions, tasks and credentials end.</summary>
    Task<GrantResult<AgentInfo>> RetireAgentAsync(string workloadId, string reason, CancellationToken cancellationToken = default);

    // ---- Tasks ----

    /// <summary>Creates a root task for a person (orchestrators).</summary>
    Task<GrantResult<TaskInfo>> CreateTaskAsync(CreateTaskRequest request, CancellationToken cancellationToken = default);

    /// <summary>Delegates a child of <paramref name="parentTaskId"/> to another agent (the parent's agent, proving itself with a live credential of the parent).</summary>
    Task<GrantResult<TaskInfo>> DelegateAsync(string parentTaskId, DelegationRequest request, CancellationToken cancellationToken = default);

    /// <summary>A task as durably recorded.</summary>
    Task<GrantResult<TaskInfo>> GetTaskAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>The task and its descendants: who delegated what to whom, with states.</summary>
    Task<GrantResult<TaskTreeNode>> GetTaskTreeAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The live tasks of an agent that the caller may read one by one, one page at a time (pass back the page's
    /// continuation token for the next; a page may be short, or empty, before the token is null).
    /// </summary>
    Task<GrantResult<Page<TaskInfo>>> ListAgentTasksAsync(string workloadId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);

    /// <summary>The live sessions of an agent that the caller may read one by one, one page at a time (a page may be short, or empty, before the token is null).</summary>
    Task<GrantResult<Page<SessionInfo>>> ListAgentSessionsAsync(string workloadId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);

    /// <summary>The live sessions holding credentials for a task, one page at a time.</summary>
    Task<GrantResult<Page<SessionInfo>>> ListTaskSessionsAsync(string taskId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);

    /// <summary>The live credentials of a task, one page at a time.</summary>
    Task<GrantResult<Page<CredentialInfo>>> ListTaskCredentialsAsync(string taskId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);

    /// <summary>The live credentials issued in a session, one page at a time.</summary>
    Task<GrantResult<Page<CredentialInfo>>> ListSessionCredentialsAsync(string sessionId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether <paramref name="token"/> is active now and, if not, why; with its task, agent, session, scope and
    /// expiry (gateways, resource servers). A malformed token is answered without a call; a forged one gets the
    /// answer an unknown one gets. The secret is never returned.
    /// </summary>
    Task<GrantResult<TokenIntrospection>> IntrospectAsync(string token, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="IntrospectAsync(string, CancellationToken)"/>, for a token presented as <paramref name="presentation"/>
    /// says: the DPoP proof that came with it and the request it came on, and the resource the asker serves. A token bound
    /// to a key is inactive without a valid proof by that key (<see cref="DecisionReason.DpopProofInvalid"/>), a token
    /// issued for a resource inactive at another (<see cref="DecisionReason.AudienceMismatch"/>). The overload without a
    /// presentation presents nothing.
    /// </summary>
    Task<GrantResult<TokenIntrospection>> IntrospectAsync(string token, TokenPresentation presentation, CancellationToken cancellationToken = default);

    /// <summary>Re-authorizes a task waiting at a checkpoint (a fresh check).</summary>
    Task<GrantResult<TaskInfo>> ReauthorizeTaskAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>Revokes a task and everything below it.</summary>
    Task<GrantResult<TaskInfo>> RevokeTaskAsync(string taskId, string reason, CancellationToken cancellationToken = default);

    /// <summary>Completes a task; everything below it ends.</summary>
    Task<GrantResult<TaskInfo>> CompleteTaskAsync(string taskId, string? summary = null, CancellationToken cancellationToken = default);

    // ---- Sessions and credentials ----

    /// <summary>Opens a session for an agent.</summary>
    Task<GrantResult<SessionInfo>> OpenSessionAsync(OpenSessionRequest request, CancellationToken cancellationToken = default);

    /// <summary>A session as durably recorded.</summary>
    Task<GrantResult<SessionInfo>> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Ends a session and every credential issued in it.</summary>
    Task<GrantResult<SessionInfo>> EndSessionAsync(string sessionId, string reason, CancellationToken cancellationToken = default);

    /// <summary>Issues a short-lived credential in a session for a task the session's agent is assigned to.</summary>
    Task<GrantResult<IssuedCredential>> IssueCredentialAsync(string sessionId, IssueCredentialRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Token exchange (RFC 8693), exactly as <c>POST /oauth2/token</c> does it (the endpoint calls this): the caller, the
    /// planner, proves itself with its credential (<see cref="CredentialExchangeRequest.SubjectToken"/>, with its DPoP
    /// proof if it is bound); the child task is created by <see cref="DelegateAsync"/> with every rule of delegation and
    /// its typed errors (a wider scope, a deeper chain, a longer life refused, never trimmed), among them the subject
    /// credential's <c>may_act</c>, which must name the actor (<see cref="GrantErrorCode.InvalidProof"/> otherwise, from the
    /// server, as for any delegation proved with that credential); then the worker, with its
    /// own identity token, opens a session and is issued the credential, whose <c>act</c> chain is the task chain.
    /// </summary>
    Task<GrantResult<IssuedCredential>> ExchangeCredentialAsync(CredentialExchangeRequest request, CancellationToken cancellationToken = default);

    /// <summary>A credential by its id (never by its token: a token passed as an id is refused with <see cref="GrantErrorCode.InvalidIdentifier"/>).</summary>
    Task<GrantResult<CredentialInfo>> GetCredentialAsync(string credentialId, CancellationToken cancellationToken = default);

    /// <summary>Revokes one credential (nothing else), by its id.</summary>
    Task<GrantResult<CredentialInfo>> RevokeCredentialAsync(string credentialId, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Decides whether the holder of <paramref name="token"/> may do <paramref name="action"/> on
    /// <paramref name="resource"/> now (gateways). Fails closed: malformed tokens are denied without a
    /// call, and any failure is a deny. The one exception it throws is <see cref="OperationCanceledException"/>
    /// when the caller cancels <paramref name="cancellationToken"/>, which allows nothing either.
    /// </summary>
    Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, CancellationToken cancellationToken = default);

    /// <summary>
    /// Retries a request that came back <see cref="DecisionKind.StepUpRequired"/>, presenting the
    /// approval it named once a person has approved it. Allowed only for exactly the same credential,
    /// action and resource, once; a denied, expired or used approval is a deny. Fails closed like
    /// <see cref="AuthorizeAsync(string, string, ResourceRef, CancellationToken)"/>, and likewise throws
    /// only <see cref="OperationCanceledException"/>, when the caller cancels.
    /// </summary>
    Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, string approvalId, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="AuthorizeAsync(string, string, ResourceRef, CancellationToken)"/> (or, with <paramref name="approvalId"/>,
    /// its overload with an approval), for a token presented as <paramref name="presentation"/> says: a gateway passes the
    /// DPoP proof it received with the token and the method and URL it was received on, and the resource it serves.
    /// GrantSilo checks the proof (<c>htm</c>, <c>htu</c>, <c>ath</c>, its <c>iat</c> window, <c>jti</c> replay, the key
    /// named by the token's <c>cnf.jkt</c>) exactly as at its HTTP door. A token bound to a key is denied without a valid
    /// proof (<see cref="DecisionReason.DpopProofInvalid"/>); a token issued for a resource is denied unless the
    /// presentation names that resource (<see cref="DecisionReason.AudienceMismatch"/>). The overloads without a
    /// presentation present nothing, so they deny both kinds.
    /// </summary>
    Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, TokenPresentation presentation, string? approvalId = null, CancellationToken cancellationToken = default);

    // ---- Policy ----

    /// <summary>
    /// Publishes a new version of the Cedar policy set. Invalid text is refused with
    /// <see cref="GrantErrorCode.PolicyInvalid"/> (its <see cref="GrantError.Position"/> and
    /// <see cref="GrantError.DetailCode"/> say where and what) and the active version stays. On success
    /// every silo decides with the new version by the time this returns.
    /// </summary>
    Task<GrantResult<PolicyVersionInfo>> PublishPolicyAsync(string text, string author, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks a draft policy text exactly as <see cref="PublishPolicyAsync"/> would (the same refusal, with its position),
    /// without storing or activating anything.
    /// </summary>
    Task<GrantResult<PolicyDraftCheck>> ValidatePolicyAsync(string text, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes a new version of the Cedar schema policies are validated against (for example the
    /// shipped schema extended with an operator's resource attributes and actions). Refused with
    /// <see cref="GrantErrorCode.SchemaInvalid"/>, the active schema unchanged, when it does not parse,
    /// drops one of GrantSilo's own declarations, or would make the active policy set invalid.
    /// </summary>
    Task<GrantResult<SchemaVersionInfo>> PublishSchemaAsync(string text, string author, CancellationToken cancellationToken = default);

    /// <summary>The schema policies are validated against now, with its text (version 0 is the shipped schema).</summary>
    Task<GrantResult<SchemaVersion>> GetActiveSchemaAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds a template-linked policy (a policy template's <c>?principal</c>/<c>?resource</c> slots filled, for
    /// example the shipped <c>person-requires-approval</c> for one person) as a new policy version.
    /// </summary>
    Task<GrantResult<PolicyVersionInfo>> LinkPolicyTemplateAsync(PolicyLink link, string author, CancellationToken cancellationToken = default);

    /// <summary>Removes a template-linked policy, as a new policy version.</summary>
    Task<GrantResult<PolicyVersionInfo>> UnlinkPolicyTemplateAsync(string linkId, string author, CancellationToken cancellationToken = default);

    /// <summary>The policy version decisions use now, with its text.</summary>
    Task<GrantResult<PolicySetVersion>> GetActivePolicyAsync(CancellationToken cancellationToken = default);

    /// <summary>One policy version with its text (version 0 is the shipped default).</summary>
    Task<GrantResult<PolicySetVersion>> GetPolicyVersionAsync(long version, CancellationToken cancellationToken = default);

    /// <summary>Every policy version, oldest first (version 0 is the shipped default).</summary>
    Task<GrantResult<IReadOnlyList<PolicyVersionInfo>>> ListPolicyVersionsAsync(CancellationToken cancellationToken = default);

    // ---- Resource catalog ----

    /// <summary>
    /// Publishes a new version of the resource catalog, the authority for resource labels (docs/resource-catalog.md).
    /// A bad catalog is refused with <see cref="GrantErrorCode.InvalidArgument"/> (its <see cref="GrantError.DetailCode"/>
    /// a <see cref="ResourceCatalogProblem"/>, its <see cref="GrantError.Target"/> the entry) and the active version
    /// stays. On success every silo labels resources with the new version by the time this returns. An operator's act.
    /// </summary>
    Task<GrantResult<ResourceCatalogVersionInfo>> PublishResourceCatalogAsync(string text, string author, CancellationToken cancellationToken = default);

    /// <summary>The resource catalog decisions use now, with its text (version 0 is the shipped, empty catalog).</summary>
    Task<GrantResult<ResourceCatalogVersion>> GetActiveResourceCatalogAsync(CancellationToken cancellationToken = default);

    /// <summary>Every resource catalog version, oldest first (version 0 and the latest 500 published).</summary>
    Task<GrantResult<IReadOnlyList<ResourceCatalogVersionInfo>>> ListResourceCatalogVersionsAsync(CancellationToken cancellationToken = default);

    // ---- Access rules ----

    /// <summary>
    /// Publishes a new version of the access rules: who may call GrantSilo, and for what (a Cedar policy set over the
    /// access schema; docs/identity.md). Invalid rules, and rules under which the publishing caller could no longer
    /// publish them, are refused with <see cref="GrantErrorCode.PolicyInvalid"/> naming the problem, and the active
    /// version stays. On success every silo decides callers with the new version by the time this returns. An operator's act.
    /// </summary>
    Task<GrantResult<AccessRulesVersionInfo>> PublishAccessRulesAsync(string text, string author, CancellationToken cancellationToken = default);

    /// <summary>The access rules in force now, with their text (version 0 is the shipped rules).</summary>
    Task<GrantResult<AccessRulesVersion>> GetActiveAccessRulesAsync(CancellationToken cancellationToken = default);

    /// <summary>Every access rules version, oldest first (version 0 and the latest 500 published).</summary>
    Task<GrantResult<IReadOnlyList<AccessRulesVersionInfo>>> ListAccessRulesVersionsAsync(CancellationToken cancellationToken = default);

    // ---- Step-up approvals ----

    /// <summary>An approval as durably recorded.</summary>
    Task<GrantResult<ApprovalInfo>> GetApprovalAsync(string approvalId, CancellationToken cancellationToken = default);

    /// <summary>A person (<paramref name="approver"/>) approves a step-up request; the agent may then retry once.</summary>
    Task<GrantResult<ApprovalInfo>> ApproveAsync(string approvalId, string approver, string? comment = null, CancellationToken cancellationToken = default);

    /// <summary>A person denies a step-up request; a retry with it is denied.</summary>
    Task<GrantResult<ApprovalInfo>> DenyApprovalAsync(string approvalId, string approver, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>Approvals still waiting for a person, as far as the approval hub has heard (best effort).</summary>
    Task<GrantResult<IReadOnlyList<ApprovalInfo>>> ListPendingApprovalsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes <paramref name="observer"/> to step-up requests and their outcomes. The subscription
    /// is renewed every <see cref="ApprovalSubscriptions.RenewEvery"/> until it is disposed.
    /// </summary>
    Task<GrantResult<ApprovalSubscription>> SubscribeApprovalsAsync(IApprovalObserver observer, CancellationToken cancellationToken = default);

    // ---- Operations ----

    /// <summary>Cascades (ending descendants, sessions, credentials) that failed a step and are being retried.</summary>
    Task<GrantResult<IReadOnlyList<PendingCascade>>> ListPendingCascadesAsync(CancellationToken cancellationToken = default);

    // ---- Audit ----

    /// <summary>
    /// One page of audit records matching <paramref name="query"/> (task tree, agent, credential or a token you hold,
    /// resource, person, caller, decision id, time window). Needs the operator or auditor role.
    /// </summary>
    Task<GrantResult<Page<AuditEntry>>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>A decision (by the <see cref="Decision.DecisionId"/> returned with it) and the lifecycle records it rested on.</summary>
    Task<GrantResult<AuditLineage>> GetAuditLineageAsync(string decisionId, CancellationToken cancellationToken = default);

    /// <summary>Verifies the audit log's hash chains and signed checkpoints: the first broken link, and the last checkpoint.</summary>
    Task<GrantResult<AuditVerification>> VerifyAuditAsync(CancellationToken cancellationToken = default);

    /// <summary>The public keys that sign audit checkpoints: with them anyone can verify an export.</summary>
    Task<GrantResult<IReadOnlyList<AuditSigningKey>>> GetAuditKeysAsync(CancellationToken cancellationToken = default);
}
