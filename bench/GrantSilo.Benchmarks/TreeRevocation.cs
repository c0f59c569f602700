using System.Diagnostics;
using GrantSilo.Client;

namespace GrantSilo.Benchmarks;

/// <summary>
/// Row (d): builds a delegation tree of a given size (one credential per node), revokes its root and
/// measures (i) how long the revocation takes to return, (ii) after it returned, when each node's
/// credential is first seen denied, and (iii) when the cascade has reached every node (every task
/// Revoked with nothing pending).
/// </summary>
/// <remarks>
/// <para>Shape: fan-out <c>fanOut</c> at every level, the last level trimmed so the tree has exactly
/// <c>size</c> nodes, its children spread evenly over the parents (1,000 nodes: 1 + 10 + 100 + 889, height 3;
/// 10,000 nodes: 1 + 10 + 100 + 1,000 + 8,889, height 4). The root belongs to a planner agent, every
/// other node to a worker agent; the root's credential is issued in a planner session, every other in
/// worker sessions (one by default, as before).</para>
/// <para>Credentials are checked concurrently (bounded), in a fixed shuffled order so that no depth is
/// always checked last, pass after pass until each has been denied once. A node's first-denied time is
/// when the check that first came back denied returned; every check that came back allowed is counted
/// (after the revocation returned there should be none).</para>
/// <para>The cascade is followed with per-task <c>GetTaskAsync</c> calls (bounded), re-asking only the
/// tasks not yet seen Revoked with nothing pending, at most every 100 ms (a task's tree read, <c>GetTaskTreeAsync</c>, asks all
/// 10,000 tasks through the root on every poll). It is polled once every node has been denied, so its
/// figure is an upper bound; each task's own <c>EndedAt</c> shows when the cascade actually reached it.</para>
/// </remarks>
internal sealed class TreeRevocation(IGrantClient grants, ResourceRef resource, string planner, string workerPrefix, Scope ceiling)
{
    public int FanOut { get; init; } = 10;

    public int BuildConcurrency { get; init; } = 32;

    public int CheckConcurrency { get; init; } = 64;

    public int WorkerSessions { get; init; } = 1;

    /// <summary>How many tasks (and credentials in one session) a worker agent takes: below the default quotas of 1,000.</summary>
    public int WorkerQuota { get; init; } = 900;

    /// <summary>Authorize every credential once just before revoking, so they hold decision leases the revocation must take back.</summary>
    public bool Warm { get; init; }

    /// <summary>Record every grain call from the revocation until the cascade is complete (<see cref="BenchTrace"/>).</summary>
    public bool Trace { get; init; }

    /// <summary>Gives up waiting for denials or the cascade after this long.</summary>
    public TimeSpan Patience { get; init; } = TimeSpan.FromMinutes(3);

    public sealed record Node(string TaskId, string Token, int Depth);

    public sealed record Result(
        int Size,
        int[] Levels,
        double BuildSeconds,
        double HeapBeforeMb,
        double HeapAfterMb,
        double WorkingSetMb,
        double WarmMs,
        int WarmAllowed,
        double RevokeReturnedMs,
        double DeniedMaxMs,
        double DeniedP50Ms,
        int Passes,
        int AllowedAfterReturn,
        int NeverDenied,
        double CheckSeconds,
        (double P50, double P99, double Max) CheckLatency,
        Dictionary<DecisionReason, int> Reasons,
        (int Depth, int Count, double P50, double Max)[] DeniedByDepth,
        double CascadeMs,
        int CascadePending,
        (int Depth, double P50, double Max)[] EndedByDepth,
        double QuietPassMs,
        string[] TraceReport);

    /// <summary>Levels of a tree of <paramref name="size"/> nodes with fan-out <paramref name="fanOut"/>, the last trimmed.</summary>
    public static int[] Shape(int size, int fanOut)
    {
        var levels = new List<int> { 1 };
        var total = 1;
        while (total < size)
        {
            var next = (int)Math.Min((long)levels[^1] * fanOut, size - total);
            levels.Add(next);
            total += next;
        }
        return [.. levels];
    }

