using System.Runtime.CompilerServices;
using GrantSilo.GrainInterfaces;
using GrantSilo.Identity.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrantSilo.Client;

/// <summary>
/// The one client orchestrators, agents, gateways and operators use to talk to GrantSilo over an
/// Orleans cluster client. Refusals come back as typed <see cref="GrantResult{T}"/> values; a
/// cluster failure comes back as <see cref="GrantErrorCode.Unavailable"/> (logged at Warning, the
/// exception kept in <see cref="GrantError.Exception"/>); authorization fails closed. Cancellation and
/// substitution in tests: see <see cref="IGrantClient"/>.
/// </summary>
public sealed partial class GrantClient : IGrantClient
{
    // Gateways authorize the same few credentials over and over; resolving a grain reference costs as
    // much as a small fraction of the call itself, so references of recently used credentials are kept.
    private const int MaxCachedCredentials = 4096;

    private readonly IClusterClient _cluster;
    // String-keyed grain references, each interface's types resolved once for this connection (shared by As(caller) clients).
    private readonly GrainReferencesByKey _grains;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ICredentialGrain> _credentials;
    private readonly ICallerTokenSource? _caller;
    private volatile EncodedToken? _encoded;

    /// <summary>Creates a client over a connected Orleans cluster client.</summary>
    /// <param name="cluster">The connected Orleans cluster client.</param>
    /// <param name="time">The clock that stamps decisions made without a call (malformed tokens); the system clock by default.</param>
    /// <param name="logger">Where mapped transport failures are logged (never with argument values); nothing by default.</param>
    /// <param name="caller">
    /// Who this client calls as: its token is attached to every call. Without one every call is refused
    /// with <see cref="GrantErrorCode.Unauthenticated"/>; <see cref="As(ICallerTokenSource)"/> gives a client
    /// that calls as someone else.
    /// </param>
    public GrantClient(IClusterClient cluster, TimeProvider? time = null, ILogger<GrantClient>? logger = null, ICallerTokenSource? caller = null)
        : this(cluster, time ?? TimeProvider.System, logger ?? (ILogger)NullLogger<GrantClient>.Instance, caller, new(StringComparer.Ordinal), new(cluster ?? throw new ArgumentNullException(nameof(cluster))))
    {
    }

