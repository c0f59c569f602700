using System.Collections.Concurrent;
using System.Text;

namespace GrantSilo.ScheduleExplorer;

/// <summary>How an attempt of an operation ended.</summary>
public enum Outcome
{
    Pending,
    /// <summary>Returned success: for an end, the acknowledgement.</summary>
    Acknowledged,
    /// <summary>Returned a refusal (an error result, Unavailable included).</summary>
    Refused,
    /// <summary>Threw, or never returned within its bound.</summary>
    Failed,
    Allow,
    Deny,
    /// <summary>Not run: what it needed was never created.</summary>
    Skipped,
}

/// <summary>One attempt of one operation, with the logical instants it was invoked and returned.</summary>
public sealed class OpRecord(PlanOp op, int attempt, long invoked)
{
    public PlanOp Op { get; } = op;
    public int Attempt { get; } = attempt;
    public long Invoked { get; } = invoked;
    public long Responded { get; private set; } = -1;
    public Outcome Outcome { get; private set; } = Outcome.Pending;
    public string Detail { get; private set; } = "";

    internal void Complete(long at, Outcome outcome, string detail)
    {
        Responded = at;
        Outcome = outcome;
        Detail = detail;
    }

    public override string ToString() =>
        $"[{Invoked,4} .. {(Responded < 0 ? "----" : Responded.ToString().PadLeft(4))}] {Op}{(Attempt > 0 ? $" (attempt {Attempt + 1})" : "")}: {Outcome}{(Detail.Length > 0 ? " — " + Detail : "")}";
}

/// <summary>The history of a seed: every attempt, stamped from one global logical clock at invocation and at response.</summary>
public sealed class History
{
    private readonly ConcurrentQueue<OpRecord> _records = new();
    private readonly ConcurrentQueue<(long At, string What)> _marks = new();
    private long _clock;

    public IReadOnlyCollection<OpRecord> Records => _records;

    /// <summary>Driver steps that are not operations (lease-clock moves, releases), stamped on the same clock.</summary>
    public IReadOnlyCollection<(long At, string What)> Marks => _marks;

    public void Mark(string what) => _marks.Enqueue((Interlocked.Increment(ref _clock), what));

    public OpRecord Invoke(PlanOp op, int attempt)
    {
        var record = new OpRecord(op, attempt, Interlocked.Increment(ref _clock));
        _records.Enqueue(record);
        return record;
    }

    public void Respond(OpRecord record, Outcome outcome, string detail = "") =>
        record.Complete(Interlocked.Increment(ref _clock), outcome, detail);

    public string Describe()
    {
        var text = new StringBuilder();
        var lines = _records.Select(r => (At: r.Invoked, Text: r.ToString()))
            .Concat(_marks.Select(m => (m.At, Text: $"[{m.At,4}]         -- {m.What}")))
            .OrderBy(l => l.At);
        foreach (var (_, line) in lines)
        {
            text.AppendLine($"    {line}");
        }
        return text.ToString();
    }
}

/// <summary>An Authorize that returned Allow although it was invoked after an acknowledged end that covers its credential.</summary>
public sealed record Violation(OpRecord Authorize, OpRecord End)
{
    public override string ToString() =>
        $"{Authorize.Op} invoked at {Authorize.Invoked} returned Allow, after {End.Op} was acknowledged at {End.Responded}";
}

/// <summary>The promise, checked over a history.</summary>
public static class Checker
{
    /// <summary>
    /// Every Authorize that returned Allow although it was invoked after the response of an
    /// acknowledged end covering its credential. Ends that failed, were refused or never returned are
    /// unacknowledged and impose nothing.
    /// </summary>
    public static IReadOnlyList<Violation> Check(Plan plan, History history)
    {
        var records = history.Records.ToList();
        var ends = records.Where(r => r.Op.IsEnd && r.Outcome == Outcome.Acknowledged).ToList();
        var violations = new List<Violation>();
        foreach (var allow in records.Where(r => r.Op.Kind == OpKind.Authorize && r.Outcome == Outcome.Allow))
        {
            var end = ends
                .Where(e => e.Responded < allow.Invoked && plan.Covers(e.Op, allow.Op.Target))
                .OrderBy(e => e.Responded)
                .FirstOrDefault();
            if (end is not null)
            {
                violations.Add(new Violation(allow, end));
            }
        }
        return violations;
    }
}
