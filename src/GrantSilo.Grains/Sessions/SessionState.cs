namespace GrantSilo.Grains.Sessions;

/// <summary>The durable state of a session grain.</summary>
[GenerateSerializer, Alias("grantsilo.session-state")]
public sealed class SessionState
{
    [Id(0)] public string Agent { get; set; } = "";
    [Id(1)] public DateTimeOffset StartedAt { get; set; }
    [Id(2)] public TimeSpan IdleTimeout { get; set; }
    [Id(3)] public TimeSpan MaxLifetime { get; set; }
    /// <summary>Last activity as last written; activity since then is kept in memory.</summary>
    [Id(4)] public DateTimeOffset LastActivityAt { get; set; }
    [Id(5)] public SessionStatus Status { get; set; }
    [Id(6)] public string? StatusReason { get; set; }
    [Id(7)] public DateTimeOffset? EndedAt { get; set; }
    /// <summary>Live credentials issued in the session, with the task each is for.</summary>
    [Id(8)] public Dictionary<string, SessionCredential> Credentials { get; set; } = [];
    [Id(9)] public HashSet<string> PendingCredentials { get; set; } = [];
}
