using System.Diagnostics.Metrics;

namespace GrantSilo.Grains.Diagnostics;

/// <summary>GrantSilo's metrics (meter <c>GrantSilo</c>), exported through OpenTelemetry by the host.</summary>
public static class GrantSiloMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "GrantSilo";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Decisions made, tagged with <c>kind</c> and <c>reason</c>.</summary>
    public static readonly Counter<long> Decisions = Meter.CreateCounter<long>("grantsilo.decisions", description: "Authorization decisions made.");

    // The tags of every kind and reason, boxed once: a decision records its count without allocating.
    private static readonly Dictionary<DecisionKind, KeyValuePair<string, object?>> KindTags =
        Enum.GetValues<DecisionKind>().ToDictionary(k => k, k => new KeyValuePair<string, object?>("kind", k));

    private static readonly Dictionary<DecisionReason, KeyValuePair<string, object?>> ReasonTags =
        Enum.GetValues<DecisionReason>().ToDictionary(r => r, r => new KeyValuePair<string, object?>("reason", r));

    /// <summary>Counts one decision under its kind and reason.</summary>
    public static void RecordDecision(Decision decision)
    {
        if (Decisions.Enabled)
        {
            Decisions.Add(1,
                KindTags.TryGetValue(decision.Kind, out var kind) ? kind : new("kind", decision.Kind),
                ReasonTags.TryGetValue(decision.Reason, out var reason) ? reason : new("reason", decision.Reason));
        }
    }

    /// <summary>
    /// Client connections the gateway closed because a message frame was refused before Orleans read it (too deep,
    /// malformed, or out of the size bounds), tagged with <c>refusal</c>.
    /// </summary>
    public static readonly Counter<long> GatewayFramesRefused = Meter.CreateCounter<long>("grantsilo.gateway.frames.refused", description: "Client connections closed for a refused message frame.");

    /// <summary>Credentials issued.</summary>
    public static readonly Counter<long> CredentialsIssued = Meter.CreateCounter<long>("grantsilo.credentials.issued");

    /// <summary>Tasks created, tagged with <c>kind</c> (root or delegated).</summary>
    public static readonly Counter<long> TasksCreated = Meter.CreateCounter<long>("grantsilo.tasks.created");

    /// <summary>
    /// How long an end (revoke, complete, suspend, end session) waited for the decision-lease holders it told to drop
    /// their leases, or for the leases to run out, before it was acknowledged.
    /// </summary>
    public static readonly Histogram<double> LeaseRevocationWait = Meter.CreateHistogram<double>("grantsilo.leases.revocation.wait", unit: "s", description: "How long an end waited for decision-lease holders before it was acknowledged.");

    private static int _pendingApprovals;

    /// <summary>Step-up approvals waiting for a person, as the approval hub knows them (reported by the silo hosting the hub).</summary>
    public static readonly ObservableGauge<int> PendingApprovals = Meter.CreateObservableGauge("grantsilo.approvals.pending", () => Volatile.Read(ref _pendingApprovals), description: "Step-up approvals waiting for a person.");

    internal static void SetPendingApprovals(int count) => Volatile.Write(ref _pendingApprovals, count);

    private static long _pendingCascades;

    /// <summary>
    /// Grains in this silo with a cascade step that failed and awaits a retry. Observed (so a scrape shows it from the
    /// silo's start, at 0, not only after its first change).
    /// </summary>
    public static readonly ObservableUpDownCounter<long> PendingCascades = Meter.CreateObservableUpDownCounter("grantsilo.cascades.pending", () => Interlocked.Read(ref _pendingCascades), description: "Cascades with unconfirmed steps awaiting a retry.");

    internal static void AddPendingCascades(long delta) => Interlocked.Add(ref _pendingCascades, delta);
}
