using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using GrantSilo.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GrantSilo.Http;

/// <summary>
/// An AuthZEN subject, resource (<c>type</c>, <c>id</c>, <c>properties</c>). <c>type</c> and <c>id</c> are required; a
/// missing one is refused with its field (in a batch, as that evaluation's error), so one bad entry does not fail the rest.
/// </summary>
public sealed record AuthZenEntity
{
    public string? Type { get; init; }

    public string? Id { get; init; }

    public JsonObject? Properties { get; init; }

    public override string ToString() => $"AuthZenEntity {{ Type = {Type} }}";
}

/// <summary>An AuthZEN action (<c>name</c>, required; <c>properties</c>, ignored).</summary>
public sealed record AuthZenAction
{
    public string? Name { get; init; }

    public JsonObject? Properties { get; init; }
}

/// <summary>One AuthZEN access evaluation request; in a batch, a missing member takes the request's default.</summary>
public sealed record AuthZenEvaluation
{
    public AuthZenEntity? Subject { get; init; }

    public AuthZenAction? Action { get; init; }

    public AuthZenEntity? Resource { get; init; }

    public JsonObject? Context { get; init; }
}

/// <summary>An AuthZEN access evaluations (batch) request: defaults, the evaluations and their options.</summary>
public sealed record AuthZenEvaluationsRequest
{
    public AuthZenEntity? Subject { get; init; }

    public AuthZenAction? Action { get; init; }

    public AuthZenEntity? Resource { get; init; }

    public JsonObject? Context { get; init; }

    public IReadOnlyList<AuthZenEvaluation>? Evaluations { get; init; }

    /// <summary><c>evaluations_semantic</c>: <c>execute_all</c> (default), <c>deny_on_first_deny</c> or <c>permit_on_first_permit</c>.</summary>
    public JsonObject? Options { get; init; }
}

/// <summary>An AuthZEN decision: <c>true</c> only for GrantSilo's allow; the context says why, and names a step-up's approval.</summary>
public sealed record AuthZenDecision
{
    public required bool Decision { get; init; }

    public JsonObject? Context { get; init; }
}

/// <summary>The answer to a batch: one decision per evaluation made, in order.</summary>
public sealed record AuthZenEvaluationsResponse
{
    public required IReadOnlyList<AuthZenDecision> Evaluations { get; init; }
}

/// <summary>The AuthZEN policy decision point metadata.</summary>
public sealed record AuthZenConfiguration
{
    [JsonPropertyName("policy_decision_point")]
    public required string PolicyDecisionPoint { get; init; }

    [JsonPropertyName("access_evaluation_endpoint")]
    public required string AccessEvaluationEndpoint { get; init; }

    [JsonPropertyName("access_evaluations_endpoint")]
    public required string AccessEvaluationsEndpoint { get; init; }
}

/// <summary>
/// The OpenID AuthZEN Authorization API 1.0 (docs/http-api.md has the mapping): the subject is a GrantSilo credential
/// (<c>type</c> <c>credential</c>, <c>id</c> its token), the action's name and the resource's type and id (its path) are
/// GrantSilo's, an approval id travels in the context as <c>approval_id</c>, and a step-up is a <c>false</c> decision
/// whose context names the approval. Nothing else a caller writes in a context or in properties decides anything.
/// </summary>
internal static class AuthZenEndpoints
{
    public const string SubjectType = "credential";
    public const int MaxEvaluations = 256;
    public const string ExecuteAll = "execute_all";
    public const string DenyOnFirstDeny = "deny_on_first_deny";
    public const string PermitOnFirstPermit = "permit_on_first_permit";

