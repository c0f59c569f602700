namespace GrantSilo.GrainInterfaces;

/// <summary>
/// One silo's decisions per second by result over its last minute, as the silo reported them: a row per whole second,
/// oldest first, ending with the second before <see cref="EndSecond"/>; in each row a count per kind of
/// <see cref="Kinds"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.silo-decision-rates")]
public sealed record SiloDecisionRates
{
    /// <summary>The silo's address (its membership identity: endpoint and generation).</summary>
    [Id(0)] public required string Silo { get; init; }

    /// <summary>The silo's name.</summary>
    [Id(1)] public required string SiloName { get; init; }

    /// <summary>The Unix second after the last one counted (the rows cover <c>EndSecond - Seconds</c> up to it).</summary>
    [Id(2)] public long EndSecond { get; init; }

    /// <summary>The kinds counted, in column order.</summary>
    [Id(3)] public IReadOnlyList<DecisionKind> Kinds { get; init; } = [];

    /// <summary>The counts, row by row (<c>Counts[second * Kinds.Count + kind]</c>).</summary>
    [Id(4)] public IReadOnlyList<long> Counts { get; init; } = [];

    /// <summary>When the aggregating grain received this report (set by the grain, not the silo).</summary>
    [Id(5)] public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>How long a silo's last report counts when no newer one arrives (it reports every second).</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(5);

    /// <summary>How many seconds the report covers.</summary>
    public int Seconds => Kinds.Count == 0 ? 0 : Counts.Count / Kinds.Count;

    /// <summary>The count of <paramref name="kind"/> in the second starting at Unix second <paramref name="second"/>, 0 when not covered.</summary>
    public long CountAt(long second, DecisionKind kind)
    {
        var row = second - (EndSecond - Seconds);
        var column = IndexOf(kind);
        return row < 0 || row >= Seconds || column < 0 ? 0 : Counts[(int)row * Kinds.Count + column];
    }

    private int IndexOf(DecisionKind kind)
    {
        for (var i = 0; i < Kinds.Count; i++)
        {
            if (Kinds[i] == kind)
            {
                return i;
            }
        }
        return -1;
    }
}

/// <summary>
/// The cluster's decisions per second by result: every silo reports its own last minute here every second (off the
/// decision path: the silo counts decisions in memory and a timer sends the counts), and the overview reads them all at
/// once. Reports live in memory only; a silo's figures that stop arriving (it died, or left) are dropped after
/// <see cref="SiloDecisionRates.StaleAfter"/>, and a reactivated grain fills again within a second. Key: 0.
/// </summary>
[Alias("grantsilo.IDecisionRatesGrain")]
public interface IDecisionRatesGrain : IGrainWithIntegerKey
{
    /// <summary>A silo's report of its last minute (internal: silos only), replacing its previous one.</summary>
    [Alias("Report")]
    Task ReportAsync(SiloDecisionRates rates);

    /// <summary>Every silo's latest report not older than <see cref="SiloDecisionRates.StaleAfter"/>; the cluster's health, so <c>cluster.manage</c> (operators).</summary>
    [Alias("List"), CallerOperation(CallerOperations.ClusterManage)]
    Task<IReadOnlyList<SiloDecisionRates>> ListAsync(CancellationToken cancellationToken = default);
}
