using System.Runtime.CompilerServices;
using GrantSilo.Grains.Decisions;
using GrantSilo.Cedar;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using CedarDecision = GrantSilo.Cedar.Decision;

namespace GrantSilo.Grains.Policies;

/// <summary>
/// The default <see cref="IAccessPolicy"/>: evaluates the active Cedar policy set, compiled on this
/// silo by <see cref="PolicyEngineHost"/>. An error in a forbid policy or in a policy carrying an
/// obligation denies (fail closed); an erroring plain permit simply does not apply.
/// </summary>
internal sealed partial class CedarAccessPolicy(PolicyEngineHost engine, IOptions<GrantSiloPolicyOptions> options, ILogger<CedarAccessPolicy> logger) : IAccessPolicy
{
    /// <summary>The annotation a permit policy carries to demand approval: <c>@obligation("approval")</c>.</summary>
    public const string ObligationAnnotation = "obligation";

    /// <summary>The obligation value that means step-up approval.</summary>
    public const string ApprovalObligation = "approval";

    private readonly GrantSiloPolicyOptions _options = options.Value;

    public ValueTask<PolicyVerdict> EvaluateAsync(AccessFacts facts, CancellationToken cancellationToken)
    {
        var pending = engine.GetConfirmedAsync();
        if (pending.IsCompletedSuccessfully)
        {
            return ValueTask.FromResult(Evaluate(pending.Result, facts));
        }
        return AwaitAsync(pending, facts);

        async ValueTask<PolicyVerdict> AwaitAsync(ValueTask<CompiledPolicy?> policy, AccessFacts f) => Evaluate(await policy, f);
    }

    private PolicyVerdict Evaluate(CompiledPolicy? policy, AccessFacts facts)
    {
        if (policy is null)
        {
            return new PolicyVerdict(false, "This silo cannot confirm the active policy version with the policy store; failing closed.") { Unavailable = true };
        }
        var request = CedarRequestBuilder.Build(facts, _options.RiskTierOf(facts.Resource.Type, facts.Action));
        var response = policy.Authorizer.IsAuthorized(request.Request, request.Entities);
        var version = policy.Version;
        if (response.BudgetExceeded)
        {
            LogEvaluationError(logger, version, "(all)", "evaluation budget exceeded");
            return new PolicyVerdict(false, $"Policy version {version} could not be evaluated within the evaluation budget of {_options.EvaluationBudget} units ({GrantSiloPolicyOptions.SectionName}:{nameof(GrantSiloPolicyOptions.EvaluationBudget)}); failing closed.")
            {
                PolicyVersion = version,
            };
        }

        List<PolicyError>? blocking = null;
        foreach (var error in response.Errors)
        {
            if (error.Policy.Effect == PolicyEffect.Forbid || error.Policy.Annotations.ContainsKey(ObligationAnnotation))
            {
                (blocking ??= []).Add(error);
            }
        }
        if (blocking is not null)
        {
            LogEvaluationError(logger, version, blocking[0].PolicyId, blocking[0].Message);
            return new PolicyVerdict(false, $"Policy '{blocking[0].PolicyId}' (version {version}) could not be evaluated ({blocking[0].Message}); failing closed.")
            {
                PolicyVersion = version,
                DeterminingPolicies = [.. blocking.Select(e => e.PolicyId)],
            };
        }

        var determining = new string[response.DeterminingPolicies.Count];
        List<string>? approvals = null;
        for (var i = 0; i < determining.Length; i++)
        {
            var determiningPolicy = response.DeterminingPolicies[i];
            determining[i] = determiningPolicy.Id;
            if (determiningPolicy.Annotations.TryGetValue(ObligationAnnotation, out var obligation) && obligation == ApprovalObligation)
            {
                (approvals ??= []).Add(determiningPolicy.Id);
            }
        }
        if (response.Decision != CedarDecision.Allow)
        {
            var detail = determining.Length > 0
                ? $"Forbidden by policy {string.Join(", ", determining.Select(id => $"'{id}'"))} (version {version})."
                : $"No policy of version {version} permits {facts.Action} on {facts.Resource.Type}:{facts.Resource.Path}.";
            return new PolicyVerdict(false, detail) { PolicyVersion = version, DeterminingPolicies = determining };
        }
        if (approvals is null)
        {
            return new PolicyVerdict(true) { PolicyVersion = version, DeterminingPolicies = determining };
        }
        return new PolicyVerdict(true, $"Policy {string.Join(", ", approvals.Select(id => $"'{id}'"))} (version {version}) requires a person's approval.")
        {
            PolicyVersion = version,
            DeterminingPolicies = determining,
            ApprovalPolicies = [.. approvals],
        };
    }

    [LoggerMessage(EventId = (int)Diagnostics.LogEvents.PolicyEvaluationError, Level = LogLevel.Warning, Message = "Policy {PolicyId} of version {Version} raised an error and blocks the request: {Error}")]
    private static partial void LogEvaluationError(ILogger logger, long version, string policyId, string error);
}

