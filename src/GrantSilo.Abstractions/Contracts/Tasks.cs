namespace GrantSilo;

/// <summary>Where a task is in its life. Completed, Revoked and Expired are terminal and absorb.</summary>
public enum GrantTaskStatus
{
    /// <summary>Usable, within its lifetime and checkpoint.</summary>
    Active = 0,
    /// <summary>Its checkpoint interval elapsed; unusable until someone re-authorizes it.</summary>
    AwaitingReauthorization = 1,
    /// <summary>Finished by its agent or orchestrator.</summary>
    Completed = 2,
    /// <summary>Revoked, directly or because an ancestor or its agent ended.</summary>
    Revoked = 3,
    /// <summary>Its lifetime ran out.</summary>
    Expired = 4,
}

/// <summary>An orchestrator creates a root task for a person.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.create-task")]
public sealed record CreateTaskRequest
{
    /// <summary>The accountable person the task is done for; carried unchanged to every descendant.</summary>
    [Id(0)] public required string Person { get; init; }
    /// <summary>
    /// The orchestrator creating the task: the authenticated caller, recorded as such. Leave it empty to
    /// record the caller; a different name is refused (<see cref="GrantErrorCode.Forbidden"/>).
    /// </summary>
    [Id(1)] public string? Orchestrator { get; init; }
    /// <summary>The workload id of the agent assigned to the task.</summary>
    [Id(2)] public required string Agent { get; init; }
    /// <summary>The task's scope; must lie within the agent's ceiling.</summary>
    [Id(3)] public required Scope Scope { get; init; }
    /// <summary>How long the task lives: positive and at most <c>GrantSilo:Lifecycle:MaxTaskLifetime</c>, or refused with <see cref="GrantErrorCode.LifetimeInvalid"/>.</summary>
    [Id(4)] public required TimeSpan Lifetime { get; init; }
    /// <summary>If set, the task pauses for re-authorization each time this interval elapses.</summary>
    [Id(5)] public TimeSpan? CheckpointInterval { get; init; }
    /// <summary>
    /// What the task is for, for people to read. Recorded (trimmed, NFC), never an input to a decision. It
    /// is shown to people, so it follows the rules of reason texts: no control characters (line feeds,
    /// tabs, BEL), no bidi or zero-width characters, at most <c>GrantSilo:Lifecycle:MaxPurposeLength</c>
    /// characters; anything else is refused with <see cref="GrantErrorCode.InvalidArgument"/>.
    /// </summary>
    [Id(6)] public string? Purpose { get; init; }
}

