namespace GrantSilo.Grains.Access;

/// <summary>
/// What the access rules may know of a call's target: who it belongs to, never its contents. A target
/// that does not exist has no relations, so a caller without a role-based right is refused the same way
/// whether or not it exists.
/// </summary>
internal sealed record TargetFacts
{
    public required string Kind { get; init; }
    public required string Id { get; init; }
    public bool Exists { get; init; }
    /// <summary>The person the target's task chain acts for.</summary>
    public string? Person { get; init; }
    /// <summary>The orchestrator that created the target's root task.</summary>
    public string? Orchestrator { get; init; }
    /// <summary>The agent the target belongs to (the agent itself, a task's assignee, a session's or credential's agent).</summary>
    public string? Agent { get; init; }
    /// <summary>The agents above the target's task in its chain, root first.</summary>
    public IReadOnlyList<string> Chain { get; init; } = [];
}

/// <summary>A grain the access rules can describe: the facts are read on the grain's own turn, without a call.</summary>
internal interface IAccessTarget
{
    TargetFacts AccessFacts { get; }
}
