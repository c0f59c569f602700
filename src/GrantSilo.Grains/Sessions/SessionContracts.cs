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

/// <summary>A live credential as its session tracks it.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.session-credential")]
public sealed record SessionCredential([property: Id(0)] string TaskId, [property: Id(1)] DateTimeOffset ExpiresAt);

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

    /// <summary>
    /// Ends every credential this session issued for a task that ended (without saying how: kept for silos
    /// of an earlier version). Idempotent; throws if a step failed (the task retries).
    /// </summary>
    [Alias("EndTaskCredentials")]
    Task EndTaskCredentialsAsync(string taskId, string reason);

    /// <summary>
    /// Ends every credential this session issued for a task that ended, with the decision reason that says
    /// how it ended (<see cref="DecisionReason.TaskCompleted"/>, <see cref="DecisionReason.TaskRevoked"/> or
    /// <see cref="DecisionReason.TaskExpired"/>). Idempotent; throws if a step failed (the task retries).
    /// </summary>
    [Alias("EndCredentialsOfTask")]
    Task EndCredentialsOfTaskAsync(string taskId, DecisionReason cause, string reason);

    /// <summary>Forgets a credential that ended on its own (expiry or direct revocation).</summary>
    [OneWay, Alias("CredentialEnded")]
    Task CredentialEndedAsync(string credentialId);
}
