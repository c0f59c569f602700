using System.ComponentModel.DataAnnotations;

namespace GrantSilo.Grains.Policies;

/// <summary>Policy evaluation, publication and step-up approvals. Bound from <c>GrantSilo:Policy</c>.</summary>
public sealed class GrantSiloPolicyOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Policy";

    /// <summary>
    /// The tier of an action the map does not name (default <c>high</c>: an action nobody rated is treated as the
    /// riskiest, so the default policy asks a person's approval for it).
    /// </summary>
    [Required]
    public string DefaultRiskTier { get; set; } = "high";

    /// <summary>
    /// Action → risk tier, read by policies as <c>context.riskTier</c>. Keys are an action
    /// (<c>delete</c>) or a resource type and action joined by <c>/</c> (<c>secret/read</c>, as <c>:</c> separates configuration sections); the more specific key wins.
    /// Configured entries are added to (or replace) the defaults: <c>low</c> for read, list, get,
    /// search, view and describe; <c>medium</c> for write, create, update and comment; <c>high</c> for
    /// delete, export, deploy, admin, and <c>secret/read</c>, <c>secret/list</c>, <c>secret/write</c>.
    /// </summary>
    public Dictionary<string, string> RiskTiers { get; set; } = new(StringComparer.Ordinal)
    {
        ["read"] = "low",
        ["list"] = "low",
        ["get"] = "low",
        ["search"] = "low",
        ["view"] = "low",
        ["describe"] = "low",
        ["write"] = "medium",
        ["create"] = "medium",
        ["update"] = "medium",
        ["comment"] = "medium",
        ["delete"] = "high",
        ["export"] = "high",
        ["deploy"] = "high",
        ["admin"] = "high",
        ["secret/read"] = "high",
        ["secret/list"] = "high",
        ["secret/write"] = "high",
    };

    /// <summary>How long a step-up approval waits for a decision and, once approved, for its use (default 10 minutes).</summary>
    public TimeSpan ApprovalLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often each silo confirms the active policy version with the policy store (default 5 seconds).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a silo may decide with a version after it last confirmed it with the store (default
    /// 20 seconds). A silo that cannot confirm within this time confirms on the next decision, and
    /// denies if it cannot. It also bounds how long a publish waits for a silo that does not answer.
    /// </summary>
    public TimeSpan ConfirmationLease { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a publish waits for one silo to install a new version before falling back to its lease (default 5 seconds).</summary>
    public TimeSpan PublishAckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest policy text accepted, in characters (default 262,144). The active text is part of
    /// the policy store's state, so keep it well within the grain storage's state size limit.
    /// </summary>
    [Range(1, 512 * 1024)]
    public int MaxPolicyTextLength { get; set; } = 256 * 1024;

    /// <summary>The most policies (templates and links included) one published set may hold (default 1,000).</summary>
    [Range(1, 100_000)]
    public int MaxPolicies { get; set; } = 1000;

    /// <summary>The longest one policy's text may be, in characters (default 10,000).</summary>
    [Range(1, 512 * 1024)]
    public int MaxPolicyLength { get; set; } = 10_000;

    /// <summary>The most expression nodes one policy may have (default 500).</summary>
    [Range(1, 100_000)]
    public int MaxExpressionNodes { get; set; } = 500;

    /// <summary>
    /// The highest estimated cost of one policy, in evaluation units (default 2,000): one per expression node,
    /// more for <c>like</c> (by pattern length), <c>in</c> and set operations.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxPolicyCost { get; set; } = 2_000;

    /// <summary>The highest estimated cost of the whole published set, in evaluation units (default 200,000).</summary>
    [Range(1, long.MaxValue)]
    public long MaxPolicySetCost { get; set; } = 200_000;

    /// <summary>
    /// The most one decision may spend, in evaluation units plus the length of every string matched by
    /// <c>like</c> (default 100,000); a decision that would spend more is denied, failing closed.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long EvaluationBudget { get; set; } = 100_000;

    /// <summary>The engine's limits for a published set, from these options.</summary>
    public GrantSilo.Cedar.PolicyLimits Limits => new()
    {
        MaxPolicies = MaxPolicies,
        MaxPolicyLength = MaxPolicyLength,
        MaxExpressionNodes = MaxExpressionNodes,
        MaxPolicyCost = MaxPolicyCost,
        MaxTotalCost = MaxPolicySetCost,
    };

    /// <summary>The configuration key of an engine limit (a <see cref="GrantSilo.Cedar.PolicyLimits"/> property name).</summary>
    public static string KeyOf(string limit) => $"{SectionName}:{(limit == nameof(GrantSilo.Cedar.PolicyLimits.MaxTotalCost) ? nameof(MaxPolicySetCost) : limit)}";

    /// <summary>The tier of <paramref name="action"/> on a resource of type <paramref name="resourceType"/>.</summary>
    public string RiskTierOf(string resourceType, string action) =>
        RiskTiers.TryGetValue($"{resourceType}/{action}", out var specific) ? specific
        : RiskTiers.TryGetValue(action, out var general) ? general
        : DefaultRiskTier;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, value) in new[]
        {
            (nameof(ApprovalLifetime), ApprovalLifetime),
            (nameof(RefreshInterval), RefreshInterval),
            (nameof(ConfirmationLease), ConfirmationLease),
            (nameof(PublishAckTimeout), PublishAckTimeout),
        })
        {
            if (value <= TimeSpan.Zero)
            {
                yield return new ValidationResult($"{SectionName}:{name} must be a positive duration such as 00:00:05; it is {value}.", [name]);
            }
        }
        if (RefreshInterval >= ConfirmationLease)
        {
            yield return new ValidationResult($"{SectionName}:{nameof(RefreshInterval)} ({RefreshInterval}) must be shorter than {nameof(ConfirmationLease)} ({ConfirmationLease}), or silos would let their confirmation lapse between refreshes.", [nameof(RefreshInterval)]);
        }
        foreach (var (key, tier) in RiskTiers)
        {
            if (string.IsNullOrWhiteSpace(key) || string.IsNullOrWhiteSpace(tier))
            {
                yield return new ValidationResult($"{SectionName}:{nameof(RiskTiers)} has an empty key or tier ('{key}' = '{tier}'); write entries such as \"delete\": \"high\" or \"secret/read\": \"high\".", [nameof(RiskTiers)]);
            }
        }
    }
}
