using System.ComponentModel.DataAnnotations;

namespace GrantSilo.Grains.Hosting;

/// <summary>Limits and defaults of the grant lifecycle. Bound from <c>GrantSilo:Lifecycle</c>.</summary>
public sealed class GrantSiloOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Lifecycle";

    /// <summary>The longest a credential may live (default 15 minutes).</summary>
    public TimeSpan MaxCredentialLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The longest a task may live (default 30 days).</summary>
    public TimeSpan MaxTaskLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The shortest checkpoint interval accepted (default 1 second).</summary>
    public TimeSpan MinCheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A session's idle timeout when the agent asks for none (default 30 minutes).</summary>
    public TimeSpan DefaultSessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A session's maximum lifetime when the agent asks for none (default 8 hours).</summary>
    public TimeSpan DefaultSessionMaxLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>The longest session lifetime accepted (default 24 hours).</summary>
    public TimeSpan MaxSessionLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How deep a delegation chain may grow; a root task has depth 0 (default 8).</summary>
    [Range(1, Scope.MaxDelegationDepth)]
    public int MaxDelegationDepth { get; set; } = 8;

    /// <summary>How many live (not ended) children one task may have (default 64).</summary>
    [Range(1, 10_000)]
    public int MaxChildrenPerTask { get; set; } = 64;

    // The quotas below bound the indexes a grain keeps beside its small status record (Azure Table entities
    // hold at most 960 KiB of state): their ranges keep the largest index well inside that.

    /// <summary>How many live tasks one agent may be assigned (default 1,000; at most 4,000).</summary>
    [Range(1, 4_000)]
    public int MaxLiveTasksPerAgent { get; set; } = 1_000;

    /// <summary>How many live sessions one agent may have open (default 1,000; at most 4,000).</summary>
    [Range(1, 4_000)]
    public int MaxLiveSessionsPerAgent { get; set; } = 1_000;

    /// <summary>How many live sessions may hold credentials for one task (default 1,000; at most 4,000).</summary>
    [Range(1, 4_000)]
    public int MaxLiveSessionsPerTask { get; set; } = 1_000;

    /// <summary>How many live credentials one session may hold (default 1,000; at most 4,000).</summary>
    [Range(1, 4_000)]
    public int MaxLiveCredentialsPerSession { get; set; } = 1_000;

    /// <summary>
    /// How many live credentials one agent may hold across all its sessions (default 10,000). Without it an agent could
    /// hold <see cref="MaxLiveSessionsPerAgent"/> × <see cref="MaxLiveCredentialsPerSession"/> (a million by default).
    /// Each session holds a share its agent records durably before the session uses it, so concurrent issuances in many
    /// sessions never exceed it together; a share comes back as the session's credentials expire or are revoked and when
    /// the session ends. Past it, issuance is refused (<see cref="GrantErrorCode.QuotaExceeded"/>, naming this setting).
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxLiveCredentialsPerAgent { get; set; } = 10_000;

    /// <summary>
    /// How many holders one agent, task or session keeps decision leases for (default 10,000). Past it, further
    /// holders get a zero-length lease: their decisions ask every time instead of relying on a lease.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxLeaseHoldersPerSource { get; set; } = 10_000;

    /// <summary>
    /// How many background cascade steps this silo runs at once (default 128): the steps of every task ended from above
    /// (each task below the one a caller revoked, completed or let expire). Ends are in force before they are
    /// acknowledged, so this bookkeeping can wait its turn while decisions keep the cores they need. A step keeps its
    /// slot at most 50 ms (one that waits longer goes on without it). The round a caller waits for, and retries, are
    /// not limited.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxConcurrentCascadeSteps { get; set; } = 128;

    /// <summary>How many approver subscriptions the approval hub keeps (default 1,000); new ones past it are refused.</summary>
    [Range(1, 100_000)]
    public int MaxApprovalSubscriptions { get; set; } = 1_000;

    /// <summary>
    /// How many undecided approvals the approval hub lists (default 10,000). Past it, new step-up requests are
    /// refused (the decision is a deny) until approvals are decided or time out.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxPendingApprovals { get; set; } = 10_000;

    /// <summary>
    /// How many of those undecided approvals one agent may have (default 100). Each step-up an agent's request meets
    /// records a new approval, so without a share of its own one agent (a prompt-injected one retrying in a loop) could
    /// fill <see cref="MaxPendingApprovals"/> and leave every other agent's step-ups denied. Past it, that agent's new
    /// step-up requests are refused (the decision is a deny) until some of its approvals are decided or time out.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxPendingApprovalsPerAgent { get; set; } = 100;

    /// <summary>
    /// How many refused calls per second the silo records one by one (default 100): a Warning line each, and an audit
    /// record each for the door's refusals. Refusals need no token and cost their caller nothing, so past this rate (and
    /// <see cref="RecordedRefusalsBurst"/>) calls are still refused but only counted, and the next recorded refusal says
    /// how many were not recorded (a line and an audit record), so neither log can be filled by a flood.
    /// </summary>
    [Range(1, 1_000_000)]
    public int RecordedRefusalsPerSecond { get; set; } = 100;

    /// <summary>How many refused calls the silo records one by one at once, above <see cref="RecordedRefusalsPerSecond"/> (default 1,000).</summary>
    [Range(1, 1_000_000)]
    public int RecordedRefusalsBurst { get; set; } = 1_000;

    /// <summary>
    /// How many pending cascades the cascade monitor lists (default 500; at most 800, its state being one entity).
    /// Past it, new reports are refused and logged; every pending cascade is still retried by its own reminder.
    /// </summary>
    [Range(1, 800)]
    public int MaxPendingCascadesListed { get; set; } = 500;

    /// <summary>
    /// The durable retry period of a failed cascade step: the lifecycle reminder's period (default 1 minute,
    /// the reminder minimum). It covers a retry across deactivations and silo crashes.
    /// </summary>
    public TimeSpan CascadeRetryInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How soon an active grain first retries a failed cascade step (default 1 second). Each further
    /// failure doubles the delay, up to <see cref="CascadeRetryInterval"/>; the reminder retries regardless.
    /// </summary>
    public TimeSpan CascadeFirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest purpose text recorded (default 4,096 characters).</summary>
    [Range(0, 65_536)]
    public int MaxPurposeLength { get; set; } = 4096;

    /// <summary>
    /// How long a credential may rely on its task chain's and session's answer before asking again
    /// (default 2 seconds; zero makes every decision ask). A revocation, completion, suspension or
    /// session end is still in force everywhere the moment it is acknowledged: the source tells every
    /// holder first, and waits at most this long for one it cannot reach. At most 30 seconds.
    /// </summary>
    public TimeSpan DecisionLeaseDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The largest rate difference between two silos' monotonic clocks GrantSilo's timing arguments allow
    /// for (1%; NTP slews a clock by at most 0.05%). A source outwaits a decision lease it cannot revoke
    /// for the lease plus twice this fraction of it (at least 5 ms).
    /// </summary>
    public const double MaxClockRateDifference = 0.01;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, value) in new[]
        {
            (nameof(MaxCredentialLifetime), MaxCredentialLifetime),
            (nameof(MaxTaskLifetime), MaxTaskLifetime),
            (nameof(MinCheckpointInterval), MinCheckpointInterval),
            (nameof(DefaultSessionIdleTimeout), DefaultSessionIdleTimeout),
            (nameof(DefaultSessionMaxLifetime), DefaultSessionMaxLifetime),
            (nameof(MaxSessionLifetime), MaxSessionLifetime),
            (nameof(CascadeRetryInterval), CascadeRetryInterval),
            (nameof(CascadeFirstRetryDelay), CascadeFirstRetryDelay),
        })
        {
            if (value <= TimeSpan.Zero)
            {
                yield return new ValidationResult($"{SectionName}:{name} must be a positive duration such as 00:15:00; it is {value}.", [name]);
            }
        }
        if (DefaultSessionMaxLifetime > MaxSessionLifetime)
        {
            yield return new ValidationResult($"{SectionName}:{nameof(DefaultSessionMaxLifetime)} ({DefaultSessionMaxLifetime}) exceeds {nameof(MaxSessionLifetime)} ({MaxSessionLifetime}); lower the default or raise the maximum.", [nameof(DefaultSessionMaxLifetime)]);
        }
        if (DecisionLeaseDuration < TimeSpan.Zero || DecisionLeaseDuration > TimeSpan.FromSeconds(30))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(DecisionLeaseDuration)} must be between 00:00:00 (off) and 00:00:30; it is {DecisionLeaseDuration}.", [nameof(DecisionLeaseDuration)]);
        }
        if (CascadeRetryInterval < TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(CascadeRetryInterval)} must be at least 00:01:00 (the Orleans reminder minimum).", [nameof(CascadeRetryInterval)]);
        }
        if (CascadeFirstRetryDelay > CascadeRetryInterval)
        {
            yield return new ValidationResult($"{SectionName}:{nameof(CascadeFirstRetryDelay)} ({CascadeFirstRetryDelay}) must not exceed {nameof(CascadeRetryInterval)} ({CascadeRetryInterval}).", [nameof(CascadeFirstRetryDelay)]);
        }
    }
}
