using Orleans.Concurrency;

namespace GrantSilo.Grains.Sessions;

// The session protocol between grains. Not part of the client surface.

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

/// <summary>What a session tells a credential being checked.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.session-check")]
internal readonly record struct SessionCheck([property: Id(0)] bool Usable, [property: Id(1)] DateTimeOffset StartedAt);

/// <summary>Everything an agent hands the session it opens.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.session-spec")]
internal sealed record SessionSpec
{
    [Id(0)] public required string Agent { get; init; }
    [Id(1)] public required TimeSpan IdleTimeout { get; init; }
    [Id(2)] public required TimeSpan MaxLifetime { get; init; }
}

/// <summary>Part of a session's credentials, for a listing that spans sessions.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.credential-scan")]
internal sealed record CredentialScan
{
    /// <summary>The live credentials among those scanned.</summary>
    [Id(0)] public IReadOnlyList<CredentialInfo> Items { get; init; } = [];
    /// <summary>The last credential id scanned (live or not), where the next scan starts.</summary>
    [Id(1)] public string? LastScanned { get; init; }
    /// <summary>True when credentials after <see cref="LastScanned"/> remain.</summary>
    [Id(2)] public bool More { get; init; }
    /// <summary>How many credentials were scanned, live or not.</summary>
    [Id(3)] public int Scanned { get; init; }
}

/// <summary>A live credential as its session tracks it.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.session-credential")]
public sealed record SessionCredential([property: Id(0)] string TaskId, [property: Id(1)] DateTimeOffset ExpiresAt);

/// <summary>Grain-to-grain operations on sessions.</summary>
[Alias("grantsilo.ISessionLifecycleGrain")]
internal interface ISessionLifecycleGrain : IGrainWithStringKey
{
    /// <summary>Creates the session its agent opened (the agent has recorded it first).</summary>
    [Alias("Initialize")]
    Task<GrantResult<SessionInfo>> InitializeAsync(SessionSpec spec);

    /// <summary>
    /// Up to <paramref name="max"/> of the session's credentials after <paramref name="afterId"/> (ordinal), only
    /// those for <paramref name="taskId"/> when it is given; ended ones are scanned but not returned.
    /// </summary>
    [AlwaysInterleave, Alias("ScanCredentials")]
    Task<GrantResult<CredentialScan>> ScanCredentialsAsync(string? taskId, string? afterId, int max);

    /// <summary>Whether the session is usable now; counts as activity.</summary>
    [AlwaysInterleave, Alias("Check")]
    Task<SessionCheck> CheckAsync();

    /// <summary>Whether the session is usable now, leased to <paramref name="holder"/> (a credential); counts as activity.</summary>
    [AlwaysInterleave, Alias("Lease")]
    Task<SessionLease> LeaseAsync(GrainId holder);

    /// <summary>
    /// Shrinks this session's share of <see cref="Hosting.GrantSiloOptions.MaxLiveCredentialsPerAgent"/> to what it holds
    /// (its credentials not yet expired, and one being issued) and answers that: the agent asks when another of its
    /// sessions found no share left. Interleaved, and it calls nothing, so an agent that asks while this session waits
    /// on it is never held up.
    /// </summary>
    [AlwaysInterleave, Alias("GiveBackCredentialAllowance")]
    Task<int> GiveBackCredentialAllowanceAsync();

    /// <summary>Ends the session because its agent ended. Idempotent.</summary>
    [Alias("EndFromAgent")]
    Task EndFromAgentAsync(string reason);

    /// <summary>
    /// Ends every credential this session issued for a task that ended (without saying how: kept for silos
    /// of an earlier version). Idempotent; throws if a step failed (the task retries).
    /// </summary>
    [Alias("EndTaskCredentials")]
    Task EndTaskCredentialsAsync(string taskId, string reason);

    /// <summary>
    /// Ends every credential this session issued for a task that ended, with the decision reason that says
    /// how it ended (<see cref="DecisionReason.TaskCompleted"/>, <see cref="DecisionReason.TaskRevoked"/> or
    /// <see cref="DecisionReason.TaskExpired"/>). Idempotent; throws if a step failed (the task retries). Kept for
    /// tasks on silos of an earlier version: a task now ends its credentials itself (<see cref="CredentialsOfTaskAsync"/>,
    /// <see cref="CredentialsEndedAsync"/>), so the waits for their ends are not queued in this one activation.
    /// </summary>
    [Alias("EndCredentialsOfTask")]
    Task EndCredentialsOfTaskAsync(string taskId, DecisionReason cause, string reason);

    /// <summary>
    /// The ids of the credentials this session issued for <paramref name="taskId"/> and still lists, for a task that
    /// ended and ends them itself. Not interleaved: an issuance in progress (which holds the session's turn) has
    /// finished, and its credential is listed, before this answers.
    /// </summary>
    [Alias("CredentialsOfTask")]
    Task<string[]> CredentialsOfTaskAsync(string taskId);

    /// <summary>
    /// Forgets credentials whose ends are durable (a task's cascade ended them); the index is written once for
    /// the calls queued together. Idempotent.
    /// </summary>
    [Alias("CredentialsEnded")]
    Task CredentialsEndedAsync(string[] credentialIds);

    /// <summary>Forgets a credential that ended on its own (expiry or direct revocation).</summary>
    [OneWay, Alias("CredentialEnded")]
    Task CredentialEndedAsync(string credentialId);
}
