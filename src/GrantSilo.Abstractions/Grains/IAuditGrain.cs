namespace GrantSilo.GrainInterfaces;

/// <summary>
/// The audit log, read: queries, lineage, verification and the published checkpoint keys (docs/audit.md). Key: 0.
/// Every method is the <see cref="CallerOperations.AuditRead"/> operation (operators and auditors by the shipped
/// access rules).
/// </summary>
[Alias("grantsilo.IAuditGrain")]
public interface IAuditGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// One page of the records matching <paramref name="query"/>, in stream order. Pass the page's continuation
    /// token back to read on; on the last page it is the place to follow from (new records appear after it).
    /// </summary>
    [Alias("Query"), CallerOperation(CallerOperations.AuditRead)]
    Task<GrantResult<Page<AuditEntry>>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>A decision and the lifecycle records of everything it rested on.</summary>
    [Alias("Lineage"), CallerOperation(CallerOperations.AuditRead)]
    Task<GrantResult<AuditLineage>> GetLineageAsync(string decisionId, CancellationToken cancellationToken = default);

    /// <summary>Verifies every stream's hash chain and signed checkpoints; reports the first broken link and the last checkpoint.</summary>
    [Alias("Verify"), CallerOperation(CallerOperations.AuditRead)]
    Task<GrantResult<AuditVerification>> VerifyAsync(CancellationToken cancellationToken = default);

    /// <summary>The public keys that sign checkpoints (the current key first).</summary>
    [Alias("Keys"), CallerOperation(CallerOperations.AuditRead)]
    Task<IReadOnlyList<AuditSigningKey>> GetSigningKeysAsync(CancellationToken cancellationToken = default);
}