    public static void Map(IEndpointRouteBuilder app)
    {
        var access = app.MapGroup("/access/v1").WithTags("AuthZEN").RequireRateLimiting(GrantSiloHttp.RateLimitPolicy);
        // The single evaluation, the busiest route, checks its caller itself as its first step (HttpCaller.Refuse, the
        // filter's own answer), so it runs without an endpoint-filter pipeline around it.
        access.MapPost("/evaluation", (Func<HttpContext, Task<IResult>>)EvaluationAsync)
            .WithName("AuthZenEvaluation").WithSummary("AuthZEN Access Evaluation: one decision.")
            .Accepts<AuthZenEvaluation>("application/json").Produces<AuthZenDecision>()
            .ProducesAuthZenProblems();
        access.MapPost("/evaluations", EvaluationsAsync).AddEndpointFilter(HttpCaller.Require)
            .WithName("AuthZenEvaluations")
            .WithSummary("AuthZEN Access Evaluations: many decisions, with execute_all, deny_on_first_deny or permit_on_first_permit.")
            .WithDescription("Answers { \"evaluations\": [...] }, one decision per evaluation made, in order. A request without evaluations is one evaluation, and is answered as /access/v1/evaluation answers it.")
            .Accepts<AuthZenEvaluationsRequest>("application/json").Produces<AuthZenEvaluationsResponse>()
            .ProducesAuthZenProblems();

        app.MapGet("/.well-known/authzen-configuration", (HttpContext http, Microsoft.Extensions.Options.IOptions<HttpApiOptions> options) =>
            {
                var pdp = options.Value.PolicyDecisionPoint is { Length: > 0 } configured ? configured.TrimEnd('/') : $"{http.Request.Scheme}://{http.Request.Host}";
                return TypedResults.Json(new AuthZenConfiguration
                {
                    PolicyDecisionPoint = pdp,
                    AccessEvaluationEndpoint = pdp + "/access/v1/evaluation",
                    AccessEvaluationsEndpoint = pdp + "/access/v1/evaluations",
                }, HttpJson.Options);
            })
            .WithTags("AuthZEN").WithName("AuthZenConfiguration").WithSummary("AuthZEN policy decision point metadata.")
            .Produces<AuthZenConfiguration>()
            .RequireRateLimiting(GrantSiloHttp.RateLimitPolicy);
    }

