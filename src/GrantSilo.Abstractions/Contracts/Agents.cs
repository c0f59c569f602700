namespace GrantSilo;

/// <summary>Where an agent is in its life.</summary>
public enum AgentStatus
{
    /// <summary>May open sessions, be assigned tasks and act.</summary>
    Active = 0,
    /// <summary>Temporarily barred: everything it held has ended; it may be resumed.</summary>
    Suspended = 1,
    /// <summary>Permanently barred: everything it held has ended.</summary>
    Retired = 2,
}

/// <summary>Registers an agent under its workload identity.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.agent-registration")]
public sealed record AgentRegistration
{
    /// <summary>The accountable person who owns the agent (for example <c>person:alice@acme.dev</c>).</summary>
    [Id(0)] public required string Owner { get; init; }

    /// <summary>The most the agent may ever be granted; every task assigned to it lies within this scope.</summary>
    [Id(1)] public required Scope Ceiling { get; init; }

    /// <summary>A name for people to read; never used in decisions.</summary>
    [Id(2)] public string? DisplayName { get; init; }

    /// <summary>
    /// Facts about the agent that policies read as <c>principal.&lt;name&gt;</c> (for example
    /// <c>team = payments</c>). Names are lower-case identifiers (at most <see cref="MaxAttributes"/>,
    /// not <c>owner</c> or <c>workloadId</c>); values are canonical text up to 256 characters.
    /// </summary>
    [Id(3)] public IReadOnlyDictionary<string, string>? Attributes { get; init; }

    /// <summary>
    /// Groups the agent belongs to; policies test them as <c>principal in Group::"&lt;name&gt;"</c>.
    /// Names are lower-case identifiers (<c>a-z 0-9 . - _</c>), at most <see cref="MaxGroups"/>.
    /// </summary>
    [Id(4)] public IReadOnlyList<string>? Groups { get; init; }

    /// <summary>The most attributes an agent may carry.</summary>
    public const int MaxAttributes = 32;

    /// <summary>The most groups an agent may belong to.</summary>
    public const int MaxGroups = 32;
}

/// <summary>What GrantSilo knows about an agent.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.agent-info")]
public sealed record AgentInfo
{
    /// <summary>The workload id, for example <c>spiffe://acme.dev/agent/planner</c>.</summary>
    [Id(0)] public required string WorkloadId { get; init; }
    /// <summary>The accountable owner.</summary>
    [Id(1)] public required string Owner { get; init; }
    /// <summary>The ceiling scope.</summary>
    [Id(2)] public required Scope Ceiling { get; init; }
    /// <summary>The current status.</summary>
    [Id(3)] public AgentStatus Status { get; init; }
    /// <summary>When the agent was registered.</summary>
    [Id(4)] public DateTimeOffset RegisteredAt { get; init; }
    /// <summary>When the status last changed.</summary>
    [Id(5)] public DateTimeOffset StatusChangedAt { get; init; }
    /// <summary>Why the status last changed.</summary>
    [Id(6)] public string? StatusReason { get; init; }
    /// <summary>The display name.</summary>
    [Id(7)] public string? DisplayName { get; init; }
    /// <summary>Tasks assigned to the agent that have not ended.</summary>
    [Id(8)] public int LiveTasks { get; init; }
    /// <summary>Sessions of the agent that have not ended.</summary>
    [Id(9)] public int LiveSessions { get; init; }
    /// <summary>Cascade steps (ending tasks and sessions) not yet confirmed; retried until done.</summary>
    [Id(10)] public int PendingCascade { get; init; }
    /// <summary>The registered attributes (canonical, sorted by name).</summary>
    [Id(11)] public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
    /// <summary>The registered groups (canonical, sorted, distinct).</summary>
    [Id(12)] public IReadOnlyList<string> Groups { get; init; } = [];
}
