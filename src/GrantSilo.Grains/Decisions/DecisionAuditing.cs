using System.Collections.Concurrent;

namespace GrantSilo.Grains.Decisions;

/// <summary>One decision as audited: ids and facts, never a token or secret, never purpose text.</summary>
public sealed record DecisionRecord
{
    public required Decision Decision { get; init; }
    public required string Action { get; init; }
    public required ResourceRef Resource { get; init; }
    public string? RootPerson { get; init; }
    public string? SessionId { get; init; }
}

/// <summary>
/// Records every decision. An Allow is returned only after <see cref="RecordAsync"/> completes, and
/// a failure to record turns the decision into a deny. The durable, tamper-evident audit store plugs
/// in here.
/// </summary>
public interface IDecisionAuditor
{
    ValueTask RecordAsync(DecisionRecord record, CancellationToken cancellationToken);
}

/// <summary>
/// The embedded default: keeps the most recent decisions of this silo in memory (bounded), for
/// inspection and tests. It is not durable.
/// </summary>
public sealed class RecentDecisionLog : IDecisionAuditor
{
    private readonly ConcurrentQueue<DecisionRecord> _records = new();
    private readonly int _capacity;
    private int _count;

    /// <summary>Creates a log holding at most <paramref name="capacity"/> records.</summary>
    public RecentDecisionLog(int capacity = 10_000) => _capacity = capacity;

    /// <inheritdoc />
    public ValueTask RecordAsync(DecisionRecord record, CancellationToken cancellationToken)
    {
        _records.Enqueue(record);
        // Counted on the side: ConcurrentQueue.Count walks its segments.
        if (Interlocked.Increment(ref _count) > _capacity && _records.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _count);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>The records held now, oldest first.</summary>
    public IReadOnlyList<DecisionRecord> Snapshot() => [.. _records];
}
