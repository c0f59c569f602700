using GrantSilo.Cedar.Evaluation;

namespace GrantSilo.Cedar;

/// <summary>
/// Evaluates requests against a compiled <see cref="PolicySet"/> with Cedar's semantics: every policy is evaluated,
/// a policy that errors is skipped and reported, forbid overrides permit, and the default is deny.
/// Thread-safe; create one per policy set and reuse it.
/// </summary>
public sealed class Authorizer
{
    private readonly Policy[] _permits;
    private readonly Policy[] _forbids;
    private readonly Dictionary<Policy, int> _order;
    private readonly long? _budget;

    /// <summary>Creates an authorizer for a policy set.</summary>
    public Authorizer(PolicySet policySet)
        : this(policySet, AuthorizerOptions.Default)
    {
    }

    /// <summary>Creates an authorizer for a policy set, with options (an evaluation budget).</summary>
    public Authorizer(PolicySet policySet, AuthorizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(policySet);
        ArgumentNullException.ThrowIfNull(options);
        PolicySet = policySet;
        _budget = options.EvaluationBudget;
        _permits = [.. policySet.Policies.Where(p => p.Effect == PolicyEffect.Permit)];
        _forbids = [.. policySet.Policies.Where(p => p.Effect == PolicyEffect.Forbid)];
        _order = policySet.Policies.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i);
    }

    /// <summary>The policy set this authorizer evaluates.</summary>
    public PolicySet PolicySet { get; }

    /// <summary>Decides a request against the given entities.</summary>
    public AuthorizationResponse IsAuthorized(AuthorizationRequest request, EntityStore entities)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(entities);
        var ctx = new EvalContext(request.Principal, request.Action, request.Resource, request.ContextRecord, entities);
        var budgeted = _budget is not null;
        if (_budget is { } budget)
        {
            ctx.Remaining = budget;
        }

        // With a budget, each policy's cost is charged before it is evaluated (and `like` its input); exceeding it
        // stops evaluation and denies, even when a permit was already satisfied: fail-closed.
        List<PolicyError>? errors = null;
        Policy? stoppedAt = null;
        var forbids = Evaluate(_forbids, ctx, budgeted, ref errors, ref stoppedAt);
        var permits = stoppedAt is null ? Evaluate(_permits, ctx, budgeted, ref errors, ref stoppedAt) : [];
        if (stoppedAt is not null)
        {
            errors ??= [];
            errors.Add(new PolicyError(stoppedAt, $"evaluation budget of {_budget} exceeded at this policy; the decision is denied"));
        }

        if (errors is { Count: > 1 })
        {
            errors.Sort((a, b) => _order[a.Policy].CompareTo(_order[b.Policy]));
        }

        IReadOnlyList<PolicyError> errorList = errors is null ? [] : errors;
        return stoppedAt is not null
            ? new AuthorizationResponse(Decision.Deny, [], errorList, budgetExceeded: true)
            : forbids.Count > 0
                ? new AuthorizationResponse(Decision.Deny, forbids, errorList)
                : permits.Count > 0
                    ? new AuthorizationResponse(Decision.Allow, permits, errorList)
                    : new AuthorizationResponse(Decision.Deny, [], errorList);
    }

    private static IReadOnlyList<Policy> Evaluate(Policy[] policies, EvalContext ctx, bool budgeted, ref List<PolicyError>? errors, ref Policy? stoppedAt)
    {
        List<Policy>? satisfied = null;
        Policy? single = null;
        foreach (var policy in policies)
        {
            if (budgeted && (ctx.Remaining -= policy.Cost) < 0)
            {
                stoppedAt = policy;
                return [];
            }

            ctx.Error = null;
            var result = policy.Evaluate(ctx);
            if (budgeted && ctx.Remaining < 0)
            {
                stoppedAt = policy;
                return [];
            }

            if (result is null)
            {
                errors ??= [];
                errors.Add(new PolicyError(policy, ctx.Error ?? "evaluation error"));
            }
            else if (result.Value)
            {
                if (single is null)
                {
                    single = policy;
                }
                else
                {
                    satisfied ??= [single];
                    satisfied.Add(policy);
                }
            }
        }

        return satisfied is not null ? satisfied : single is not null ? [single] : [];
    }
}
