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
internal interface ITaskLifecycleGrain : IGrainWithStringKey
{
    /// <summary>This task's own status now (no ancestors). Interleaves so chain checks never wait on a busy task.</summary>
    [AlwaysInterleave, Alias("CheckSelf")]
    Task<ChainCheck> CheckSelfAsync();

    /// <summary>
    /// This task's status, every ancestor's, and the status of every agent along the chain (this
    /// task's own agent only when <paramref name="includeOwnAgent"/>; a credential checks that one
    /// itself), all asked in parallel.
    /// </summary>
    [AlwaysInterleave, Alias("CheckChain")]
    Task<ChainCheck> CheckChainAsync(bool includeOwnAgent);

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
internal interface ICredentialLifecycleGrain : IGrainWithStringKey
{
    [Alias("Initialize")]
    Task<GrantResult<CredentialInfo>> InitializeAsync(CredentialSpec spec);

    /// <summary>Checks a delegation proof: the secret matches and the credential is live.</summary>
    [AlwaysInterleave, Alias("VerifyProof")]
    Task<ProofCheck> VerifyProofAsync(byte[] secret);

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