    private static async Task<IResult> EvaluationAsync(HttpContext http)
    {
        if (HttpCaller.Of(http) is not { } caller)
        {
            return HttpCaller.Refuse(http);
        }
        EchoRequestId(http);
        // The common body is read by AuthZenReader, and the decision written by AuthZenWriter, each in one pass; any other
        // body is read by the serializer, with the same answer.
        var (body, problem) = await Bodies.ReadAsync(http, AuthZenReader.TryRead).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }
        var request = Resolve(body!, null, "$");
        if (request.Problem is { } invalid)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, Problems.InvalidJson, "Invalid AuthZEN request", invalid.Message, invalid.Field);
        }
        // Decided here rather than through DecideAsync: the answer is written from the decision itself, with no
        // AuthZenDecision between, and the busy path keeps one async frame fewer.
        var decision = await ApiEndpoints.Door(http).AuthorizeAsync(http, caller.Client(http), request.Token, request.Action!, request.Resource!, request.ApprovalId).ConfigureAwait(false);
        return ApiEndpoints.CallerRefusal(decision.Reason, decision.Detail) ?? AuthZenWriter.Result(decision);
    }

    private static async Task<IResult> EvaluationsAsync(HttpContext http, CancellationToken _)
    {
        EchoRequestId(http);
        var (body, problem) = await Bodies.ReadAsync<AuthZenEvaluationsRequest>(http).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }
        var semantic = ExecuteAll;
        if (body!.Options is { } options && options.TryGetPropertyValue("evaluations_semantic", out var value) && value is not null)
        {
            semantic = value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : "";
            if (semantic is not (ExecuteAll or DenyOnFirstDeny or PermitOnFirstPermit))
            {
                return Problems.Of(StatusCodes.Status400BadRequest, Problems.InvalidJson, "Invalid AuthZEN request",
                    "options.evaluations_semantic must be execute_all, deny_on_first_deny or permit_on_first_permit.", "$.options.evaluations_semantic");
            }
        }
        var defaults = new AuthZenEvaluation { Subject = body.Subject, Action = body.Action, Resource = body.Resource, Context = body.Context };
        if (body.Evaluations is not { Count: > 0 } evaluations)
        {
            // Without evaluations the request is a single evaluation, answered as one.
            var single = Resolve(defaults, null, "$");
            if (single.Problem is { } invalid)
            {
                return Problems.Of(StatusCodes.Status400BadRequest, Problems.InvalidJson, "Invalid AuthZEN request", invalid.Message, invalid.Field);
            }
            var (decision, refusal) = await DecideAsync(http, single).ConfigureAwait(false);
            return refusal ?? TypedResults.Json(decision, HttpJson.Options);
        }
        if (evaluations.Count > MaxEvaluations)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, Problems.InvalidJson, "Invalid AuthZEN request", $"At most {MaxEvaluations} evaluations are decided in one request.", "$.evaluations");
        }
        var requests = evaluations.Select((evaluation, i) => Resolve(evaluation, defaults, $"$.evaluations[{i}]")).ToList();
        var decisions = new List<AuthZenDecision>(requests.Count);
        if (semantic == ExecuteAll)
        {
            foreach (var (decision, refusal) in await Task.WhenAll(requests.Select(r => DecideAsync(http, r))).ConfigureAwait(false))
            {
                // A refusal of the caller concerns the whole request: AuthZEN answers it at the transport level.
                if (refusal is not null)
                {
                    return refusal;
                }
                decisions.Add(decision!);
            }
        }
        else
        {
            // The short-circuiting semantics decide in order and stop at the first deny (or permit), which is returned last.
            foreach (var request in requests)
            {
                var (decision, refusal) = await DecideAsync(http, request).ConfigureAwait(false);
                if (refusal is not null)
                {
                    return refusal;
                }
                decisions.Add(decision!);
                if (decision!.Decision == (semantic == PermitOnFirstPermit))
                {
                    break;
                }
            }
        }
        return TypedResults.Json(new AuthZenEvaluationsResponse { Evaluations = decisions }, HttpJson.Options);
    }

    private sealed record Resolved(string? Token, string? Action, ResourceRef? Resource, string? ApprovalId, (string Message, string Field)? Problem);

    // One evaluation, its missing members taken from the defaults, mapped to GrantSilo's decision request.
    private static Resolved Resolve(AuthZenEvaluation evaluation, AuthZenEvaluation? defaults, string at)
    {
        static Resolved Fail(string message, string field) => new(null, null, null, null, (message, field));
        var subject = evaluation.Subject ?? defaults?.Subject;
        var action = evaluation.Action ?? defaults?.Action;
        var resource = evaluation.Resource ?? defaults?.Resource;
        var context = evaluation.Context ?? defaults?.Context;
        if (subject is null)
        {
            return Fail("A subject is required (here or as the request's default).", at + ".subject");
        }
        if (!string.Equals(subject.Type, SubjectType, StringComparison.Ordinal))
        {
            return Fail($"The subject's type must be \"{SubjectType}\", its id the agent's GrantSilo credential token.", at + ".subject.type");
        }
        if (subject.Id is not { Length: > 0 })
        {
            return Fail("The subject's id is required: the agent's GrantSilo credential token.", at + ".subject.id");
        }
        if (action is null)
        {
            return Fail("An action is required (here or as the request's default).", at + ".action");
        }
        if (action.Name is not { Length: > 0 })
        {
            return Fail("The action's name is required.", at + ".action.name");
        }
        if (resource is null)
        {
            return Fail("A resource is required (here or as the request's default).", at + ".resource");
        }
        if (resource.Type is not { Length: > 0 })
        {
            return Fail("The resource's type is required.", at + ".resource.type");
        }
        if (resource.Id is not { Length: > 0 })
        {
            return Fail("The resource's id is required: its path.", at + ".resource.id");
        }
        var classification = DataClassification.Internal;
        Dictionary<string, string>? attributes = null;
        if (resource.Properties is { } properties)
        {
            foreach (var (name, value) in properties)
            {
                if (value is null || value.GetValueKind() != JsonValueKind.String)
                {
                    // A resource property is an attribute the policy may decide on; one GrantSilo cannot represent is refused,
                    // never dropped (a forbid that reads it would otherwise not apply).
                    return Fail("Resource properties are strings: each is an attribute the policy may read, and GrantSilo refuses one it cannot represent rather than ignore it.", $"{at}.resource.properties.{name}");
                }
                var text = value.GetValue<string>();
                if (name == "classification")
                {
                    if (!Enum.TryParse(text, ignoreCase: true, out classification) || !Enum.IsDefined(classification) || int.TryParse(text, out _))
                    {
                        return Fail("classification must be public, internal, confidential or restricted.", $"{at}.resource.properties.classification");
                    }
                }
                else
                {
                    (attributes ??= new(StringComparer.Ordinal))[name] = text;
                }
            }
        }
        string? approvalId = null;
        if (context is not null && context.TryGetPropertyValue("approval_id", out var approval) && approval is not null)
        {
            if (approval.GetValueKind() != JsonValueKind.String)
            {
                return Fail("context.approval_id is a string.", at + ".context.approval_id");
            }
            approvalId = approval.GetValue<string>();
        }
        return new Resolved(subject.Id, action.Name, new ResourceRef { Type = resource.Type, Path = resource.Id, Classification = classification, Attributes = attributes }, approvalId, null);
    }

    private static async Task<(AuthZenDecision? Decision, IResult? Refusal)> DecideAsync(HttpContext http, Resolved request)
    {
        if (request.Problem is { } invalid)
        {
            return (new AuthZenDecision
            {
                Decision = false,
                Context = new JsonObject { ["error"] = new JsonObject { ["status"] = 400, ["message"] = invalid.Message, ["field"] = Problems.Safe(invalid.Field) } },
            }, null);
        }
        var client = HttpCaller.Of(http)!.Client(http);
        var decision = await ApiEndpoints.Door(http).AuthorizeAsync(http, client, request.Token, request.Action!, request.Resource!, request.ApprovalId).ConfigureAwait(false);
        return ApiEndpoints.CallerRefusal(decision.Reason, decision.Detail) is { } refusal ? (null, refusal) : (Map(decision), null);
    }

    /// <summary>GrantSilo's decision as AuthZEN's: <c>true</c> only for an allow.</summary>
    internal static AuthZenDecision Map(Decision decision)
    {
        var context = new JsonObject { ["reason"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(decision.Reason.ToString()) };
        if (decision.Kind == DecisionKind.StepUpRequired)
        {
            context["step_up_required"] = true;
        }
        if (decision.ApprovalId is { } approvalId)
        {
            context["approval_id"] = approvalId;
        }
        if (decision.Detail is { Length: > 0 } detail)
        {
            context["detail"] = Problems.Safe(detail);
        }
        if (decision.PolicyVersion is { } version)
        {
            context["policy_version"] = version;
        }
        if (decision.DeterminingPolicies.Count > 0)
        {
            context["determining_policies"] = new JsonArray([.. decision.DeterminingPolicies.Select(p => (JsonNode?)JsonValue.Create(p))]);
        }
        if (decision.CredentialId is { } credentialId)
        {
            context["credential_id"] = credentialId;
        }
        if (decision.DecisionId is { } decisionId)
        {
            // The audit record's id: the resource server's own log can name it, and an investigator look it up.
            context["decision_id"] = decisionId;
        }
        return new AuthZenDecision { Decision = decision.IsAllowed, Context = context };
    }

    private static RouteHandlerBuilder ProducesAuthZenProblems(this RouteHandlerBuilder route) => route
        .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
        .ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    // AuthZEN: a request's X-Request-ID comes back on its response.
    private static void EchoRequestId(HttpContext http)
    {
        if (http.Request.Headers.TryGetValue("X-Request-ID", out var id) && id.Count == 1 && id[0] is { Length: > 0 and <= 128 } value && !value.Any(char.IsControl))
        {
            http.Response.Headers["X-Request-ID"] = value;
        }
    }
}
