using GrantSilo.Grains.Leases;
using Orleans.Concurrency;

namespace GrantSilo.Grains.Tasks;

// The task protocol between grains: what a task leases to its descendants and credentials, and what a parent hands a child. Not part of the client surface.

/// <summary>Whether a task (and its chain) is usable now, and the facts a decision needs from it.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.chain-check")]
internal sealed record ChainCheck
{
    [Id(0)] public bool Usable { get; init; }
    /// <summary>Why not, as a decision reason; <see cref="DecisionReason.Allowed"/> when usable.</summary>
    [Id(1)] public DecisionReason Reason { get; init; }
    /// <summary>The task that is not usable (this one or an ancestor).</summary>
    [Id(2)] public string? BlockingTaskId { get; init; }
    [Id(3)] public string RootPerson { get; init; } = "";
    [Id(4)] public string RootTaskId { get; init; } = "";
    [Id(5)] public int Depth { get; init; }
    [Id(6)] public string Agent { get; init; } = "";
    /// <summary>The task's ancestors, root first (for the audit record's lineage).</summary>
    [Id(7)] public IReadOnlyList<string> Ancestors { get; init; } = [];
    /// <summary>The orchestrator that created the root task.</summary>
    [Id(8)] public string Orchestrator { get; init; } = "";

    public static ChainCheck Missing(string taskId) =>
        new() { Usable = false, Reason = DecisionReason.TaskRevoked, BlockingTaskId = taskId };

    /// <summary>
    /// A sentence for a denial or refusal: which task is not usable and why, and, at a checkpoint, what
    /// to do next and who may do it.
    /// </summary>
    public string Explain()
    {
        var task = Untrusted.Id(BlockingTaskId);
        return Reason == DecisionReason.TaskAwaitingReauthorization
            ? $"Task '{task}' is paused at its checkpoint until it is re-authorized: call ReauthorizeTaskAsync(\"{task}\"), a fresh check against current policy. " +
              $"The task's person{(RootPerson.Length > 0 ? $" ({RootPerson})" : "")} or an orchestrator acting for them may call it."
            : $"Task '{task}' is not usable ({Reason}).";
    }
}

/// <summary>
/// A task's answer with a decision lease: for <see cref="Lease"/> (on the lease clock) the holder may
/// rely on <see cref="Check"/> as long as the validity clock is before <see cref="UsableUntil"/> (the
/// earliest expiry or checkpoint along the chain). A zero lease, or an unusable answer, is good for
/// this decision only.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.task-lease")]
internal sealed record TaskLease
{
    [Id(0)] public required ChainCheck Check { get; init; }
    [Id(1)] public DateTimeOffset UsableUntil { get; init; }
    [Id(2)] public TimeSpan Lease { get; init; }
    /// <summary>The task's own agent (for a chain lease): the principal of the holder's decisions.</summary>
    [Id(3)] public AgentInfo? Agent { get; init; }
}

/// <summary>Everything a parent hands a new child task.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.child-task-spec")]
internal sealed record ChildTaskSpec
{
    [Id(0)] public required string ParentTaskId { get; init; }
    [Id(1)] public required string RootTaskId { get; init; }
    [Id(2)] public required IReadOnlyList<string> Ancestors { get; init; }
    [Id(3)] public required string RootPerson { get; init; }
    [Id(4)] public required string Orchestrator { get; init; }
    [Id(5)] public required string Agent { get; init; }
    [Id(6)] public required Scope Scope { get; init; }
    [Id(7)] public required DateTimeOffset ExpiresAt { get; init; }
    [Id(8)] public TimeSpan? CheckpointInterval { get; init; }
    [Id(9)] public string? Purpose { get; init; }
    [Id(10)] public int Depth { get; init; }
    /// <summary>The agents of every ancestor, root first.</summary>
    [Id(11)] public IReadOnlyList<string> AncestorAgents { get; init; } = [];
}

