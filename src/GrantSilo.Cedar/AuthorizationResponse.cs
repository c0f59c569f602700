namespace GrantSilo.Cedar;

/// <summary>The outcome of an authorization request.</summary>
public enum Decision
{
    /// <summary>No satisfied forbid policy and at least one satisfied permit policy.</summary>
    Allow,
    /// <summary>A forbid policy was satisfied, or no permit policy was (default deny).</summary>
    Deny,
}

/// <summary>A policy whose evaluation raised an error; it was skipped (treated as not satisfied).</summary>
/// <param name="Policy">The policy.</param>
/// <param name="Message">What went wrong, for a person to read.</param>
public sealed record PolicyError(Policy Policy, string Message)
{
    /// <summary>The id of the erroring policy.</summary>
    public string PolicyId => Policy.Id;
}

/// <summary>
/// The decision with its diagnostics: the determining policies (the satisfied forbids when denied by a forbid,
/// the satisfied permits when allowed, none for default deny) and every policy that raised an error.
/// </summary>
public sealed class AuthorizationResponse
{
    internal AuthorizationResponse(Decision decision, IReadOnlyList<Policy> determiningPolicies, IReadOnlyList<PolicyError> errors, bool budgetExceeded = false)
    {
        Decision = decision;
        DeterminingPolicies = determiningPolicies;
        Errors = errors;
        BudgetExceeded = budgetExceeded;
    }

    /// <summary>True when the decision was stopped and denied because it exceeded <see cref="AuthorizerOptions.EvaluationBudget"/>.</summary>
    public bool BudgetExceeded { get; }

    /// <summary>Allow or Deny.</summary>
    public Decision Decision { get; }

    /// <summary>True when <see cref="Decision"/> is <see cref="Decision.Allow"/>.</summary>
    public bool IsAllowed => Decision == Decision.Allow;

    /// <summary>The policies that determined the decision, in policy-set order; read their <see cref="Policy.Annotations"/> for obligations.</summary>
    public IReadOnlyList<Policy> DeterminingPolicies { get; }

    /// <summary>The ids of <see cref="DeterminingPolicies"/>.</summary>
    public IEnumerable<string> DeterminingPolicyIds => DeterminingPolicies.Select(p => p.Id);

    /// <summary>Policies whose evaluation failed, in policy-set order.</summary>
    public IReadOnlyList<PolicyError> Errors { get; }

    /// <summary>The ids of the policies in <see cref="Errors"/>.</summary>
    public IEnumerable<string> ErroringPolicyIds => Errors.Select(e => e.PolicyId);

    /// <summary>For logs: <c>Allow [policy0, policy3] errors [policy2]</c>.</summary>
    public override string ToString() =>
        $"{Decision} [{string.Join(", ", DeterminingPolicyIds)}]" + (Errors.Count == 0 ? string.Empty : $" errors [{string.Join(", ", ErroringPolicyIds)}]");
}