    public async Task<Result> RunAsync(int size)
    {
        var levels = Shape(size, FanOut);
        var height = levels.Length - 1;
        if (height > ceiling.DelegationDepth)
        {
            throw new InvalidOperationException($"A {size}-node tree with fan-out {FanOut} is {height} levels deep; the agents' ceiling allows {ceiling.DelegationDepth}.");
        }
        var heapBefore = LiveHeapMb();

        // Build, level by level, each level with bounded concurrency.
        var built = Stopwatch.StartNew();
        var rootScope = Scope.Create(["doc:*:*"], DataClassification.Confidential, height).Value;
        var root = (await grants.CreateTaskAsync(new CreateTaskRequest { Person = "person:bench", Orchestrator = "bench", Agent = planner, Scope = rootScope, Lifetime = TimeSpan.FromHours(2) })).Value;
        var plannerSession = (await grants.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value.SessionId;
        // Live tasks per agent and live credentials per session are bounded (1,000 each by default): the
        // non-root nodes are spread over as many worker agents as that takes, each with its own sessions.
        var workerCount = Math.Max(1, (size + WorkerQuota - 1) / WorkerQuota);
        var workers = new string[workerCount];
        var sessionsPerWorker = Math.Max(Math.Max(1, WorkerSessions), (size / workerCount + WorkerQuota - 1) / WorkerQuota);
        var workerSessions = new string[workerCount][];
        for (var w = 0; w < workerCount; w++)
        {
            workers[w] = $"{workerPrefix}-{size}-{w}";
            _ = (await grants.RegisterAgentAsync(workers[w], new AgentRegistration { Owner = "person:bench", Ceiling = ceiling })).Value;
            workerSessions[w] = new string[sessionsPerWorker];
            for (var k = 0; k < sessionsPerWorker; k++)
            {
                workerSessions[w][k] = (await grants.OpenSessionAsync(new OpenSessionRequest { Agent = workers[w] })).Value.SessionId;
            }
        }
        var nodes = new List<Node> { new(root.TaskId, (await grants.IssueCredentialAsync(plannerSession, new IssueCredentialRequest { TaskId = root.TaskId })).Value.Token, 0) };
        var level = nodes.ToArray();
        for (var depth = 1; depth <= height; depth++)
        {
            var count = levels[depth];
            var parents = level;
            // Child j of this level goes to parent j % parents.Length: an even spread, the first parents one more.
            var childScope = Scope.Create(["doc:*:*"], DataClassification.Confidential, height - depth).Value;
            var next = new Node[count];
            var d = depth;
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = BuildConcurrency }, async (j, ct) =>
            {
                var parent = parents[j % parents.Length];
                var w = j % workerCount;
                var child = (await grants.DelegateAsync(parent.TaskId, new DelegationRequest { ProofToken = parent.Token, Agent = workers[w], Scope = childScope, Lifetime = TimeSpan.FromHours(2) - TimeSpan.FromMinutes(10 * d) }, ct)).Value;
                var token = (await grants.IssueCredentialAsync(workerSessions[w][j / workerCount % sessionsPerWorker], new IssueCredentialRequest { TaskId = child.TaskId }, ct)).Value.Token;
                next[j] = new Node(child.TaskId, token, d);
            });
            nodes.AddRange(next);
            level = next;
        }
        var buildSeconds = built.Elapsed.TotalSeconds;
        var heapAfter = LiveHeapMb();
        var workingSet = Environment.WorkingSet / 1048576.0;

        // A fixed shuffle: each depth is spread over every pass.
        var order = Enumerable.Range(0, nodes.Count).ToArray();
        new Random(size).Shuffle(order);