/// <summary>
/// Builds the Cedar request for a decision from structured facts, without JSON: principal
/// <c>Agent::"&lt;workload id&gt;"</c> (attributes <c>owner</c>, <c>workloadId</c> and the registered ones; parents
/// <c>Group::"&lt;name&gt;"</c>), action <c>Action::"&lt;action&gt;"</c>, resource <c>Resource::"&lt;type&gt;:&lt;path&gt;"</c>
/// (attributes <c>type</c>, <c>path</c>, <c>classification</c>, <c>classificationLevel</c> and the caller's),
/// and a context of GrantSilo's facts. The task's purpose text is never among them.
/// </summary>
internal static class CedarRequestBuilder
{
    public const string AgentType = "Agent";
    public const string GroupType = "Group";
    public const string PersonType = "Person";
    public const string ActionType = "Action";
    public const string ResourceType = "Resource";

    private static readonly CedarValue[] ClassificationNames =
    [
        CedarValue.FromString("public"),
        CedarValue.FromString("internal"),
        CedarValue.FromString("confidential"),
        CedarValue.FromString("restricted"),
    ];

    // Principal entities built for an agent registration, kept while the registration object lives
    // (a warm credential holds it under its chain lease).
    private static readonly ConditionalWeakTable<object, Entity> Principals = [];

    // The person the task chain acts for, as the principal's parent (so `principal in Person::"..."`
    // and template links for a person apply to every agent working on that person's tasks).
    private static bool ActsFor(Entity principal, string rootPerson) =>
        principal.Parents.Count > 0 && principal.Parents[^1] is { Type: PersonType } person && person.Id == rootPerson;

    public static (AuthorizationRequest Request, EntityStore Entities) Build(AccessFacts facts, string riskTier)
    {
        Entity? principalEntity = null;
        if (facts.AgentKey is { } key && Principals.TryGetValue(key, out var cached) && cached.Uid.Id == facts.Agent && ActsFor(cached, facts.RootPerson))
        {
            principalEntity = cached;
        }
        if (principalEntity is null)
        {
            principalEntity = BuildPrincipal(facts);
            if (facts.AgentKey is { } newKey)
            {
                Principals.AddOrUpdate(newKey, principalEntity);
            }
        }
        var principal = principalEntity.Uid;

        var resource = facts.Resource;
        var resourceUid = new EntityUid(ResourceType, $"{resource.Type}:{resource.Path}");
        var level = (int)resource.Classification;
        var resourceAttributes = new List<KeyValuePair<string, CedarValue>>((resource.Attributes?.Count ?? 0) + 4)
        {
            new("type", CedarValue.FromString(resource.Type)),
            new("path", CedarValue.FromString(resource.Path)),
            new("classification", level >= 0 && level < ClassificationNames.Length ? ClassificationNames[level] : CedarValue.FromString(resource.Classification.ToString().ToLowerInvariant())),
            new("classificationLevel", CedarValue.FromLong(level)),
        };
        if (resource.Attributes is { } extra)
        {
            foreach (var (name, value) in extra)
            {
                resourceAttributes.Add(new(name, CedarValue.FromString(value)));
            }
        }

        var now = facts.Now.ToUniversalTime();
        var context = CedarValue.Record(
        [
            new("credentialId", CedarValue.FromString(facts.CredentialId)),
            new("taskId", CedarValue.FromString(facts.TaskId)),
            new("rootTaskId", CedarValue.FromString(facts.RootTaskId)),
            new("rootPerson", CedarValue.FromString(facts.RootPerson)),
            new("depth", CedarValue.FromLong(facts.DelegationDepth)),
            new("hourOfDay", CedarValue.FromLong(now.Hour)),
            new("dayOfWeek", CedarValue.FromLong((int)now.DayOfWeek)),
            new("now", CedarValue.Datetime(now)),
            new("sessionAgeSeconds", CedarValue.FromLong(Seconds(now - facts.SessionStartedAt))),
            new("credentialAgeSeconds", CedarValue.FromLong(Seconds(now - facts.CredentialIssuedAt))),
            new("riskTier", CedarValue.FromString(riskTier)),
        ]);

        var entities = new EntityStore(
        [
            principalEntity,
            new Entity(resourceUid, resourceAttributes),
        ]);
        return (new AuthorizationRequest(principal, new EntityUid(ActionType, facts.Action), resourceUid, context), entities);
    }

    private static Entity BuildPrincipal(AccessFacts facts)
    {
        var principal = new EntityUid(AgentType, facts.Agent);
        var agentAttributes = new List<KeyValuePair<string, CedarValue>>(facts.AgentAttributes.Count + 2)
        {
            new("owner", new EntityUid(PersonType, facts.AgentOwner)),
            new("workloadId", CedarValue.FromString(facts.Agent)),
        };
        foreach (var (name, value) in facts.AgentAttributes)
        {
            agentAttributes.Add(new(name, CedarValue.FromString(value)));
        }
        var groups = new EntityUid[facts.AgentGroups.Count + 1];
        for (var i = 0; i < facts.AgentGroups.Count; i++)
        {
            groups[i] = new EntityUid(GroupType, facts.AgentGroups[i]);
        }
        groups[^1] = new EntityUid(PersonType, facts.RootPerson);

        return new Entity(principal, agentAttributes, groups);
    }

    private static long Seconds(TimeSpan span) => span <= TimeSpan.Zero ? 0 : (long)span.TotalSeconds;
}
