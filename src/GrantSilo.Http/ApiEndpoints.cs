using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace GrantSilo.Http;

/// <summary>
/// The <c>/v1</c> endpoints: everything the SDK (<see cref="IGrantClient"/>) does, over HTTP. Each calls the grains as its
/// authenticated caller, through the same door and access rules as a cluster client; refusals are problem details.
/// </summary>
internal static class ApiEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter(HttpCaller.Require).RequireRateLimiting(GrantSiloHttp.RateLimitPolicy);

        // ---- Agents ----
        var agents = v1.MapGroup("/agents").WithTags("Agents");
        agents.MapPost("", (HttpContext http, CancellationToken _) => WithBody<RegisterAgentBody>(http, (client, body, ct) =>
                Answer(client.RegisterAgentAsync(body.WorkloadId, new AgentRegistration { Owner = body.Owner, Ceiling = body.Ceiling, DisplayName = body.DisplayName, Attributes = body.Attributes, Groups = body.Groups }, ct), StatusCodes.Status201Created)))
            .Doc<RegisterAgentBody, AgentInfo>("RegisterAgent", "Registers an agent under its workload id.", StatusCodes.Status201Created);
        agents.MapGet("/{workloadId}", (HttpContext http, string workloadId) => Answer(Client(http).GetAgentAsync(Segment(workloadId), http.RequestAborted)))
            .Doc<AgentInfo>("GetAgent", "An agent as GrantSilo knows it (the workload id percent-encoded in the path).");
        agents.MapPost("/{workloadId}/suspend", (HttpContext http, string workloadId) => WithBody<ReasonBody>(http, (client, body, ct) => Answer(client.SuspendAgentAsync(Segment(workloadId), body.Reason, ct))))
            .Doc<ReasonBody, AgentInfo>("SuspendAgent", "Suspends an agent: its live sessions, tasks and credentials end.");
        agents.MapPost("/{workloadId}/resume", (HttpContext http, string workloadId) => WithBody<ReasonBody>(http, (client, body, ct) => Answer(client.ResumeAgentAsync(Segment(workloadId), body.Reason, ct))))
            .Doc<ReasonBody, AgentInfo>("ResumeAgent", "Lets a suspended agent act again.");
        agents.MapPost("/{workloadId}/retire", (HttpContext http, string workloadId) => WithBody<ReasonBody>(http, (client, body, ct) => Answer(client.RetireAgentAsync(Segment(workloadId), body.Reason, ct))))
            .Doc<ReasonBody, AgentInfo>("RetireAgent", "Retires an agent for good.");
        agents.MapGet("/{workloadId}/tasks", (HttpContext http, string workloadId, string? continuationToken, int? pageSize) => Answer(Client(http).ListAgentTasksAsync(Segment(workloadId), continuationToken, pageSize, http.RequestAborted)))
            .Doc<Page<TaskInfo>>("ListAgentTasks", "The live tasks of an agent that the caller may read one by one, one page at a time (a page may be short or empty before its continuation token is null).");
        agents.MapGet("/{workloadId}/sessions", (HttpContext http, string workloadId, string? continuationToken, int? pageSize) => Answer(Client(http).ListAgentSessionsAsync(Segment(workloadId), continuationToken, pageSize, http.RequestAborted)))
            .Doc<Page<SessionInfo>>("ListAgentSessions", "The live sessions of an agent that the caller may read one by one, one page at a time (a page may be short or empty before its continuation token is null).");

        // ---- Tasks ----
        var tasks = v1.MapGroup("/tasks").WithTags("Tasks");
        tasks.MapPost("", (HttpContext http, CancellationToken _) => WithBody<CreateTaskRequest>(http, (client, body, ct) => Answer(client.CreateTaskAsync(body, ct), StatusCodes.Status201Created)))
            .Doc<CreateTaskRequest, TaskInfo>("CreateTask", "Creates a root task for a person (orchestrators).", StatusCodes.Status201Created);
        tasks.MapGet("/{taskId}", (HttpContext http, string taskId) => Answer(Client(http).GetTaskAsync(taskId, http.RequestAborted)))
            .Doc<TaskInfo>("GetTask", "A task as durably recorded.");
        tasks.MapGet("/{taskId}/tree", (HttpContext http, string taskId) => Answer(Client(http).GetTaskTreeAsync(taskId, http.RequestAborted)))
            .Doc<TaskTreeNode>("GetTaskTree", "The task and its descendants, with states.");
        tasks.MapPost("/{taskId}/delegations", (HttpContext http, string taskId) => WithBody<DelegationRequest>(http, (client, body, ct) => Answer(client.DelegateAsync(taskId, body, ct), StatusCodes.Status201Created)))
            .Doc<DelegationRequest, TaskInfo>("DelegateTask", "Delegates a child of the task to another agent (the parent's agent, proving itself with a live credential of the parent).", StatusCodes.Status201Created);
        tasks.MapPost("/{taskId}/reauthorize", (HttpContext http, string taskId) => Answer(Client(http).ReauthorizeTaskAsync(taskId, http.RequestAborted)))
            .Doc<TaskInfo>("ReauthorizeTask", "Re-authorizes a task waiting at a checkpoint (a fresh check).");
        tasks.MapPost("/{taskId}/complete", (HttpContext http, string taskId) => WithBody<CompleteBody>(http, (client, body, ct) => Answer(client.CompleteTaskAsync(taskId, body.Summary, ct))))
            .Doc<CompleteBody, TaskInfo>("CompleteTask", "Completes a task; everything below it ends.");
        tasks.MapPost("/{taskId}/revoke", (HttpContext http, string taskId) => WithBody<ReasonBody>(http, (client, body, ct) => Answer(client.RevokeTaskAsync(taskId, body.Reason, ct))))
            .Doc<ReasonBody, TaskInfo>("RevokeTask", "Revokes a task and everything below it.");
        tasks.MapGet("/{taskId}/credentials", (HttpContext http, string taskId, string? continuationToken, int? pageSize) => Answer(Client(http).ListTaskCredentialsAsync(taskId, continuationToken, pageSize, http.RequestAborted)))
            .Doc<Page<CredentialInfo>>("ListTaskCredentials", "The live credentials of a task, one page at a time.");
        tasks.MapGet("/{taskId}/sessions", (HttpContext http, string taskId, string? continuationToken, int? pageSize) => Answer(Client(http).ListTaskSessionsAsync(taskId, continuationToken, pageSize, http.RequestAborted)))
            .Doc<Page<SessionInfo>>("ListTaskSessions", "The live sessions holding credentials for a task, one page at a time.");

        // ---- Sessions ----
        var sessions = v1.MapGroup("/sessions").WithTags("Sessions");
        sessions.MapPost("", (HttpContext http, CancellationToken _) => WithBody<OpenSessionRequest>(http, (client, body, ct) => Answer(client.OpenSessionAsync(body, ct), StatusCodes.Status201Created)))
            .Doc<OpenSessionRequest, SessionInfo>("OpenSession", "Opens a session for an agent.", StatusCodes.Status201Created);
        sessions.MapGet("/{sessionId}", (HttpContext http, string sessionId) => Answer(Client(http).GetSessionAsync(sessionId, http.RequestAborted)))
            .Doc<SessionInfo>("GetSession", "A session as durably recorded.");
        sessions.MapPost("/{sessionId}/end", (HttpContext http, string sessionId) => WithBody<ReasonBody>(http, (client, body, ct) => Answer(client.EndSessionAsync(sessionId, body.Reason, ct))))
            .Doc<ReasonBody, SessionInfo>("EndSession", "Ends a session and every credential issued in it.");
        sessions.MapPost("/{sessionId}/credentials", (HttpContext http, string sessionId) => WithBody<IssueCredentialRequest>(http, (client, body, ct) => Answer(client.IssueCredentialAsync(sessionId, body, ct), StatusCodes.Status201Created)))
            .Doc<IssueCredentialRequest, IssuedCredential>("IssueCredential", "Issues a short-lived credential in the session for a task its agent is assigned to.", StatusCodes.Status201Created);
        sessions.MapGet("/{sessionId}/credentials", (HttpContext http, string sessionId, string? continuationToken, int? pageSize) => Answer(Client(http).ListSessionCredentialsAsync(sessionId, continuationToken, pageSize, http.RequestAborted)))
            .Doc<Page<CredentialInfo>>("ListSessionCredentials", "The live credentials issued in a session, one page at a time.");

        // ---- Credentials ----
        var credentials = v1.MapGroup("/credentials").WithTags("Credentials");
        credentials.MapPost("/introspect", (HttpContext http, CancellationToken _) => WithBody<IntrospectBody>(http, async (client, body, ct) =>
                Introspected(await Door(http).IntrospectAsync(http, client, body.Token).ConfigureAwait(false))))
            .Doc<IntrospectBody, TokenIntrospection>("IntrospectCredential", "Whether a credential token is active now and, if not, why (gateways). The secret is never returned.");
        credentials.MapGet("/{credentialId}", (HttpContext http, string credentialId) => Answer(Client(http).GetCredentialAsync(credentialId, http.RequestAborted)))
            .Doc<CredentialInfo>("GetCredential", "A credential by its id (never by its token).");
        credentials.MapPost("/{credentialId}/revoke", (HttpContext http, string credentialId) => WithBody<ReasonBody>(http, (client, body, ct) => Answer(client.RevokeCredentialAsync(credentialId, body.Reason, ct))))
            .Doc<ReasonBody, CredentialInfo>("RevokeCredential", "Revokes one credential (nothing else).");

        // ---- Decisions ----
        v1.MapPost("/authorize", (HttpContext http, CancellationToken _) => WithBody<AuthorizeBody>(http, async (client, body, ct) =>
                Decided(await Door(http).AuthorizeAsync(http, client, body.Token, body.Action, body.Resource, body.ApprovalId).ConfigureAwait(false))))
            .WithTags("Decisions")
            .Doc<AuthorizeBody, Decision>("Authorize", "Decides whether the holder of a credential token may do an action on a resource now (gateways). Always 200 with a decision: any failure is a deny.");

        // ---- Approvals ----
        var approvals = v1.MapGroup("/approvals").WithTags("Approvals");
        approvals.MapGet("", (HttpContext http, CancellationToken cancellationToken) => Answer(Client(http).ListPendingApprovalsAsync(cancellationToken)))
            .Doc<IReadOnlyList<ApprovalInfo>>("ListPendingApprovals", "Approvals still waiting for a person.");
        approvals.MapGet("/stream", ApprovalStream.OpenAsync)
            .WithName("StreamApprovals")
            .WithSummary("Step-up requests and their outcomes as server-sent events (pending, requested, resolved), until the caller's token expires.")
            .Produces<ApprovalInfo>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            // A stream lasts as long as the caller's token, not one request's timeout.
            .DisableRequestTimeout();
        approvals.MapGet("/{approvalId}", (HttpContext http, string approvalId) => Answer(Client(http).GetApprovalAsync(approvalId, http.RequestAborted)))
            .Doc<ApprovalInfo>("GetApproval", "An approval as durably recorded.");
        approvals.MapPost("/{approvalId}/approve", (HttpContext http, string approvalId) => WithBody<ApproveBody>(http, (client, body, ct) => Answer(client.ApproveAsync(approvalId, Name(http), body.Comment, ct))))
            .Doc<ApproveBody, ApprovalInfo>("Approve", "The authenticated person approves a step-up; the agent may then retry once.");
        approvals.MapPost("/{approvalId}/deny", (HttpContext http, string approvalId) => WithBody<DenyBody>(http, (client, body, ct) => Answer(client.DenyApprovalAsync(approvalId, Name(http), body.Reason, ct))))
            .Doc<DenyBody, ApprovalInfo>("DenyApproval", "The authenticated person denies a step-up.");

        // ---- Policies ----
        var policies = v1.MapGroup("/policies").WithTags("Policies");
        policies.MapPost("", (HttpContext http, CancellationToken _) => WithBody<TextBody>(http, (client, body, ct) => Answer(client.PublishPolicyAsync(body.Text, Name(http), ct), StatusCodes.Status201Created)))
            .Doc<TextBody, PolicyVersionInfo>("PublishPolicy", "Publishes a new version of the Cedar policy set; in force on every silo when this answers.", StatusCodes.Status201Created);
        policies.MapPost("/validate", (HttpContext http, CancellationToken _) => WithBody<TextBody>(http, (client, body, ct) => Answer(client.ValidatePolicyAsync(body.Text, ct))))
            .Doc<TextBody, PolicyDraftCheck>("ValidatePolicy", "Checks a draft exactly as publishing would (the same refusal, with its position) without storing anything.");
        policies.MapGet("/active", (HttpContext http, CancellationToken cancellationToken) => Answer(Client(http).GetActivePolicyAsync(cancellationToken)))
            .Doc<PolicySetVersion>("GetActivePolicy", "The policy version decisions use now, with its text.");
        policies.MapGet("/versions", (HttpContext http, CancellationToken cancellationToken) => Answer(Client(http).ListPolicyVersionsAsync(cancellationToken)))
            .Doc<IReadOnlyList<PolicyVersionInfo>>("ListPolicyVersions", "Every policy version, oldest first.");
        policies.MapGet("/versions/{version:long}", (HttpContext http, long version) => Answer(Client(http).GetPolicyVersionAsync(version, http.RequestAborted)))
            .Doc<PolicySetVersion>("GetPolicyVersion", "One policy version with its text (version 0 is the shipped default).");
        policies.MapPost("/links", (HttpContext http, CancellationToken _) => WithBody<PolicyLink>(http, (client, body, ct) => Answer(client.LinkPolicyTemplateAsync(body, Name(http), ct), StatusCodes.Status201Created)))
            .Doc<PolicyLink, PolicyVersionInfo>("LinkPolicyTemplate", "Adds a template-linked policy as a new policy version.", StatusCodes.Status201Created);
        policies.MapDelete("/links/{linkId}", (HttpContext http, string linkId) => Answer(Client(http).UnlinkPolicyTemplateAsync(linkId, Name(http), http.RequestAborted)))
            .Doc<PolicyVersionInfo>("UnlinkPolicyTemplate", "Removes a template-linked policy, as a new policy version.");
        policies.MapPost("/schema", (HttpContext http, CancellationToken _) => WithBody<TextBody>(http, (client, body, ct) => Answer(client.PublishSchemaAsync(body.Text, Name(http), ct), StatusCodes.Status201Created)))
            .Doc<TextBody, SchemaVersionInfo>("PublishSchema", "Publishes a new version of the Cedar schema policies are validated against.", StatusCodes.Status201Created);
        policies.MapGet("/schema/active", (HttpContext http, CancellationToken cancellationToken) => Answer(Client(http).GetActiveSchemaAsync(cancellationToken)))
            .Doc<SchemaVersion>("GetActiveSchema", "The schema policies are validated against now, with its text.");

        // ---- Resource catalog ----
        var catalog = v1.MapGroup("/resource-catalog").WithTags("Resource catalog");
        catalog.MapPost("", (HttpContext http, CancellationToken _) => WithBody<TextBody>(http, (client, body, ct) => Answer(client.PublishResourceCatalogAsync(body.Text, Name(http), ct), StatusCodes.Status201Created)))
            .Doc<TextBody, ResourceCatalogVersionInfo>("PublishResourceCatalog", "Publishes a new version of the resource catalog (operators).", StatusCodes.Status201Created);
        catalog.MapGet("/active", (HttpContext http, CancellationToken cancellationToken) => Answer(Client(http).GetActiveResourceCatalogAsync(cancellationToken)))
            .Doc<ResourceCatalogVersion>("GetActiveResourceCatalog", "The resource catalog decisions use now, with its text.");
        catalog.MapGet("/versions", (HttpContext http, CancellationToken cancellationToken) => Answer(Client(http).ListResourceCatalogVersionsAsync(cancellationToken)))
            .Doc<IReadOnlyList<ResourceCatalogVersionInfo>>("ListResourceCatalogVersions", "Every resource catalog version, oldest first.");

        // ---- Access rules ----
        var access = v1.MapGroup("/access-rules").WithTags("Access rules");
        access.MapPost("", (HttpContext http, CancellationToken _) => WithBody<TextBody>(http, (client, body, ct) => Answer(client.PublishAccessRulesAsync(body.Text, Name(http), ct), StatusCodes.Status201Created)))
            .Doc<TextBody, AccessRulesVersionInfo>("PublishAccessRules", "Publishes a new version of the access rules (operators).", StatusCodes.Status201Created);
        access.MapGet("/active", (HttpContext http, CancellationToken cancellationToken) => Answer(Client(http).GetActiveAccessRulesAsync(cancellationToken)))
            .Doc<AccessRulesVersion>("GetActiveAccessRules", "The access rules in force now, with their text.");
        access.MapGet("/versions", (HttpContext http, CancellationToken cancellationToken) => Answer(Client(http).ListAccessRulesVersionsAsync(cancellationToken)))
            .Doc<IReadOnlyList<AccessRulesVersionInfo>>("ListAccessRulesVersions", "Every access rules version, oldest first.");

        // ---- Operations ----
        v1.MapGet("/cascades/pending", (HttpContext http, CancellationToken cancellationToken) => Answer(Client(http).ListPendingCascadesAsync(cancellationToken)))
            .WithTags("Operations")
            .Doc<IReadOnlyList<PendingCascade>>("ListPendingCascades", "Cascades that failed a step and are being retried.");
    }

    private static IGrantClient Client(HttpContext http) => HttpCaller.Of(http)!.Client(http);

    internal static CredentialDoor Door(HttpContext http) => http.RequestServices.GetRequiredService<CredentialDoor>();

    // The caller acts under its own name (an approver, an author): the grains check it against what it proved.
    private static string Name(HttpContext http) => HttpCaller.Of(http)!.Caller.Name;

    // A workload id is a URI (spiffe://...), sent percent-encoded as one path segment. ASP.NET Core decodes every escape
    // of a path but %2F, so decoding that one completes exactly one decoding.
    private static string Segment(string value) => value.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A refusal of the HTTP caller itself (not authenticated, or not allowed to ask) as its problem; null for a decision
    /// about the credential, which is a 200 whatever it says.
    /// </summary>
    internal static IResult? CallerRefusal(DecisionReason reason, string? detail) => reason switch
    {
        DecisionReason.CallerUnauthenticated => Problems.Unauthenticated(detail ?? "The caller is not authenticated."),
        DecisionReason.CallerForbidden => Problems.From(new GrantError(GrantErrorCode.Forbidden, detail ?? "The caller may not ask for this.")),
        _ => null,
    };

    private static IResult Decided(Decision decision) => CallerRefusal(decision.Reason, decision.Detail) ?? TypedResults.Json(decision, HttpJson.Options);

    private static IResult Introspected(GrantResult<TokenIntrospection> result) =>
        !result.IsSuccess ? Problems.From(result.Error!)
        : CallerRefusal(result.Value.Reason, null) ?? TypedResults.Json(result.Value, HttpJson.Options);

    internal static async Task<IResult> Answer<T>(Task<GrantResult<T>> call, int status = StatusCodes.Status200OK)
    {
        var result = await call.ConfigureAwait(false);
        return result.IsSuccess ? TypedResults.Json(result.Value, HttpJson.Options, statusCode: status) : Problems.From(result.Error!);
    }

    internal static async Task<IResult> WithBody<TBody>(HttpContext http, Func<IGrantClient, TBody, CancellationToken, Task<IResult>> run) where TBody : class
    {
        var (body, problem) = await Bodies.ReadAsync<TBody>(http).ConfigureAwait(false);
        return problem ?? Fields.Name(await run(Client(http), body!, http.RequestAborted).ConfigureAwait(false), body!);
    }

    private static RouteHandlerBuilder Doc<TResponse>(this RouteHandlerBuilder route, string name, string summary, int status = StatusCodes.Status200OK) =>
        route.WithName(name).WithSummary(summary)
            .Produces<TResponse>(status)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    private static RouteHandlerBuilder Doc<TBody, TResponse>(this RouteHandlerBuilder route, string name, string summary, int status = StatusCodes.Status200OK) where TBody : notnull =>
        route.Accepts<TBody>("application/json").Doc<TResponse>(name, summary, status)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
}