        double warmMs = 0;
        var warmAllowed = 0;
        if (Warm)
        {
            var warmClock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(order, new ParallelOptions { MaxDegreeOfParallelism = CheckConcurrency }, async (i, ct) =>
            {
                if ((await grants.AuthorizeAsync(nodes[i].Token, "read", resource, cancellationToken: ct)).IsAllowed)
                {
                    Interlocked.Increment(ref warmAllowed);
                }
            });
            warmMs = warmClock.Elapsed.TotalMilliseconds;
            Console.Error.WriteLine($"warm window (monotonic s): {(Stopwatch.GetTimestamp() - warmClock.Elapsed.TotalSeconds * Stopwatch.Frequency) / Stopwatch.Frequency:F6} {Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency:F6}");
        }

        // (i) Revoke.
        BenchTrace.Calls.Clear();
        BenchTrace.On = Trace;
        var revokeStart = Stopwatch.GetTimestamp();
        var revokedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        _ = (await grants.RevokeTaskAsync(root.TaskId, "benchmark")).Value;
        var returned = clock.Elapsed;
        var returnedAt = revokedAt + returned;

        // (ii) Every credential, until each has been denied once.
        var firstDenied = new double[nodes.Count];
        Array.Fill(firstDenied, double.NaN);
        var reasons = new DecisionReason[nodes.Count];
        var allowed = 0;
        var passes = 0;
        var pending = order;
        var checkLatencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var checkClock = Stopwatch.StartNew();
        while (pending.Length > 0 && clock.Elapsed < Patience)
        {
            passes++;
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = CheckConcurrency }, async (i, ct) =>
            {
                var sent = Stopwatch.GetTimestamp();
                var decision = await grants.AuthorizeAsync(nodes[i].Token, "read", resource, cancellationToken: ct);
                checkLatencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                if (decision.IsAllowed)
                {
                    Interlocked.Increment(ref allowed);
                }
                else
                {
                    firstDenied[i] = (clock.Elapsed - returned).TotalMilliseconds;
                    reasons[i] = decision.Reason;
                }
            });
            pending = [.. pending.Where(i => double.IsNaN(firstDenied[i]))];
        }
        var checkSeconds = checkClock.Elapsed.TotalSeconds;
        var latencies = checkLatencies.Order().ToArray();
        var denied = Enumerable.Range(0, nodes.Count).Where(i => !double.IsNaN(firstDenied[i])).ToArray();
        var deniedTimes = denied.Select(i => firstDenied[i]).Order().ToArray();

        // (iii) The cascade: every task Revoked with nothing pending.
        var ended = new DateTimeOffset?[nodes.Count];
        var waiting = Enumerable.Range(0, nodes.Count).ToArray();
        while (waiting.Length > 0 && clock.Elapsed < Patience)
        {
            var done = new bool[nodes.Count];
            await Parallel.ForEachAsync(waiting, new ParallelOptions { MaxDegreeOfParallelism = BuildConcurrency }, async (i, ct) =>
            {
                var task = await grants.GetTaskAsync(nodes[i].TaskId, ct);
                if (task.IsSuccess && task.Value.Status == GrantTaskStatus.Revoked && task.Value.PendingCascade == 0)
                {
                    done[i] = true;
                    ended[i] = task.Value.EndedAt;
                }
            });
            waiting = [.. waiting.Where(i => !done[i])];
            if (waiting.Length > 0)
            {
                // Not faster than every 100 ms: the polls must not become the load they measure.
                await Task.Delay(100);
            }
        }
        var cascade = clock.Elapsed - returned;
        BenchTrace.On = false;
        // For a profiler: the revocation's window on the monotonic clock (perf record -k CLOCK_MONOTONIC), in seconds.
        Console.Error.WriteLine($"revocation window (monotonic s): {revokeStart / (double)Stopwatch.Frequency:F6} {Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency:F6}");
        string[] trace = Trace ? [.. BenchTrace.Report(root.TaskId, revokeStart)] : [];
        BenchTrace.Calls.Clear();

        // How long one pass over the same credentials takes once nothing else is going on (all denied).
        var quiet = Stopwatch.StartNew();
        await Parallel.ForEachAsync(order, new ParallelOptions { MaxDegreeOfParallelism = CheckConcurrency }, async (i, ct) =>
            await grants.AuthorizeAsync(nodes[i].Token, "read", resource, cancellationToken: ct));
        var quietMs = quiet.Elapsed.TotalMilliseconds;

        return new Result(
            nodes.Count,
            levels,
            buildSeconds,
            heapBefore,
            heapAfter,
            workingSet,
            warmMs,
            warmAllowed,
            returned.TotalMilliseconds,
            deniedTimes.Length > 0 ? deniedTimes[^1] : double.NaN,
            Percentile(deniedTimes, 0.5),
            passes,
            allowed,
            nodes.Count - denied.Length,
            checkSeconds,
            (Percentile(latencies, 0.5), Percentile(latencies, 0.99), latencies.Length > 0 ? latencies[^1] : double.NaN),
            denied.GroupBy(i => reasons[i]).ToDictionary(g => g.Key, g => g.Count()),
            [.. denied.GroupBy(i => nodes[i].Depth).OrderBy(g => g.Key).Select(g =>
            {
                var times = g.Select(i => firstDenied[i]).Order().ToArray();
                return (g.Key, times.Length, Percentile(times, 0.5), times[^1]);
            })],
            cascade.TotalMilliseconds,
            waiting.Length,
            [.. Enumerable.Range(0, nodes.Count).Where(i => ended[i] is not null).GroupBy(i => nodes[i].Depth).OrderBy(g => g.Key).Select(g =>
            {
                var times = g.Select(i => (ended[i]!.Value - returnedAt).TotalMilliseconds).Order().ToArray();
                return (g.Key, Percentile(times, 0.5), times[^1]);
            })],
            quietMs,
            trace);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(p * sorted.Length))];

    private static double LiveHeapMb()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
    }

    public static IEnumerable<string> Describe(Result r)
    {
        var shape = string.Join(" + ", r.Levels.Select(l => l.ToString("N0")));
        yield return $"Built a delegation tree of {r.Size:N0} nodes ({shape}, height {r.Levels.Length - 1}; one credential each) in {r.BuildSeconds:N1}s; live GC heap {r.HeapBeforeMb:N0} MB before, {r.HeapAfterMb:N0} MB after (working set {r.WorkingSetMb:N0} MB).";
        if (r.WarmMs > 0)
        {
            yield return $"Warmed: every credential authorized once ({r.WarmAllowed:N0} allowed) in {r.WarmMs:N0} ms, right before the revocation.";
        }
        yield return $"| (d) revoke {r.Size}-node tree: revoke returned | {r.RevokeReturnedMs,8:N1} ms |";
        yield return $"| (d) every node denies: max after revoke returned (p50 {r.DeniedP50Ms:N1} ms; {r.Size} credentials, {r.Passes} pass(es), {r.AllowedAfterReturn} allowed, {r.NeverDenied} never denied) | {r.DeniedMaxMs,8:N1} ms |";
        yield return $"| (d) cascade enacted on every node (all Revoked, none pending){(r.CascadePending == 0 ? "" : $" NOT COMPLETE, {r.CascadePending:N0} tasks still pending when given up")}: after revoke returned | {r.CascadeMs,8:N1} ms |";
        yield return $"    checks took {r.CheckSeconds:N2}s ({r.Size / r.CheckSeconds:N0}/s), each check p50 {r.CheckLatency.P50:N1} ms, p99 {r.CheckLatency.P99:N1} ms, max {r.CheckLatency.Max:N0} ms; one more pass once the cascade was done (or given up): {r.QuietPassMs:N0} ms ({r.Size / (r.QuietPassMs / 1000):N0}/s)";
        yield return $"    deny reasons: {string.Join(", ", r.Reasons.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"))}";
        yield return $"    first denied by depth (ms after return, p50/max): {string.Join("; ", r.DeniedByDepth.Select(d => $"{d.Depth}: {d.P50:N0}/{d.Max:N0} (n={d.Count})"))}";
        foreach (var line in r.TraceReport)
        {
            yield return line;
        }
        yield return $"    task EndedAt by depth (ms after return, p50/max): {string.Join("; ", r.EndedByDepth.Select(d => $"{d.Depth}: {d.P50:N0}/{d.Max:N0}"))}";
    }
}
