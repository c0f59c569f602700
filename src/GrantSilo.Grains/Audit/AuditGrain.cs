using Orleans.Concurrency;

namespace GrantSilo.Grains.Audit;

/// <summary>The audit log, read, on whichever silo the call lands (it reads the store; it holds nothing).</summary>
[StatelessWorker]
internal sealed class AuditGrain(AuditReader reader, AuditKeys keys) : Grain, IAuditGrain
{
    public Task<GrantResult<Page<AuditEntry>>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) =>
        query is null
            ? Task.FromResult(GrantResult<Page<AuditEntry>>.Fail(GrantErrorCode.InvalidArgument, "A query is required."))
            : Guarded(() => reader.QueryAsync(query, cancellationToken));

    public Task<GrantResult<AuditLineage>> GetLineageAsync(string decisionId, CancellationToken cancellationToken) =>
        Guarded(() => reader.LineageAsync(decisionId, cancellationToken));

    public async Task<GrantResult<AuditVerification>> VerifyAsync(CancellationToken cancellationToken) =>
        await Guarded(async () => GrantResult<AuditVerification>.Ok(await reader.VerifyAsync(cancellationToken)));

    public Task<IReadOnlyList<AuditSigningKey>> GetSigningKeysAsync(CancellationToken cancellationToken) => Task.FromResult(keys.Published);

    // A store that cannot be read is a typed Unavailable, never an exception that names the store's internals.
    private static async Task<GrantResult<T>> Guarded<T>(Func<Task<GrantResult<T>>> read)
    {
        try
        {
            return await read();
        }
        catch (AuditStoreException e)
        {
            return GrantResult<T>.Fail(e.Unreadable ? GrantErrorCode.InvalidState : GrantErrorCode.Unavailable,
                e.Unreadable ? $"The audit log cannot be read whole ({e.Message}); run verify to find the damage." : "The audit store is unavailable; retry.");
        }
    }
}
