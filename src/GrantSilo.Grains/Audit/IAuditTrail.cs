namespace GrantSilo.Grains.Audit;

/// <summary>
/// Where every decision and lifecycle event is recorded. <see cref="RecordAsync"/> completes once the record is durable;
/// when it cannot be made durable within the bound (<see cref="AuditOptions.DurableWithin"/>) it throws
/// <see cref="AuditUnavailableException"/>: a decision is then a deny, and nothing acknowledged is lost.
/// </summary>
public interface IAuditTrail
{
    /// <summary>Records <paramref name="record"/> and waits (bounded) until it is durable.</summary>
    ValueTask RecordAsync(AuditRecord record, CancellationToken cancellationToken);
}

/// <summary>Records that nothing waits for.</summary>
public static class AuditTrailExtensions
{
    /// <summary>
    /// Records <paramref name="record"/> without waiting for it: for refusals, which must never hold up the door or the
    /// gateway. A record the trail cannot take (the store unavailable, the queue full) is dropped; the journal logs it.
    /// </summary>
    public static void RecordDetached(this IAuditTrail trail, AuditRecord record)
    {
        _ = RecordAsync(trail, record);

        static async Task RecordAsync(IAuditTrail trail, AuditRecord record)
        {
            try
            {
                await trail.RecordAsync(record, CancellationToken.None).ConfigureAwait(false);
            }
            catch (AuditUnavailableException)
            {
                // Logged by the journal; the refusal itself stands.
            }
        }
    }
}

/// <summary>A record could not be made durable within the bound: the store is unavailable or stalled, or the queue is full.</summary>
public sealed class AuditUnavailableException : Exception
{
    public AuditUnavailableException()
    {
    }

    public AuditUnavailableException(string message) : base(message)
    {
    }

    public AuditUnavailableException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>Audit turned off (<see cref="AuditOptions.Enabled"/> false): records are dropped. For measurements only.</summary>
public sealed class UnauditedTrail : IAuditTrail
{
    /// <inheritdoc />
    public ValueTask RecordAsync(AuditRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
