namespace GrantSilo.Grains.Agents;

/// <summary>
/// The durable record of an agent grain: small and of bounded size, so suspending or retiring an agent (one write
/// of this record) never depends on how many tasks or sessions it has. Those live in <see cref="AgentIndexState"/>.
/// </summary>
[GenerateSerializer, Alias("grantsilo.agent-state")]
public sealed class AgentState
{
    [Id(0)] public string Owner { get; set; } = "";
    [Id(1)] public Scope Ceiling { get; set; } = Scope.Empty;
    [Id(2)] public string? DisplayName { get; set; }
    [Id(3)] public AgentStatus Status { get; set; }
    [Id(4)] public DateTimeOffset RegisteredAt { get; set; }
    [Id(5)] public DateTimeOffset StatusChangedAt { get; set; }
    [Id(6)] public string? StatusReason { get; set; }
    /// <summary>Legacy (state written before the index): moved to <see cref="AgentIndexState"/> on activation.</summary>
    [Id(7)] public HashSet<string> Tasks { get; set; } = [];
    /// <summary>Legacy: moved to <see cref="AgentIndexState"/> on activation.</summary>
    [Id(8)] public HashSet<string> Sessions { get; set; } = [];
    /// <summary>Legacy: moved to <see cref="AgentIndexState"/> on activation.</summary>
    [Id(9)] public HashSet<string> PendingTasks { get; set; } = [];
    /// <summary>Legacy: moved to <see cref="AgentIndexState"/> on activation.</summary>
    [Id(10)] public HashSet<string> PendingSessions { get; set; } = [];
    /// <summary>Registered attributes, read by policies as <c>principal.&lt;name&gt;</c>.</summary>
    [Id(11)] public Dictionary<string, string> Attributes { get; set; } = [];
    /// <summary>Registered groups (sorted), the principal's parents in policies.</summary>
    [Id(12)] public List<string> Groups { get; set; } = [];

    /// <summary>True while legacy sets still wait to be moved to the index.</summary>
    internal bool HasLegacySets => Tasks.Count + Sessions.Count + PendingTasks.Count + PendingSessions.Count > 0;
}

/// <summary>
/// An agent's index, beside its record: its tasks and sessions not known to have ended. While the agent is active
/// they count against its quotas; once it is suspended or retired, they are what its cascade has still to end.
/// </summary>
[GenerateSerializer, Alias("grantsilo.agent-index")]
public sealed class AgentIndexState
{
    [Id(0)] public HashSet<string> Tasks { get; set; } = [];
    [Id(1)] public HashSet<string> Sessions { get; set; } = [];

    /// <summary>
    /// How many live credentials each of its sessions may hold (<see cref="Hosting.GrantSiloOptions.MaxLiveCredentialsPerAgent"/>
    /// shared out): together never more than the limit. Only a session in <see cref="Sessions"/> counts.
    /// </summary>
    [Id(2)] public Dictionary<string, int> CredentialAllowances { get; set; } = [];
}
