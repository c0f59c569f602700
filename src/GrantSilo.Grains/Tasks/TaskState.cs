namespace GrantSilo.Grains.Tasks;

/// <summary>The durable state of a task grain.</summary>
[GenerateSerializer, Alias("grantsilo.task-state")]
public sealed class TaskState
{
    [Id(0)] public string RootPerson { get; set; } = "";
    [Id(1)] public string Orchestrator { get; set; } = "";
    [Id(2)] public string Agent { get; set; } = "";
    [Id(3)] public string? ParentTaskId { get; set; }
    [Id(4)] public string RootTaskId { get; set; } = "";
    /// <summary>Every ancestor, root first, so a chain check asks them all at once.</summary>
    [Id(5)] public List<string> Ancestors { get; set; } = [];
    [Id(6)] public int Depth { get; set; }
    /// <summary>The agents of every ancestor, root first: a suspended agent anywhere above stops the chain.</summary>
    [Id(22)] public List<string> AncestorAgents { get; set; } = [];
    [Id(7)] public Scope Scope { get; set; } = Scope.Empty;
    [Id(8)] public DateTimeOffset CreatedAt { get; set; }
    [Id(9)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(10)] public TimeSpan? CheckpointInterval { get; set; }
    [Id(11)] public DateTimeOffset? CheckpointDueAt { get; set; }
    /// <summary>Recorded for people; never read by any decision.</summary>
    [Id(12)] public string? Purpose { get; set; }
    [Id(13)] public GrantTaskStatus Status { get; set; }
    [Id(14)] public string? StatusReason { get; set; }
    [Id(15)] public DateTimeOffset? EndedAt { get; set; }
    [Id(16)] public List<string> Children { get; set; } = [];
    /// <summary>Sessions that have issued credentials for the task; on the task's end each ends those credentials.</summary>
    [Id(17)] public HashSet<string> Sessions { get; set; } = [];
    [Id(18)] public HashSet<string> PendingChildren { get; set; } = [];
    [Id(19)] public HashSet<string> PendingSessions { get; set; } = [];
    /// <summary>What the cascade tells descendants (why they end).</summary>
    [Id(20)] public string? CascadeReason { get; set; }
    /// <summary>The policy version the scope was last checked against (at re-authorization).</summary>
    [Id(21)] public long? PolicyVersionChecked { get; set; }
}
