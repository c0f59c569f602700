using GrantSilo.Grains.Access;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Audit;

/// <summary>
/// Records a grain's lifecycle events (docs/audit.md): each names the authenticated caller who acted, when there is one
/// (a cascade, a tick or another grain acts for nobody outside and names its cause instead). The operation it records has
/// already been made durable and stands: a record that misses the bound stays queued and is written when the store returns
/// (only a record refused by a full queue is lost, and that is logged as an error).
/// </summary>
internal sealed partial class LifecycleAudit(IAuditTrail trail, TimeProvider time, string silo, ILogger logger, string grainKind)
{
    /// <summary>Records a <paramref name="kind"/> event, described by <paramref name="describe"/>.</summary>
    public async Task RecordAsync(AuditEventKind kind, Func<AuditRecord, AuditRecord> describe)
    {
        var caller = CallerContext.Current;
        var record = describe(new AuditRecord
        {
            Id = AuditIds.New(time),
            Kind = kind,
            At = time.GetUtcNow(),
            Silo = silo,
            CallerIssuer = caller?.Issuer,
            CallerSubject = caller?.Subject,
            CallerName = caller?.Name,
        });
        try
        {
            await trail.RecordAsync(record, CancellationToken.None);
        }
        catch (AuditUnavailableException exception)
        {
            LogNotAudited(logger, grainKind, kind, record.Id, exception.Message);
        }
    }

    [LoggerMessage(EventId = 1306, Level = LogLevel.Error, Message = "A {GrainKind}'s {Event} record {RecordId} was not durable within the bound ({Problem}); it is written when the audit store returns unless the queue refused it.")]
    private static partial void LogNotAudited(ILogger logger, string grainKind, AuditEventKind @event, string recordId, string problem);
}
