using System.Collections.Concurrent;
using System.Diagnostics;

namespace GrantSilo.Benchmarks;

/// <summary>
/// Diagnostics for row (d) (<c>--trace-revoke 1</c>): while <see cref="On"/>, every grain call made
/// or received on the in-process silo is recorded with its start and end (an outgoing call's time
/// includes its wait in the target's queue; an incoming call's time is its own execution). Off by
/// default: the filters then only read one flag.
/// </summary>
internal static class BenchTrace
{
    public static volatile bool On;

    public static readonly ConcurrentQueue<Call> Calls = new();

    public sealed record Call(bool Outgoing, string? Source, string Target, string Method, long Start, long End, bool Failed)
    {
        public double Ms => (End - Start) * 1000.0 / Stopwatch.Frequency;

        public string SourceType => Source is null ? "-" : Source.Split('/')[0];

        public string TargetType => Target.Split('/')[0];
    }

    public static async Task RecordAsync(bool outgoing, GrainId? source, GrainId target, string method, Func<Task> call)
    {
        if (!On)
        {
            await call();
            return;
        }
        var start = Stopwatch.GetTimestamp();
        var failed = false;
        try
        {
            await call();
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            Calls.Enqueue(new Call(outgoing, source?.ToString(), target.ToString(), method, start, Stopwatch.GetTimestamp(), failed));
        }
    }

    /// <summary>What the trace shows about one revocation: the root's own calls, then every kind of call.</summary>
    public static IEnumerable<string> Report(string rootTaskId, long revokeStart)
    {
        var calls = Calls.ToArray();
        double At(long ticks) => (ticks - revokeStart) * 1000.0 / Stopwatch.Frequency;
        var root = $"task/{rootTaskId}";
        yield return $"    trace: {calls.Length:N0} grain calls recorded (times in ms from the revoke call; 'out' = seen by the caller, queueing included; 'in' = execution)";
        foreach (var c in calls.Where(c => c.Target == root && !c.Outgoing && c.Method.Contains("Revoke", StringComparison.Ordinal)))
        {
            yield return $"    root in  {c.Method}: {At(c.Start):N0} -> {At(c.End):N0}";
        }
        IEnumerable<string> OutCalls(string label, string source, long until) =>
            calls.Where(c => c.Outgoing && c.Source == source && c.Start <= until)
                .GroupBy(c => $"{c.TargetType}.{c.Method}")
                .OrderBy(g => g.Min(c => c.Start))
                .Select(g => $"    {label} out {g.Key} x{g.Count()}{(g.Any(c => c.Failed) ? $" ({g.Count(c => c.Failed)} failed)" : "")}: first start {At(g.Min(c => c.Start)):N0}, last end {At(g.Max(c => c.End)):N0}, slowest {g.Max(c => c.Ms):N0}");
        foreach (var line in OutCalls("root", root, long.MaxValue))
        {
            yield return line;
        }
        // The root's slowest child: what its end (EndFromAbove, awaited by the root) waited for.
        if (calls.Where(c => c.Outgoing && c.Source == root && c.Method.Contains("EndFromAbove", StringComparison.Ordinal)).MaxBy(c => c.Ms) is { } slowest)
        {
            foreach (var c in calls.Where(c => !c.Outgoing && c.Target == slowest.Target && c.End >= slowest.Start && c.Start <= slowest.End).OrderBy(c => c.Start).Take(12))
            {
                yield return $"    slowest child in  {c.Method} from {c.SourceType}: {At(c.Start):N0} -> {At(c.End):N0}";
            }
            foreach (var line in OutCalls("slowest child", slowest.Target, slowest.End))
            {
                yield return line;
            }
        }
        foreach (var g in calls.GroupBy(c => (c.Outgoing, Kind: $"{c.SourceType}->{c.TargetType}.{c.Method}")).OrderByDescending(g => g.Sum(c => c.Ms)).Take(24))
        {
            var ms = g.Select(c => c.Ms).Order().ToArray();
            yield return $"    {(g.Key.Outgoing ? "out" : "in "),-3} {g.Key.Kind,-60} n={g.Count(),6:N0} failed={g.Count(c => c.Failed),5:N0} p50={ms[ms.Length / 2],8:N1} p99={ms[(int)(ms.Length * 0.99)],8:N1} max={ms[^1],8:N0} first={At(g.Min(c => c.Start)),7:N0} last end={At(g.Max(c => c.End)),7:N0}";
        }
    }
}

internal sealed class TraceIncomingFilter : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context) =>
        BenchTrace.On ? BenchTrace.RecordAsync(false, context.SourceId, context.TargetId, context.MethodName, context.Invoke) : context.Invoke();
}

internal sealed class TraceOutgoingFilter : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context) =>
        BenchTrace.On ? BenchTrace.RecordAsync(true, context.SourceId, context.TargetId, context.MethodName, context.Invoke) : context.Invoke();
}