/// <summary>The agent of a task delegates part of it to another agent.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.delegation-request")]
public sealed record DelegationRequest
{
    /// <summary>A live credential token of the parent task, proving the caller is its agent in a live session.</summary>
    [Id(0)] public required string ProofToken { get; init; }
    /// <summary>The workload id of the agent the child task is assigned to.</summary>
    [Id(1)] public required string Agent { get; init; }
    /// <summary>The child's scope: within the parent's and the child agent's ceiling, or the request is rejected.</summary>
    [Id(2)] public required Scope Scope { get; init; }
    /// <summary>
    /// How long the child lives: positive and at most <c>GrantSilo:Lifecycle:MaxTaskLifetime</c>, or refused
    /// with <see cref="GrantErrorCode.LifetimeInvalid"/>. A child never outlives its parent: a longer lifetime
    /// is capped to the parent's end, and <see cref="TaskInfo.ExpiresAt"/> of the child says when it ends.
    /// </summary>
    [Id(3)] public required TimeSpan Lifetime { get; init; }
    /// <summary>Optional checkpoint interval of the child.</summary>
    [Id(4)] public TimeSpan? CheckpointInterval { get; init; }
    /// <summary>What the child is for. Recorded, never evaluated; the same text rules as <see cref="CreateTaskRequest.Purpose"/>.</summary>
    [Id(5)] public string? Purpose { get; init; }
    /// <summary>
    /// How the proof token came (its DPoP proof, method and URL): required when the proof credential is bound to a key
    /// (<c>cnf.jkt</c>), or the delegation is refused with <see cref="GrantErrorCode.InvalidProof"/>.
    /// </summary>
    [Id(6)] public TokenPresentation? ProofPresentation { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"DelegationRequest {{ ProofToken = {CredentialToken.Redact(ProofToken)}, Agent = {Agent}, Scope = {Scope}, Lifetime = {Lifetime} }}";
}

/// <summary>What GrantSilo knows about a task.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.task-info")]
public sealed record TaskInfo
{
    [Id(0)] public required string TaskId { get; init; }
    /// <summary>The accountable person, the same for every task in the tree.</summary>
    [Id(1)] public required string RootPerson { get; init; }
    [Id(2)] public required string Orchestrator { get; init; }
    /// <summary>The workload id of the assigned agent.</summary>
    [Id(3)] public required string Agent { get; init; }
    [Id(4)] public string? ParentTaskId { get; init; }
    [Id(5)] public required string RootTaskId { get; init; }
    /// <summary>0 for a root task, 1 for its children, and so on.</summary>
    [Id(6)] public int Depth { get; init; }
    [Id(7)] public required Scope Scope { get; init; }
    [Id(8)] public DateTimeOffset CreatedAt { get; init; }
    [Id(9)] public DateTimeOffset ExpiresAt { get; init; }
    [Id(10)] public TimeSpan? CheckpointInterval { get; init; }
    /// <summary>When the current checkpoint interval ends, if the task has one.</summary>
    [Id(11)] public DateTimeOffset? CheckpointDueAt { get; init; }
    /// <summary>The purpose text as recorded (never evaluated).</summary>
    [Id(12)] public string? Purpose { get; init; }
    /// <summary>The status as of <see cref="ObservedAt"/> (expiry and checkpoints are applied even before a tick enacts them).</summary>
    [Id(13)] public GrantTaskStatus Status { get; init; }
    [Id(14)] public string? StatusReason { get; init; }
    /// <summary>When it ended: when it was completed or revoked, or for an expiry the instant it expired (<see cref="ExpiresAt"/>), even if that was enacted later.</summary>
    [Id(15)] public DateTimeOffset? EndedAt { get; init; }
    /// <summary>
    /// The children in delegation order: while the task lives, those not known to have ended (ended ones are
    /// dropped when the fan-out limit is reached); once it has ended, those it had then.
    /// </summary>
    [Id(16)] public IReadOnlyList<string> Children { get; init; } = [];
    /// <summary>Cascade steps (ending children and credentials) not yet confirmed; retried until done.</summary>
    [Id(17)] public int PendingCascade { get; init; }
    [Id(18)] public DateTimeOffset ObservedAt { get; init; }
    /// <summary>The policy version the task's scope was last checked against (at re-authorization); null before the first re-authorization.</summary>
    [Id(19)] public long? PolicyVersionChecked { get; init; }
    /// <summary>The agents of every ancestor task, root first: the delegation chain above <see cref="Agent"/>.</summary>
    [Id(20)] public IReadOnlyList<string> AncestorAgents { get; init; } = [];

    /// <summary>True for Completed, Revoked and Expired.</summary>
    public bool IsTerminal => Status is GrantTaskStatus.Completed or GrantTaskStatus.Revoked or GrantTaskStatus.Expired;
}

/// <summary>A task and its descendants: who delegated what to whom, with states.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.task-tree")]
public sealed record TaskTreeNode
{
    [Id(0)] public required TaskInfo Task { get; init; }
    [Id(1)] public IReadOnlyList<TaskTreeNode> Children { get; init; } = [];

    /// <summary>This node and every descendant, depth first.</summary>
    public IEnumerable<TaskTreeNode> DescendantsAndSelf()
    {
        yield return this;
        foreach (var child in Children)
        {
            foreach (var node in child.DescendantsAndSelf())
            {
                yield return node;
            }
        }
    }
}