    private GrantClient(IClusterClient cluster, TimeProvider time, ILogger logger, ICallerTokenSource? caller, System.Collections.Concurrent.ConcurrentDictionary<string, ICredentialGrain> credentials, GrainReferencesByKey grains)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        _cluster = cluster;
        _grains = grains;
        _time = time;
        _logger = logger;
        _caller = caller;
        _credentials = credentials;
    }

    /// <summary>
    /// A client over the same connection that calls as <paramref name="caller"/>: an agent with its SVID,
    /// a person or a service with its token. Cheap; keep one per caller.
    /// </summary>
    public GrantClient As(ICallerTokenSource caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return new GrantClient(_cluster, _time, _logger, caller, _credentials, _grains);
    }

    /// <inheritdoc />
    IGrantClient IGrantClient.As(ICallerTokenSource caller) => As(caller);

    // ---- Agents ----

    /// <inheritdoc />
    public Task<GrantResult<AgentInfo>> RegisterAgentAsync(string workloadId, AgentRegistration registration, CancellationToken cancellationToken = default) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).RegisterAsync(registration, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<AgentInfo>> GetAgentAsync(string workloadId, CancellationToken cancellationToken = default) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).GetAsync(cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<AgentInfo>> SuspendAgentAsync(string workloadId, string reason, CancellationToken cancellationToken = default) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).SuspendAsync(reason, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<AgentInfo>> ResumeAgentAsync(string workloadId, string reason, CancellationToken cancellationToken = default) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).ResumeAsync(reason, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<AgentInfo>> RetireAgentAsync(string workloadId, string reason, CancellationToken cancellationToken = default) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).RetireAsync(reason, cancellationToken), cancellationToken);

    // ---- Tasks ----

    /// <inheritdoc />
    public Task<GrantResult<TaskInfo>> CreateTaskAsync(CreateTaskRequest request, CancellationToken cancellationToken = default) =>
        GuardAsync(() => _grains.Get<ITaskGrain>(NewId("t")).CreateAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<TaskInfo>> DelegateAsync(string parentTaskId, DelegationRequest request, CancellationToken cancellationToken = default) =>
        CallAsync(parentTaskId, "Task id", id => Task(id).DelegateAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<TaskInfo>> GetTaskAsync(string taskId, CancellationToken cancellationToken = default) =>
        CallAsync(taskId, "Task id", id => Task(id).GetAsync(cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<TaskTreeNode>> GetTaskTreeAsync(string taskId, CancellationToken cancellationToken = default) =>
        CallAsync(taskId, "Task id", id => Task(id).GetTreeAsync(cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<TaskInfo>> ReauthorizeTaskAsync(string taskId, CancellationToken cancellationToken = default) =>
        CallAsync(taskId, "Task id", id => Task(id).ReauthorizeAsync(cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<TaskInfo>> RevokeTaskAsync(string taskId, string reason, CancellationToken cancellationToken = default) =>
        CallAsync(taskId, "Task id", id => Task(id).RevokeAsync(reason, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<TaskInfo>> CompleteTaskAsync(string taskId, string? summary = null, CancellationToken cancellationToken = default) =>
        CallAsync(taskId, "Task id", id => Task(id).CompleteAsync(summary, cancellationToken), cancellationToken);

    // ---- Sessions and credentials ----

    /// <inheritdoc />
    public Task<GrantResult<SessionInfo>> OpenSessionAsync(OpenSessionRequest request, CancellationToken cancellationToken = default) =>
        request is null
            ? System.Threading.Tasks.Task.FromResult(GrantResult<SessionInfo>.Fail(GrantErrorCode.InvalidArgument, "An open-session request is required."))
            : CallAsync(request.Agent, "Agent workload id", id => Agent(id).OpenSessionAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<SessionInfo>> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        CallAsync(sessionId, "Session id", id => Session(id).GetAsync(cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<SessionInfo>> EndSessionAsync(string sessionId, string reason, CancellationToken cancellationToken = default) =>
        CallAsync(sessionId, "Session id", id => Session(id).EndAsync(reason, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<IssuedCredential>> IssueCredentialAsync(string sessionId, IssueCredentialRequest request, CancellationToken cancellationToken = default) =>
        CallAsync(sessionId, "Session id", id => Session(id).IssueCredentialAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<CredentialInfo>> GetCredentialAsync(string credentialId, CancellationToken cancellationToken = default) =>
        CallAsync(credentialId, "Credential id", id => Credential(id).GetAsync(cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<CredentialInfo>> RevokeCredentialAsync(string credentialId, string reason, CancellationToken cancellationToken = default) =>
        CallAsync(credentialId, "Credential id", id => Credential(id).RevokeAsync(reason, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, CancellationToken cancellationToken = default) =>
        CredentialToken.TryParse(token, out var credentialId, out var secret)
            ? AuthorizeParsedAsync(credentialId, secret, action, resource, cancellationToken)
            : System.Threading.Tasks.Task.FromResult(Malformed());

    /// <summary>
    /// As the <c>AuthorizeAsync</c> overloads, for a token a door in the silo's process has verified already: its credential
    /// id and secret as <see cref="CredentialToken.TryParse"/> reads them (remembered with the verification), so the token is
    /// not parsed and hashed again per request. With a presentation it is <c>AuthorizePresented</c>; else with an approval,
    /// <c>AuthorizeWithApproval</c>; else the plain call.
    /// </summary>
    internal Task<Decision> AuthorizeVerifiedAsync(string credentialId, byte[] secret, string action, ResourceRef resource, TokenPresentation? presentation, string? approvalId, CancellationToken cancellationToken) =>
        presentation is not null
            ? DecideParsedAsync(credentialId, secret, (credential, s, proof) => credential.AuthorizePresentedAsync(s, action, resource, presentation, approvalId, proof, cancellationToken), nameof(AuthorizeAsync), cancellationToken)
            : approvalId is not null
            ? DecideParsedAsync(credentialId, secret, (credential, s, proof) => credential.AuthorizeWithApprovalAsync(s, action, resource, approvalId, proof, cancellationToken), nameof(AuthorizeAsync), cancellationToken)
            : AuthorizeParsedAsync(credentialId, secret, action, resource, cancellationToken);

    private Decision Malformed() => Decision.Deny(DecisionReason.MalformedToken, "The token is not a well-formed GrantSilo token.", _time.GetUtcNow());

    // The gateways' hot path: written out, with no closure per call.
    private async Task<Decision> AuthorizeParsedAsync(string credentialId, byte[] secret, string action, ResourceRef resource, CancellationToken cancellationToken)
    {
        try
        {
            var caller = _caller is null ? default : _caller.GetTokenAsync(cancellationToken);
            var callerToken = caller.IsCompletedSuccessfully ? caller.Result : _caller is null ? null : await caller.ConfigureAwait(false);
            // The proof travels as an argument: a call with a request context costs measurably more than one without.
            var grain = Credential(credentialId);
            var decision = await grain.AuthorizeAsync(secret, action, resource, Proof(callerToken), cancellationToken).ConfigureAwait(false);
            if (IsResendToken(decision))
            {
                decision = await grain.AuthorizeAsync(secret, action, resource, Proof(callerToken, full: true), cancellationToken).ConfigureAwait(false);
            }
            return decision;
        }
        catch (Exception exception) when (!IsCallersCancellation(exception, cancellationToken))
        {
            return DenyUnreachable(nameof(AuthorizeAsync), exception, credentialId);
        }
    }

    /// <inheritdoc />
    public Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, string approvalId, CancellationToken cancellationToken = default) =>
        DecideAsync(token, (credential, secret, proof) => credential.AuthorizeWithApprovalAsync(secret, action, resource, approvalId, proof, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<Decision> AuthorizeAsync(string token, string action, ResourceRef resource, TokenPresentation presentation, string? approvalId = null, CancellationToken cancellationToken = default)
    {
        var presented = presentation ?? TokenPresentation.None;
        return DecideAsync(token, (credential, secret, proof) => credential.AuthorizePresentedAsync(secret, action, resource, presented, approvalId, proof, cancellationToken), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<GrantResult<IssuedCredential>> ExchangeCredentialAsync(CredentialExchangeRequest request, CancellationToken cancellationToken = default)
    {
        if (request is null || string.IsNullOrEmpty(request.SubjectToken) || string.IsNullOrEmpty(request.ActorToken))
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.InvalidArgument, "A token exchange needs the subject token (the planner's credential) and the actor token (the worker's identity).");
        }
        var actor = WorkloadId.Validate(request.Actor);
        if (!actor.IsSuccess)
        {
            return actor.Error;
        }
        // The claims are read before anything checks the token: a token whose claims were altered does not hash to the
        // one GrantSilo issued, so the delegation below refuses it (InvalidProof) whatever they say.
        if (!CredentialToken.TryParse(request.SubjectToken, out _, out _) || CredentialJwt.ReadVerified(request.SubjectToken) is not { } subject)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.InvalidProof, "The subject token is not a GrantSilo credential.");
        }
        // may_act is not checked here: the task grain checks it against the subject credential's record when the delegation
        // below is proved with it, for this client and every other door alike.
        if (request.DpopKeyThumbprint is { } jkt && !JwkThumbprint.IsWellFormed(jkt))
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.InvalidArgument, "The worker's DPoP key thumbprint is an RFC 7638 thumbprint (43 base64url characters).", target: "dpop_jkt");
        }
        var now = _time.GetUtcNow();
        var lifetime = subject.ExpiresAt - now;
        if (request.Lifetime is { } requested)
        {
            if (requested <= TimeSpan.Zero)
            {
                return GrantResult<IssuedCredential>.Fail(GrantErrorCode.LifetimeInvalid, "The requested lifetime must be positive.");
            }
            // A credential never outlives the one it was exchanged from: a longer life is refused, not trimmed.
            if (now + requested > subject.ExpiresAt)
            {
                return GrantResult<IssuedCredential>.Fail(GrantErrorCode.LifetimeExceedsParent, $"The requested lifetime ({requested.TotalSeconds:0} s) ends after the subject token ({subject.ExpiresAt:O}).");
            }
            lifetime = requested;
        }
        if (lifetime <= TimeSpan.Zero)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.InvalidProof, "The subject token has expired.");
        }
        var scope = request.Scope;
        if (scope is null)
        {
            if (!Enum.TryParse<DataClassification>(subject.MaxClassification, ignoreCase: true, out var classification))
            {
                return GrantResult<IssuedCredential>.Fail(GrantErrorCode.InvalidProof, "The subject token's classification is malformed.");
            }
            var own = GrantSilo.Scope.Create(subject.Permissions, classification, 0);
            if (!own.IsSuccess)
            {
                return own.Error;
            }
            scope = own.Value;
        }

        // The child task, exactly as DelegateAsync makes it (this client's caller proves itself the subject token's agent).
        var delegation = new DelegationRequest
        {
            ProofToken = request.SubjectToken,
            ProofPresentation = request.SubjectPresentation,
            Agent = actor.Value,
            Scope = scope,
            Lifetime = lifetime,
        };
        const string operation = nameof(ExchangeCredentialAsync);
        var child = await CallAsync(subject.TaskId, "Task id", id => Task(id).DelegateAsync(delegation, cancellationToken), cancellationToken, operation).ConfigureAwait(false);
        if (child?.IsSuccess != true)
        {
            return child?.Error ?? NoAnswer();
        }
        // The worker's credential for it, in a session of its own, asked for by the worker (its actor token).
        var worker = As(new StaticCallerToken(request.ActorToken));
        var session = await worker.CallAsync(actor.Value, "Agent workload id", id => Agent(id).OpenSessionAsync(new OpenSessionRequest { Agent = actor.Value }, cancellationToken), cancellationToken, operation).ConfigureAwait(false);
        if (session?.IsSuccess != true)
        {
            return session?.Error ?? NoAnswer();
        }
        var issue = new IssueCredentialRequest
        {
            TaskId = child.Value.TaskId,
            Lifetime = lifetime,
            Resource = request.Resource,
            DpopKeyThumbprint = request.DpopKeyThumbprint,
        };
        return await worker.CallAsync(session.Value.SessionId, "Session id", id => Session(id).IssueCredentialAsync(issue, cancellationToken), cancellationToken, operation).ConfigureAwait(false)
            ?? NoAnswer();

        static GrantError NoAnswer() => new(GrantErrorCode.Unavailable, "GrantSilo did not answer a step of the token exchange; it may or may not have taken effect.");
    }

    // ---- Paged reads and introspection ----

    /// <inheritdoc />
    public Task<GrantResult<Page<TaskInfo>>> ListAgentTasksAsync(string workloadId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).ListTasksAsync(continuationToken, pageSize, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<Page<SessionInfo>>> ListAgentSessionsAsync(string workloadId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(workloadId, "Agent workload id", id => Agent(id).ListSessionsAsync(continuationToken, pageSize, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<Page<SessionInfo>>> ListTaskSessionsAsync(string taskId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(taskId, "Task id", id => Task(id).ListSessionsAsync(continuationToken, pageSize, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<Page<CredentialInfo>>> ListTaskCredentialsAsync(string taskId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(taskId, "Task id", id => Task(id).ListCredentialsAsync(continuationToken, pageSize, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<Page<CredentialInfo>>> ListSessionCredentialsAsync(string sessionId, string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default) =>
        CallAsync(sessionId, "Session id", id => Session(id).ListCredentialsAsync(continuationToken, pageSize, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<TokenIntrospection>> IntrospectAsync(string token, CancellationToken cancellationToken = default)
    {
        if (!CredentialToken.TryParse(token, out var credentialId, out var secret))
        {
            return System.Threading.Tasks.Task.FromResult(GrantResult<TokenIntrospection>.Ok(TokenIntrospection.Unknown(DecisionReason.MalformedToken, _time.GetUtcNow())));
        }
        return GuardAsync(async () => GrantResult<TokenIntrospection>.Ok(await Credential(credentialId).IntrospectAsync(secret, cancellationToken).ConfigureAwait(false)), cancellationToken, fullToken: true);
    }

    /// <inheritdoc />
    public Task<GrantResult<TokenIntrospection>> IntrospectAsync(string token, TokenPresentation presentation, CancellationToken cancellationToken = default)
    {
        if (!CredentialToken.TryParse(token, out var credentialId, out var secret))
        {
            return System.Threading.Tasks.Task.FromResult(GrantResult<TokenIntrospection>.Ok(TokenIntrospection.Unknown(DecisionReason.MalformedToken, _time.GetUtcNow())));
        }
        var presented = presentation ?? TokenPresentation.None;
        return GuardAsync(async () => GrantResult<TokenIntrospection>.Ok(await Credential(credentialId).IntrospectPresentedAsync(secret, presented, cancellationToken).ConfigureAwait(false)), cancellationToken, fullToken: true);
    }

    // ---- Policy ----

    /// <inheritdoc />
    public Task<GrantResult<PolicyVersionInfo>> PublishPolicyAsync(string text, string author, CancellationToken cancellationToken = default) =>
        GuardAsync(() => Policies.PublishAsync(text, author, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<PolicyDraftCheck>> ValidatePolicyAsync(string text, CancellationToken cancellationToken = default) =>
        GuardAsync(() => Policies.ValidateAsync(text, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<SchemaVersionInfo>> PublishSchemaAsync(string text, string author, CancellationToken cancellationToken = default) =>
        GuardAsync(() => Policies.PublishSchemaAsync(text, author, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<SchemaVersion>> GetActiveSchemaAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<SchemaVersion>.Ok(await Policies.GetActiveSchemaAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<PolicyVersionInfo>> LinkPolicyTemplateAsync(PolicyLink link, string author, CancellationToken cancellationToken = default) =>
        GuardAsync(() => Policies.LinkTemplateAsync(link, author, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<PolicyVersionInfo>> UnlinkPolicyTemplateAsync(string linkId, string author, CancellationToken cancellationToken = default) =>
        GuardAsync(() => Policies.UnlinkTemplateAsync(linkId, author, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<PolicySetVersion>> GetActivePolicyAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<PolicySetVersion>.Ok(await Policies.GetActiveAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<PolicySetVersion>> GetPolicyVersionAsync(long version, CancellationToken cancellationToken = default) =>
        GuardAsync(() => Policies.GetVersionAsync(version, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<IReadOnlyList<PolicyVersionInfo>>> ListPolicyVersionsAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<IReadOnlyList<PolicyVersionInfo>>.Ok(await Policies.ListVersionsAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    // ---- Resource catalog ----

    /// <inheritdoc />
    public Task<GrantResult<ResourceCatalogVersionInfo>> PublishResourceCatalogAsync(string text, string author, CancellationToken cancellationToken = default) =>
        GuardAsync(() => Catalog.PublishAsync(text, author, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<ResourceCatalogVersion>> GetActiveResourceCatalogAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<ResourceCatalogVersion>.Ok(await Catalog.GetActiveAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<IReadOnlyList<ResourceCatalogVersionInfo>>> ListResourceCatalogVersionsAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<IReadOnlyList<ResourceCatalogVersionInfo>>.Ok(await Catalog.ListVersionsAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    // ---- Access rules ----

    /// <inheritdoc />
    public Task<GrantResult<AccessRulesVersionInfo>> PublishAccessRulesAsync(string text, string author, CancellationToken cancellationToken = default) =>
        GuardAsync(() => Rules.PublishAsync(text, author, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<AccessRulesVersion>> GetActiveAccessRulesAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<AccessRulesVersion>.Ok(await Rules.GetActiveAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<IReadOnlyList<AccessRulesVersionInfo>>> ListAccessRulesVersionsAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<IReadOnlyList<AccessRulesVersionInfo>>.Ok(await Rules.ListVersionsAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    // ---- Step-up approvals ----

    /// <inheritdoc />
    public Task<GrantResult<ApprovalInfo>> GetApprovalAsync(string approvalId, CancellationToken cancellationToken = default) =>
        CallAsync(approvalId, "Approval id", id => Approval(id).GetAsync(cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<ApprovalInfo>> ApproveAsync(string approvalId, string approver, string? comment = null, CancellationToken cancellationToken = default) =>
        CallAsync(approvalId, "Approval id", id => Approval(id).ApproveAsync(approver, comment, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<ApprovalInfo>> DenyApprovalAsync(string approvalId, string approver, string? reason = null, CancellationToken cancellationToken = default) =>
        CallAsync(approvalId, "Approval id", id => Approval(id).DenyAsync(approver, reason, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<IReadOnlyList<ApprovalInfo>>> ListPendingApprovalsAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<IReadOnlyList<ApprovalInfo>>.Ok(await _cluster.GetGrain<IApprovalHubGrain>(0).ListPendingAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    /// <inheritdoc />
    public async Task<GrantResult<ApprovalSubscription>> SubscribeApprovalsAsync(IApprovalObserver observer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var reference = _cluster.CreateObjectReference<IApprovalObserver>(observer);
        var hub = _cluster.GetGrain<IApprovalHubGrain>(0);
        GrantResult<DateTimeOffset> subscribed;
        try
        {
            Attach(await CallerTokenAsync(cancellationToken).ConfigureAwait(false), full: true);
            subscribed = await hub.SubscribeAsync(reference, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            _cluster.DeleteObjectReference<IApprovalObserver>(reference);
            if (IsCallersCancellation(exception, cancellationToken))
            {
                throw;
            }
            LogCallFailed(_logger, nameof(SubscribeApprovalsAsync), exception);
            return GrantResult<ApprovalSubscription>.Fail(new GrantError(GrantErrorCode.Unavailable, $"GrantSilo could not subscribe the approver ({exception.GetType().Name}: {exception.Message}); retry.") { Exception = exception });
        }
        if (subscribed is null)
        {
            // No answer is not a subscription.
            _cluster.DeleteObjectReference<IApprovalObserver>(reference);
            return GrantResult<ApprovalSubscription>.Fail(GrantErrorCode.Unavailable, "GrantSilo did not answer the subscription; retry.");
        }
        if (!subscribed.IsSuccess)
        {
            _cluster.DeleteObjectReference<IApprovalObserver>(reference);
            return GrantResult<ApprovalSubscription>.Fail(subscribed.Error);
        }
        return new ApprovalSubscription(_cluster, hub, reference, _caller);
    }

    // ---- Operations ----

    /// <inheritdoc />
    public Task<GrantResult<IReadOnlyList<PendingCascade>>> ListPendingCascadesAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<IReadOnlyList<PendingCascade>>.Ok(await _cluster.GetGrain<ICascadeMonitorGrain>(0).ListAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    // ---- Audit ----

    /// <inheritdoc />
    public Task<GrantResult<Page<AuditEntry>>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default) =>
        GuardAsync(() => _cluster.GetGrain<IAuditGrain>(0).QueryAsync(query, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<AuditLineage>> GetAuditLineageAsync(string decisionId, CancellationToken cancellationToken = default) =>
        GuardAsync(() => _cluster.GetGrain<IAuditGrain>(0).GetLineageAsync(decisionId, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<AuditVerification>> VerifyAuditAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(() => _cluster.GetGrain<IAuditGrain>(0).VerifyAsync(cancellationToken), cancellationToken);

    /// <inheritdoc />
    public Task<GrantResult<IReadOnlyList<AuditSigningKey>>> GetAuditKeysAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(async () => GrantResult<IReadOnlyList<AuditSigningKey>>.Ok(await _cluster.GetGrain<IAuditGrain>(0).GetSigningKeysAsync(cancellationToken).ConfigureAwait(false)), cancellationToken);

    private IAgentGrain Agent(string id) => _grains.Get<IAgentGrain>(id);

    private ITaskGrain Task(string id) => _grains.Get<ITaskGrain>(id);

    private ISessionGrain Session(string id) => _grains.Get<ISessionGrain>(id);

    private ICredentialGrain Credential(string id)
    {
        if (_credentials.TryGetValue(id, out var cached))
        {
            return cached;
        }
        var grain = _grains.Get<ICredentialGrain>(id);
        if (_credentials.Count >= MaxCachedCredentials)
        {
            _credentials.Clear();
        }
        _credentials.TryAdd(id, grain);
        return grain;
    }

    private IApprovalGrain Approval(string id) => _grains.Get<IApprovalGrain>(id);

    private IPolicyStoreGrain Policies => _cluster.GetGrain<IPolicyStoreGrain>(0);

    private IResourceCatalogGrain Catalog => _cluster.GetGrain<IResourceCatalogGrain>(0);

    private IAccessRulesGrain Rules => _cluster.GetGrain<IAccessRulesGrain>(0);

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    // Only the caller's own cancellation propagates; every other OperationCanceledException (Orleans
    // cancelling a call because a silo died or the client is stopping) is a failure to answer for.
    private static bool IsCallersCancellation(Exception exception, CancellationToken cancellationToken) =>
        exception is OperationCanceledException && cancellationToken.IsCancellationRequested;

    private Task<Decision> DecideAsync(string token, Func<ICredentialGrain, byte[], CallerProof?, Task<Decision>> decide, CancellationToken cancellationToken, [CallerMemberName] string operation = "") =>
        CredentialToken.TryParse(token, out var credentialId, out var secret)
            ? DecideParsedAsync(credentialId, secret, decide, operation, cancellationToken)
            : System.Threading.Tasks.Task.FromResult(Malformed());

    private async Task<Decision> DecideParsedAsync(string credentialId, byte[] secret, Func<ICredentialGrain, byte[], CallerProof?, Task<Decision>> decide, string operation, CancellationToken cancellationToken)
    {
        try
        {
            var callerToken = await CallerTokenAsync(cancellationToken).ConfigureAwait(false);
            var decision = await decide(Credential(credentialId), secret, Proof(callerToken)).ConfigureAwait(false);
            if (IsResendToken(decision))
            {
                decision = await decide(Credential(credentialId), secret, Proof(callerToken, full: true)).ConfigureAwait(false);
            }
            return decision;
        }
        catch (Exception exception) when (!IsCallersCancellation(exception, cancellationToken))
        {
            return DenyUnreachable(operation, exception, credentialId);
        }
    }

    // Any failure is a deny, a cancellation the caller did not ask for (a silo killed mid-call) among them.
    private Decision DenyUnreachable(string operation, Exception exception, string credentialId)
    {
        LogAuthorizeFailed(_logger, operation, exception);
        return Decision.Deny(DecisionReason.Error, $"GrantSilo could not be reached ({Describe(exception)}); failing closed.", _time.GetUtcNow(), credentialId);
    }

    // What went wrong, in words a caller can act on: a timeout says what it means, not only its type.
    private static string Describe(Exception exception) => exception is TimeoutException
        ? $"no answer within the client's response timeout: the cluster may still be starting (a restarted silo logs 'ready' once it answers) or be overloaded. {exception.GetType().Name}: {exception.Message}"
        : $"{exception.GetType().Name}: {exception.Message}";

    // The caller's token for the next grain call. A failing token source is the caller's failure to
    // authenticate: the call goes without a token and is refused as unauthenticated.
    private async ValueTask<string?> CallerTokenAsync(CancellationToken cancellationToken)
    {
        if (_caller is null)
        {
            return null;
        }
        try
        {
            return await _caller.GetTokenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (!IsCallersCancellation(exception, cancellationToken))
        {
            LogCallerTokenFailed(_logger, exception.GetType().Name);
            return null;
        }
    }

    // Sets the token on the request context of the calling async method only (each caller of Attach is an
    // async method, whose context changes end with it), so one client's token never leaks into another call.
    // After a token has been sent once, calls refer to it by its SHA-256 (a silo that verified it knows it by that);
    // a silo that does not answers ResendToken before anything runs, and the call is made again with the token.
    private void Attach(string? token, bool full = false)
    {
        if (token is null)
        {
            RequestContext.Remove(CallerHeaders.Token);
            RequestContext.Remove(CallerHeaders.TokenReference);
            return;
        }
        var encoded = Encoded(token);
        if (!full && encoded.Sent)
        {
            RequestContext.Remove(CallerHeaders.Token);
            RequestContext.Set(CallerHeaders.TokenReference, encoded.Reference);
        }
        else
        {
            RequestContext.Remove(CallerHeaders.TokenReference);
            RequestContext.Set(CallerHeaders.Token, encoded.Bytes);
            encoded.Sent = true;
        }
    }

    // As Attach, for a method that takes its caller's proof as an argument.
    private CallerProof? Proof(string? token, bool full = false)
    {
        if (token is null)
        {
            return null;
        }
        var encoded = Encoded(token);
        if (!full && encoded.Sent)
        {
            return encoded.ReferenceProof;
        }
        encoded.Sent = true;
        return encoded.TokenProof;
    }

    private static bool IsResendToken(Decision decision) =>
        decision.Reason == DecisionReason.CallerUnauthenticated && decision.Detail == CallerHeaders.ResendToken;

    // The token's bytes and reference, computed once per token rather than once per call.
    private EncodedToken Encoded(string token)
    {
        var held = _encoded;
        if (held is not null && ReferenceEquals(held.Token, token))
        {
            return held;
        }
        var bytes = CallerHeaders.Encode(token);
        held = new EncodedToken(token, bytes, CallerHeaders.Reference(bytes));
        _encoded = held;
        return held;
    }

    private sealed class EncodedToken(string token, byte[] bytes, byte[] reference)
    {
        public string Token { get; } = token;

        public byte[] Bytes { get; } = bytes;

        public byte[] Reference { get; } = reference;

        public CallerProof TokenProof { get; } = new() { Token = bytes };

        public CallerProof ReferenceProof { get; } = new() { Reference = reference };

        /// <summary>Whether a call has carried the token itself (from then on calls carry its reference).</summary>
        public bool Sent { get; set; }

        public override string ToString() => "EncodedToken(****)";
    }

    private async Task<GrantResult<T>> CallAsync<T>(string id, string field, Func<string, Task<GrantResult<T>>> call, CancellationToken cancellationToken, [CallerMemberName] string operation = "")
    {
        // Identifiers are checked before they name a grain, so bad input never activates anything.
        var canonical = Canonical.Identifier(id, field);
        if (!canonical.IsSuccess)
        {
            return GrantResult<T>.Fail(canonical.Error);
        }
        // A grain's key travels in Orleans' messages, exceptions and logs, so a token passed where an id
        // belongs is refused before it can name a grain (and never repeated back).
        if (CredentialToken.TryParse(canonical.Value, out _, out _))
        {
            return GrantResult<T>.Fail(GrantErrorCode.InvalidIdentifier, $"{field} is a GrantSilo token, not an id; pass the id and keep the token secret.");
        }
        return await GuardAsync(() => call(canonical.Value), cancellationToken, operation).ConfigureAwait(false);
    }

    private async Task<GrantResult<T>> GuardAsync<T>(Func<Task<GrantResult<T>>> call, CancellationToken cancellationToken, [CallerMemberName] string operation = "", bool fullToken = false)
    {
        try
        {
            var token = await CallerTokenAsync(cancellationToken).ConfigureAwait(false);
            Attach(token, fullToken);
            try
            {
                var result = await call().ConfigureAwait(false);
                if (result?.Error?.DetailCode != CallerHeaders.ResendToken)
                {
                    return result!;
                }
            }
            catch (CallerRefusedException refused) when (refused.Message == CallerHeaders.ResendToken)
            {
            }
            // The silo did not know the token this call referred to; nothing ran. Once more, with the token itself.
            Attach(token, full: true);
            return await call().ConfigureAwait(false);
        }
        catch (CallerRefusedException refused)
        {
            return GrantResult<T>.Fail(new GrantError(refused.Code, refused.Message) { RetryAfter = refused.RetryAfter, Exception = refused });
        }
        // Every transport failure, a cancellation the caller did not ask for among them (a silo killed
        // while it placed the grain), is an answer, never an exception.
        catch (Exception exception) when (exception is not GrantException && !IsCallersCancellation(exception, cancellationToken))
        {
            LogCallFailed(_logger, operation, exception);
            return GrantResult<T>.Fail(new GrantError(GrantErrorCode.Unavailable, $"GrantSilo could not complete the request ({Describe(exception)}); it may or may not have taken effect. Retrying an end (revoke, complete, suspend, end session) is always safe: it answers only once the end is in force.") { Exception = exception });
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

    private readonly ICallerTokenSource? _caller;

    internal ApprovalSubscription(IClusterClient cluster, IApprovalHubGrain hub, IApprovalObserver reference, ICallerTokenSource? caller)
    {
        _caller = caller;
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
                    if (_caller is not null)
                    {
                        RequestContext.Set(CallerHeaders.Token, CallerHeaders.Encode(await _caller.GetTokenAsync(_stop.Token).ConfigureAwait(false)));
                    }
                    await _hub.SubscribeAsync(_reference, _stop.Token).ConfigureAwait(false);
                }
                catch (Exception) when (!_stop.IsCancellationRequested)
                {
                    // The next tick tries again, after a cancellation Orleans made too (a silo that died
                    // mid-call); the hub keeps the subscription for several renewal periods.
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
            if (_caller is not null)
            {
                RequestContext.Set(CallerHeaders.Token, CallerHeaders.Encode(await _caller.GetTokenAsync().ConfigureAwait(false)));
            }
            await _hub.UnsubscribeAsync(_reference).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Whatever failed, Orleans' own cancellations included, the subscription expires on its own;
            // disposing never throws.
        }
        _cluster.DeleteObjectReference<IApprovalObserver>(_reference);
        _stop.Dispose();
    }
}
