namespace GrantSilo.GrainInterfaces;

/// <summary>A cascade step that has not yet been confirmed and is being retried.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.pending-cascade")]
public sealed record PendingCascade
{
    /// <summary>The grain kind that owns the cascade: task, session or agent.</summary>
    [Id(0)] public required string Kind { get; init; }
    [Id(1)] public required string Id { get; init; }
    [Id(2)] public int PendingSteps { get; init; }
    [Id(3)] public DateTimeOffset Since { get; init; }
}

/// <summary>
/// The cluster-wide list of cascades (ending descendants, sessions and credentials) that failed a
/// step and are being retried by reminders. Key: 0.
/// </summary>
[Alias("grantsilo.ICascadeMonitorGrain")]
public interface ICascadeMonitorGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Records (or updates) a pending cascade. A new one is refused with <see cref="GrantErrorCode.QuotaExceeded"/>
    /// while the list is full; its reminder still retries it.
    /// </summary>
    [Alias("Report")]
    Task<GrantResult<PendingCascade>> ReportAsync(PendingCascade pending);

    [Alias("Resolve")]
    Task ResolveAsync(string kind, string id);

    [Alias("List"), CallerOperation(CallerOperations.CascadeRead)]
    Task<IReadOnlyList<PendingCascade>> ListAsync(CancellationToken cancellationToken = default);
}
