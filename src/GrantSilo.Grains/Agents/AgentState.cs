namespace GrantSilo.Grains.Agents;

/// <summary>The durable state of an agent grain.</summary>
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
    [Id(7)] public HashSet<string> Tasks { get; set; } = [];
    [Id(8)] public HashSet<string> Sessions { get; set; } = [];
    [Id(9)] public HashSet<string> PendingTasks { get; set; } = [];
    [Id(10)] public HashSet<string> PendingSessions { get; set; } = [];
    /// <summary>Registered attributes, read by policies as <c>principal.&lt;name&gt;</c>.</summary>
    [Id(11)] public Dictionary<string, string> Attributes { get; set; } = [];
    /// <summary>Registered groups (sorted), the principal's parents in policies.</summary>
    [Id(12)] public List<string> Groups { get; set; } = [];
}
