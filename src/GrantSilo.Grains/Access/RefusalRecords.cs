using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Access;

/// <summary>
/// How many refused calls the silo records one by one: the door's refusals (a Warning line and an audit record each) and
/// the key check's (a Warning line). A refusal costs its caller nothing, needs no token, and reaches the silo at the
/// gateway's pace, so unbounded it would let anyone fill the silo's log and the audit log (which is never pruned). A token
/// bucket on the grant clock: <see cref="GrantSiloOptions.RecordedRefusalsPerSecond"/>, up to
/// <see cref="GrantSiloOptions.RecordedRefusalsBurst"/> at once. Past it every call is still refused, only not recorded
/// one by one; the next refusal that is recorded says how many were not (a line, logged here, and for the door an audit
/// record of its own).
/// </summary>
internal sealed partial class RefusalRecords(IOptions<GrantSiloOptions> options, [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider clock, ILogger<RefusalRecords> logger)
{
    private readonly Lock _lock = new();
    private bool _started;
    private double _tokens;
    private DateTimeOffset _refilled;
    private long _unrecorded;

    /// <summary>
    /// Whether this refusal is recorded one by one. When it is, <paramref name="unrecorded"/> is how many were not since
    /// the last one that was, and a line saying so has been logged; when it is not, the refusal is counted among them.
    /// </summary>
    public bool TryRecord(out long unrecorded)
    {
        if (!TryTake(out unrecorded))
        {
            return false;
        }
        if (unrecorded > 0)
        {
            LogUnrecorded(logger, Unrecorded(unrecorded));
        }
        return true;
    }

    private bool TryTake(out long unrecorded)
    {
        var limits = options.Value;
        var now = clock.GetUtcNow();
        lock (_lock)
        {
            if (!_started)
            {
                _started = true;
                _tokens = limits.RecordedRefusalsBurst;
            }
            else if (now > _refilled)
            {
                _tokens = Math.Min(limits.RecordedRefusalsBurst, _tokens + (now - _refilled).TotalSeconds * limits.RecordedRefusalsPerSecond);
            }
            _refilled = now > _refilled ? now : _refilled;
            if (_tokens >= 1)
            {
                _tokens -= 1;
                unrecorded = _unrecorded;
                _unrecorded = 0;
                return true;
            }
            _unrecorded++;
            unrecorded = 0;
            return false;
        }
    }

    /// <summary>What a count of unrecorded refusals is called in a line or an audit record.</summary>
    public static string Unrecorded(long count) =>
        $"{count} further refused calls were not recorded one by one: more arrived than GrantSilo:Lifecycle:{nameof(GrantSiloOptions.RecordedRefusalsPerSecond)} ({nameof(GrantSiloOptions.RecordedRefusalsBurst)} at once) lets the silo record";

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning, Message = "{Detail}.")]
    private static partial void LogUnrecorded(ILogger logger, string detail);
}
