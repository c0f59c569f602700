using GrantSilo.Grains.Leases;
using Orleans.Concurrency;

namespace GrantSilo.Grains;

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

    public static ChainCheck Missing(string taskId) =>
        new() { Usable = false, Reason = DecisionReason.TaskRevoked, BlockingTaskId = taskId };
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

/// <summary>An agent's answer with a decision lease.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.agent-lease")]
internal sealed record AgentLease([property: Id(0)] GrantResult<AgentInfo> Agent, [property: Id(1)] TimeSpan Lease);

/// <summary>
/// A session's answer with a decision lease. The session counted the request as activity at
/// <see cref="ActivityAt"/>; the holder asks again well before the idle deadline so that activity keeps
/// reaching the session.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.session-lease")]
internal readonly record struct SessionLease(
    [property: Id(0)] bool Usable,
    [property: Id(1)] DateTimeOffset StartedAt,
    [property: Id(2)] DateTimeOffset UsableUntil,
    [property: Id(3)] DateTimeOffset ActivityAt,
    [property: Id(4)] TimeSpan IdleTimeout,
    [property: Id(5)] TimeSpan Lease);

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

/// <summary>A live credential as its session tracks it.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.session-credential")]
public sealed record SessionCredential([property: Id(0)] string TaskId, [property: Id(1)] DateTimeOffset ExpiresAt);

/// <summary>What a session tells a credential being checked.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.session-check")]
internal readonly record struct SessionCheck([property: Id(0)] bool Usable, [property: Id(1)] DateTimeOffset StartedAt);

/// <summary>Everything a session hands a new credential.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.credential-spec")]
internal sealed record CredentialSpec
{
    [Id(0)] public required string TaskId { get; init; }
    [Id(1)] public required string Agent { get; init; }
    [Id(2)] public required string SessionId { get; init; }
    [Id(3)] public required Scope Scope { get; init; }
    [Id(4)] public required DateTimeOffset IssuedAt { get; init; }
    [Id(5)] public required DateTimeOffset ExpiresAt { get; init; }
    [Id(6)] public required byte[] SecretHash { get; init; }
}

/// <summary>The facts a proof credential vouches for.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.proof")]
internal sealed record ProofCheck
{
    [Id(0)] public bool Valid { get; init; }
    [Id(1)] public string? Detail { get; init; }
    [Id(2)] public string? TaskId { get; init; }
    [Id(3)] public string? Agent { get; init; }
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
}

/// <summary>Grain-to-grain operations on sessions.</summary>
[Alias("grantsilo.ISessionLifecycleGrain")]
internal interface ISessionLifecycleGrain : IGrainWithStringKey
{
    /// <summary>Whether the session is usable now; counts as activity.</summary>
    [AlwaysInterleave, Alias("Check")]
    Task<SessionCheck> CheckAsync();

    /// <summary>Whether the session is usable now, leased to <paramref name="holder"/> (a credential); counts as activity.</summary>
    [AlwaysInterleave, Alias("Lease")]
    Task<SessionLease> LeaseAsync(GrainId holder);

    /// <summary>Ends the session because its agent ended. Idempotent.</summary>
    [Alias("EndFromAgent")]
    Task EndFromAgentAsync(string reason);

    /// <summary>Ends every credential this session issued for a task that ended. Idempotent; throws if a step failed (the task retries).</summary>
    [Alias("EndTaskCredentials")]
    Task EndTaskCredentialsAsync(string taskId, string reason);

    /// <summary>Forgets a credential that ended on its own (expiry or direct revocation).</summary>
    [OneWay, Alias("CredentialEnded")]
    Task CredentialEndedAsync(string credentialId);
}

/// <summary>Grain-to-grain operations on credentials.</summary>
[Alias("grantsilo.ICredentialLifecycleGrain")]
internal interface ICredentialLifecycleGrain : ILeaseHolderGrain
{
    [Alias("Initialize")]
    Task<GrantResult<CredentialInfo>> InitializeAsync(CredentialSpec spec);

    /// <summary>Checks a delegation proof: the secret matches and the credential is live.</summary>
    [AlwaysInterleave, Alias("VerifyProof")]
    Task<ProofCheck> VerifyProofAsync([Immutable] byte[] secret);

    /// <summary>Marks the credential expired if its time has passed (its session's reminder calls this). Idempotent.</summary>
    [Alias("EnactExpiry")]
    Task EnactExpiryAsync();

    /// <summary>Ends the credential because its task or session ended. Idempotent; a no-op for an unknown id.</summary>
    [Alias("EndFromAbove")]
    Task EndFromAboveAsync(string reason);
}

/// <summary>Grain-to-grain operations on agents.</summary>
[Alias("grantsilo.IAgentLifecycleGrain")]
internal interface IAgentLifecycleGrain : IGrainWithStringKey
{
    /// <summary>The agent's registration if it is active; an error otherwise.</summary>
    [AlwaysInterleave, Alias("GetActive")]
    Task<GrantResult<AgentInfo>> GetActiveAsync();

    /// <summary>The agent's registration if it is active, leased to <paramref name="holder"/> (a task of a chain it is on).</summary>
    [AlwaysInterleave, Alias("Lease")]
    Task<AgentLease> LeaseAsync(GrainId holder);

    /// <summary>Records a task assigned to the agent. One-way so task creation never waits on a busy agent; a task arriving after suspension is ended at once.</summary>
    [OneWay, Alias("TrackTask")]
    Task TrackTaskAsync(string taskId);

    /// <summary>Records a session of the agent; fails if the agent is not active.</summary>
    [Alias("TrackSession")]
    Task<GrantResult<AgentInfo>> TrackSessionAsync(string sessionId);

    /// <summary>Forgets a task or session that ended.</summary>
    [OneWay, Alias("Untrack")]
    Task UntrackAsync(string kind, string id);
}