/// <summary>
/// A task's own facts, for a grain that must not take a spec's word for them: a credential being created
/// for the task, or a child being created below it. Says whether the task exists and is usable itself
/// (not its ancestors), and whether <see cref="ChildListed"/>: the task has recorded the child asked about.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.task-facts")]
internal sealed record TaskFacts
{
    [Id(0)] public bool Exists { get; init; }
    [Id(1)] public required ChainCheck Self { get; init; }
    [Id(2)] public string Agent { get; init; } = "";
    [Id(3)] public Scope Scope { get; init; } = Scope.Empty;
    [Id(4)] public DateTimeOffset ExpiresAt { get; init; }
    [Id(5)] public int Depth { get; init; }
    [Id(6)] public string RootPerson { get; init; } = "";
    [Id(7)] public string RootTaskId { get; init; } = "";
    [Id(8)] public string Orchestrator { get; init; } = "";
    [Id(9)] public IReadOnlyList<string> Ancestors { get; init; } = [];
    [Id(10)] public IReadOnlyList<string> AncestorAgents { get; init; } = [];
    [Id(11)] public bool ChildListed { get; init; }
}

/// <summary>Grain-to-grain operations on tasks; not part of the client surface.</summary>
[Alias("grantsilo.ITaskLifecycleGrain")]
internal interface ITaskLifecycleGrain : ILeaseHolderGrain
{
    /// <summary>
    /// This task's own status now (no ancestors), leased to <paramref name="holder"/> (a descendant
    /// task). Interleaves so chain checks never wait on a busy task.
    /// </summary>
    [AlwaysInterleave, Alias("LeaseSelf")]
    Task<TaskLease> LeaseSelfAsync(GrainId holder);

    /// <summary>
    /// This task's status, every ancestor's and every agent's along the chain (its own included),
    /// leased to <paramref name="holder"/> (a credential of this task), with the task's agent.
    /// </summary>
    [AlwaysInterleave, Alias("LeaseChain")]
    Task<TaskLease> LeaseChainAsync(GrainId holder);

    /// <summary>
    /// This task's own facts and whether it has recorded <paramref name="childId"/> as its child (null: no child
    /// asked about). Interleaves: a parent asks it while it is creating that very child.
    /// </summary>
    [AlwaysInterleave, Alias("GetFacts")]
    Task<TaskFacts> GetFactsAsync(string? childId);

    /// <summary>
    /// Creates the child its parent delegated. The spec is checked, never trusted: against the parent's own
    /// facts (it must have recorded this child, and the child must lie within it), the child agent's ceiling
    /// and the configured limits; a refusal creates nothing.
    /// </summary>
    [Alias("InitializeChild")]
    Task<GrantResult<TaskInfo>> InitializeChildAsync(ChildTaskSpec spec);

    /// <summary>Ends the task because an ancestor or its agent ended. Idempotent.</summary>
    [Alias("EndFromAbove")]
    Task EndFromAboveAsync(GrantTaskStatus cause, string reason);

    /// <summary>
    /// Checks that the task is assigned to <paramref name="agent"/> and usable, and records (once)
    /// that <paramref name="sessionId"/> issues credentials for it. Interleaves, so issuance never
    /// waits on a task busy with delegation or a cascade.
    /// </summary>
    [AlwaysInterleave, Alias("AttachSession")]
    Task<GrantResult<TaskInfo>> AttachSessionAsync(string sessionId, string agent);

    /// <summary>
    /// As <see cref="AttachSessionAsync"/>, answering with the task's facts (its ancestors included), which the
    /// session hands on to the credential it creates, so the credential need not ask the task again.
    /// </summary>
    [AlwaysInterleave, Alias("AttachIssuingSession")]
    Task<GrantResult<TaskFacts>> AttachIssuingSessionAsync(string sessionId, string agent);

    /// <summary>A session that issued credentials for this task has ended: it no longer counts as one of its live sessions.</summary>
    [OneWay, Alias("SessionEnded")]
    Task SessionEndedAsync(string sessionId);
}
