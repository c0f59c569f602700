namespace GrantSilo;

/// <summary>Where a session is in its life.</summary>
public enum SessionStatus
{
    Active = 0,
    /// <summary>Ended on request or because its agent was suspended or retired.</summary>
    Ended = 1,
    /// <summary>Its maximum lifetime ran out or it was idle too long.</summary>
    Expired = 2,
}

/// <summary>An agent opens a session.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.open-session")]
public sealed record OpenSessionRequest
{
    /// <summary>The workload id of the agent.</summary>
    [Id(0)] public required string Agent { get; init; }
    /// <summary>
    /// The session ends after this long without activity (default <c>GrantSilo:Lifecycle:DefaultSessionIdleTimeout</c>);
    /// capped to the maximum lifetime, as <see cref="SessionInfo.IdleTimeout"/> reports.
    /// </summary>
    [Id(1)] public TimeSpan? IdleTimeout { get; init; }
    /// <summary>
    /// The session ends this long after it starts (default <c>GrantSilo:Lifecycle:DefaultSessionMaxLifetime</c>); at most
    /// <c>GrantSilo:Lifecycle:MaxSessionLifetime</c>, or refused with <see cref="GrantErrorCode.LifetimeInvalid"/>.
    /// </summary>
    [Id(2)] public TimeSpan? MaxLifetime { get; init; }
}

[GenerateSerializer, Immutable, Alias("grantsilo.session-info")]
public sealed record SessionInfo
{
    [Id(0)] public required string SessionId { get; init; }
    [Id(1)] public required string Agent { get; init; }
    [Id(2)] public DateTimeOffset StartedAt { get; init; }
    [Id(3)] public TimeSpan IdleTimeout { get; init; }
    [Id(4)] public TimeSpan MaxLifetime { get; init; }
    [Id(5)] public DateTimeOffset LastActivityAt { get; init; }
    [Id(6)] public SessionStatus Status { get; init; }
    [Id(7)] public string? StatusReason { get; init; }
    [Id(8)] public int LiveCredentials { get; init; }
    [Id(9)] public int PendingCascade { get; init; }
    /// <summary>When it ended: when it was ended, or for an expiry (maximum lifetime or idle timeout) the instant it expired, even if that was enacted later.</summary>
    [Id(10)] public DateTimeOffset? EndedAt { get; init; }
}
