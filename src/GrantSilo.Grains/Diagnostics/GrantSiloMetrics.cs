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

    /// <summary>Credentials issued.</summary>
    public static readonly Counter<long> CredentialsIssued = Meter.CreateCounter<long>("grantsilo.credentials.issued");

    /// <summary>Tasks created, tagged with <c>kind</c> (root or delegated).</summary>
    public static readonly Counter<long> TasksCreated = Meter.CreateCounter<long>("grantsilo.tasks.created");

    /// <summary>Grains in this silo with a cascade step that failed and awaits a retry.</summary>
    public static readonly UpDownCounter<long> PendingCascades = Meter.CreateUpDownCounter<long>("grantsilo.cascades.pending", description: "Cascades with unconfirmed steps awaiting a retry.");
}
