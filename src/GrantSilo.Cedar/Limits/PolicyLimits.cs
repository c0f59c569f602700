using GrantSilo.Cedar.Limits;

namespace GrantSilo.Cedar;

/// <summary>
/// Bounds on what a policy set may contain, so that no published set can make each decision slow. Check a set with
/// <see cref="Check"/> before accepting it; every exceeded limit is reported by name. Costs are in the units of
/// <see cref="Policy.Cost"/>, the same units <see cref="AuthorizerOptions.EvaluationBudget"/> charges.
/// </summary>
public sealed record PolicyLimits
{
    /// <summary>Limits generous for hand-written policy sets yet small enough to keep every decision fast.</summary>
    public static PolicyLimits Default { get; } = new();

    /// <summary>The most policies (static, templates and links) in one set.</summary>
    public int MaxPolicies { get; init; } = 10_000;

    /// <summary>The longest policy text, in characters.</summary>
    public int MaxPolicyLength { get; init; } = 10_000;

    /// <summary>The most expression nodes in one policy's conditions.</summary>
    public int MaxExpressionNodes { get; init; } = 500;

    /// <summary>The highest estimated cost of one policy.</summary>
    public long MaxPolicyCost { get; init; } = 2_000;

    /// <summary>The highest estimated cost of the whole set (what the worst request could cost to evaluate).</summary>
    public long MaxTotalCost { get; init; } = 200_000;

    /// <summary>Every limit the set exceeds; empty when it is within all of them.</summary>
    public IReadOnlyList<LimitViolation> Check(PolicySet policySet)
    {
        ArgumentNullException.ThrowIfNull(policySet);
        var violations = new List<LimitViolation>();
        var all = policySet.Policies.Concat(policySet.Templates).ToList();
        if (all.Count > MaxPolicies)
        {
            violations.Add(new LimitViolation(null, nameof(MaxPolicies), all.Count, MaxPolicies, $"the set has {all.Count} policies; at most {MaxPolicies} are allowed"));
        }

        long total = 0;
        foreach (var p in all)
        {
            if (p.Text.Length > MaxPolicyLength)
            {
                violations.Add(new LimitViolation(p.Id, nameof(MaxPolicyLength), p.Text.Length, MaxPolicyLength, $"policy {p.Id} is {p.Text.Length} characters long; at most {MaxPolicyLength} are allowed"));
            }

            if (p.ExpressionNodes > MaxExpressionNodes)
            {
                violations.Add(new LimitViolation(p.Id, nameof(MaxExpressionNodes), p.ExpressionNodes, MaxExpressionNodes, $"policy {p.Id} has {p.ExpressionNodes} expression nodes; at most {MaxExpressionNodes} are allowed; split it into smaller policies"));
            }

            if (p.Cost > MaxPolicyCost)
            {
                violations.Add(new LimitViolation(p.Id, nameof(MaxPolicyCost), p.Cost, MaxPolicyCost, $"policy {p.Id} has an estimated cost of {p.Cost}; at most {MaxPolicyCost} is allowed (`like` patterns, `in` and set operations cost most)"));
            }

            if (p.TemplateId is null)
            {
                total += p.Cost;
            }
        }

        if (total > MaxTotalCost)
        {
            violations.Add(new LimitViolation(null, nameof(MaxTotalCost), total, MaxTotalCost, $"the set has an estimated cost of {total} per decision; at most {MaxTotalCost} is allowed"));
        }

        return violations;
    }
}

/// <summary>A limit a policy set exceeds.</summary>
/// <param name="PolicyId">The policy, or null for a limit on the whole set.</param>
/// <param name="Limit">The limit's name (a property of <see cref="PolicyLimits"/>), for programs and refusals.</param>
/// <param name="Actual">The value found.</param>
/// <param name="Maximum">The limit.</param>
/// <param name="Message">What is over and what is allowed.</param>
public sealed record LimitViolation(string? PolicyId, string Limit, long Actual, long Maximum, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Message;
}

/// <summary>Options of an <see cref="Authorizer"/>.</summary>
public sealed record AuthorizerOptions
{
    /// <summary>No budget: every policy is evaluated, as in Cedar.</summary>
    public static AuthorizerOptions Default { get; } = new();

    /// <summary>
    /// The most a decision may cost, in <see cref="Policy.Cost"/> units plus the length of every string matched by
    /// <c>like</c>. A decision that would exceed it stops and is denied (fail-closed), with
    /// <see cref="AuthorizationResponse.BudgetExceeded"/> set and an error on the policy where it stopped.
    /// Null (the default) means no budget.
    /// </summary>
    public long? EvaluationBudget { get; init; }
}
