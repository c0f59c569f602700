namespace GrantSilo.Grains.Tasks;

/// <summary>
/// The durable record of a task grain: small and of bounded size, so ending a task (one write of this record)
/// never depends on how many sessions or children it has. Those live in <see cref="TaskIndexState"/>.
/// </summary>
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
    /// <summary>Legacy (state written before the index): moved to <see cref="TaskIndexState"/> on activation.</summary>
    [Id(16)] public List<string> Children { get; set; } = [];
    /// <summary>Legacy: moved to <see cref="TaskIndexState"/> on activation.</summary>
    [Id(17)] public HashSet<string> Sessions { get; set; } = [];
    /// <summary>Legacy: moved to <see cref="TaskIndexState"/> on activation.</summary>
    [Id(18)] public HashSet<string> PendingChildren { get; set; } = [];
    /// <summary>Legacy: moved to <see cref="TaskIndexState"/> on activation.</summary>
    [Id(19)] public HashSet<string> PendingSessions { get; set; } = [];
    /// <summary>What the cascade tells descendants (why they end).</summary>
    [Id(20)] public string? CascadeReason { get; set; }
    /// <summary>The policy version the scope was last checked against (at re-authorization).</summary>
    [Id(21)] public long? PolicyVersionChecked { get; set; }

    /// <summary>True while legacy sets still wait to be moved to the index.</summary>
    internal bool HasLegacySets => Children.Count + Sessions.Count + PendingChildren.Count + PendingSessions.Count > 0;
}

/// <summary>
/// A task's index, beside its record: its children and the sessions that issued credentials for it. While the
/// task lives, ended entries are compacted away, so quotas count live ones; once it has ended, the entries its
/// cascade has not yet reached are its to-do list.
/// </summary>
[GenerateSerializer, Alias("grantsilo.task-index")]
public sealed class TaskIndexState
{
    /// <summary>Children in delegation order.</summary>
    [Id(0)] public List<TaskChild> Children { get; set; } = [];
    /// <summary>Sessions not known to have ended that issued credentials for the task; after its end, those still to reach.</summary>
    [Id(1)] public HashSet<string> Sessions { get; set; } = [];
}

/// <summary>A child task as its parent indexes it.</summary>
[GenerateSerializer, Alias("grantsilo.task-child")]
public sealed class TaskChild
{
    [Id(0)] public string TaskId { get; set; } = "";
    /// <summary>Set once the parent has ended and its cascade has recorded the end on this child.</summary>
    [Id(1)] public bool Reached { get; set; }
}
