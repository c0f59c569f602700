namespace GrantSilo.Grains.Sessions;

/// <summary>
/// The durable record of a session grain: small and of bounded size, so ending a session (one write of this record)
/// never depends on how many credentials it issued. Those live in <see cref="SessionIndexState"/>.
/// </summary>
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
    /// <summary>Legacy (state written before the index): moved to <see cref="SessionIndexState"/> on activation.</summary>
    [Id(8)] public Dictionary<string, SessionCredential> Credentials { get; set; } = [];
    /// <summary>Legacy: moved to <see cref="SessionIndexState"/> on activation.</summary>
    [Id(9)] public HashSet<string> PendingCredentials { get; set; } = [];

    /// <summary>True while legacy sets still wait to be moved to the index.</summary>
    internal bool HasLegacySets => Credentials.Count + PendingCredentials.Count > 0;
}

/// <summary>
/// A session's index, beside its record: its live credentials with the task each is for. While the session is
/// active they count against its quota; once it has ended, they are what its cascade has still to end.
/// </summary>
[GenerateSerializer, Alias("grantsilo.session-index")]
public sealed class SessionIndexState
{
    [Id(0)] public Dictionary<string, SessionCredential> Credentials { get; set; } = [];
}
