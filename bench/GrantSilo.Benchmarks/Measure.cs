using System.Diagnostics;
using System.Runtime;

namespace GrantSilo.Benchmarks;

/// <summary>Throughput and latency of an operation driven by concurrent loops for a fixed time.</summary>
internal sealed record Measurement(string Name, long Operations, double Seconds, double P50Us, double P99Us, double CpuSeconds = 0, long AllocatedBytes = 0, int Gen0Collections = 0)
{
    public double Throughput => Operations / Seconds;

    /// <summary>This process's CPU time per operation, in µs (every thread: the work measured and whatever drives it).</summary>
    public double CpuUsPerOperation => Operations == 0 ? 0 : CpuSeconds * 1_000_000 / Operations;

    /// <summary>Bytes this process allocated per operation (every thread), and its gen-0 collections per 10,000 operations.</summary>
    public double BytesPerOperation => Operations == 0 ? 0 : (double)AllocatedBytes / Operations;

    public double Gen0PerTenThousand => Operations == 0 ? 0 : Gen0Collections * 10_000.0 / Operations;

    public override string ToString() =>
        $"| {Name,-34} | {Throughput,12:N0} | {P50Us,10:N1} | {P99Us,10:N1} |";

    public static async Task<Measurement> RunAsync(string name, int concurrency, TimeSpan duration, Func<int, long, Task> operation)
    {
        await WarmUpAsync(operation);
        var slice = await RunSliceAsync(concurrency, duration, operation);
        return Summarize(name, [slice]);
    }

    /// <summary>
    /// Measures several operations in alternating slices of <paramref name="slice"/> each (the order
    /// reversed every round) until each has run for <paramref name="duration"/>, so that all see the same
    /// machine: on a shared host the speed available drifts over seconds, and a ratio of measurements
    /// taken one after the other would measure that drift as much as the operations.
    /// </summary>
    public static async Task<Measurement[]> InterleavedAsync(
        IReadOnlyList<(string Name, Func<int, long, Task> Operation)> operations,
        int concurrency, TimeSpan duration, TimeSpan slice)
    {
        foreach (var (_, operation) in operations)
        {
            await WarmUpAsync(operation);
        }
        // Then each under the measured load, unmeasured, until the runtime's tiered JIT has compiled the hot paths at
        // full optimisation: on two busy cores its background compiler lags seconds behind, and a longer path (more
        // methods to promote) would otherwise be measured partly unoptimised against a shorter one.
        // At least WarmUpRounds rounds, and then more (up to 30) until a whole round compiled almost nothing new: the audit's
        // path, run in every other slice, was otherwise still being compiled by the background JIT while it was measured.
        var compiled = JitInfo.GetCompiledMethodCount();
        for (var round = 0; round < 30; round++)
        {
            foreach (var (_, operation) in operations)
            {
                await RunSliceAsync(concurrency, slice, operation);
            }
            var now = JitInfo.GetCompiledMethodCount();
            var fresh = now - compiled;
            compiled = now;
            if (round + 1 >= WarmUpRounds && fresh <= SettledBelow)
            {
                WarmUpLog = $"warm-up: {round + 1} round(s) of {operations.Count} slice(s), until a round compiled at most {SettledBelow} methods";
                break;
            }
            WarmUpLog = $"warm-up: {round + 1} round(s) of {operations.Count} slice(s), the JIT still compiling ({fresh} methods in the last)";
        }
        var slices = operations.Select(_ => new List<Slice>()).ToArray();
        var rounds = Math.Max(1, (int)Math.Ceiling(duration / slice));
        for (var round = 0; round < rounds; round++)
        {
            var order = Enumerable.Range(0, operations.Count);
            foreach (var index in round % 2 == 0 ? order : order.Reverse())
            {
                var began = Stopwatch.GetTimestamp();
                slices[index].Add(await RunSliceAsync(concurrency, slice, operations[index].Operation));
                SliceLog?.WriteLine($"{began} {Stopwatch.GetTimestamp()} {index}");
            }
        }
        SliceLog?.Flush();
        return [.. operations.Select((o, i) => Summarize(o.Name, slices[i]))];
    }

    // GRANTSILO_BENCH_SLICES=FILE: each measured slice's start and end (Stopwatch ticks: CLOCK_MONOTONIC nanoseconds on
    // Linux, as `perf record -k CLOCK_MONOTONIC` stamps its samples) and the operation's index, to attribute a profile of
    // the whole run to its operations.
    private static readonly StreamWriter? SliceLog =
        Environment.GetEnvironmentVariable("GRANTSILO_BENCH_SLICES") is { Length: > 0 } path ? new StreamWriter(path) : null;

    /// <summary>
    /// Latency at a fixed arrival rate (open loop): requests are sent at <paramref name="perSecond"/> a second, paced by a
    /// 1 ms timer, whether or not earlier ones have finished (a slow answer never delays the next request), and each
    /// latency is counted from when its request was sent. The pacing timer's own jitter (the generator shares the process
    /// and its cores) is thereby left out; a stall of the process itself still shows in every request in flight.
    /// Alternating slices, as <see cref="InterleavedAsync"/>.
    /// </summary>
    public static async Task<Measurement[]> FixedRateAsync(
        IReadOnlyList<(string Name, Func<int, long, Task> Operation)> operations,
        double perSecond, TimeSpan duration, TimeSpan slice)
    {
        var slices = operations.Select(_ => new List<Slice>()).ToArray();
        var rounds = Math.Max(1, (int)Math.Ceiling(duration / slice));
        for (var round = 0; round < rounds; round++)
        {
            var order = Enumerable.Range(0, operations.Count);
            foreach (var index in round % 2 == 0 ? order : order.Reverse())
            {
                slices[index].Add(await RunFixedRateSliceAsync(perSecond, slice, operations[index].Operation));
            }
        }
        return [.. operations.Select((o, i) => Summarize(o.Name, slices[i]))];
    }

    private static async Task<Slice> RunFixedRateSliceAsync(double perSecond, TimeSpan duration, Func<int, long, Task> operation)
    {
        var total = (long)(perSecond * duration.TotalSeconds);
        var latencies = new long[total];
        var running = new List<Task>((int)total);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var start = Stopwatch.GetTimestamp();
        var interval = Stopwatch.Frequency / perSecond;
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        long launched = 0;
        while (launched < total)
        {
            var due = Math.Min(total, (long)((Stopwatch.GetTimestamp() - start) / interval) + 1);
            for (; launched < due; launched++)
            {
                var n = launched;
                running.Add(Task.Run(async () =>
                {
                    var sent = Stopwatch.GetTimestamp();
                    await operation((int)(n % 64), n);
                    latencies[n] = Stopwatch.GetTimestamp() - sent;
                }));
            }
            await tick.WaitForNextTickAsync();
        }
        await Task.WhenAll(running);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new Slice(elapsed, latencies, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }

    private sealed record Slice(double Seconds, long[] Latencies, double CpuSeconds, long AllocatedBytes = 0, int Gen0Collections = 0);

    // A round of warm-up slices that compiled at most this many methods has let the tiered JIT settle.
    private const int SettledBelow = 25;

    /// <summary>How the last <see cref="InterleavedAsync"/> warmed up: rounds, and whether the JIT had settled.</summary>
    public static string WarmUpLog { get; private set; } = "";

    /// <summary>Unmeasured rounds of slices run before <see cref="InterleavedAsync"/> measures (<c>GRANTSILO_BENCH_WARMUP_ROUNDS</c>, default 3).</summary>
    private static readonly int WarmUpRounds =
        int.TryParse(Environment.GetEnvironmentVariable("GRANTSILO_BENCH_WARMUP_ROUNDS"), out var rounds) && rounds >= 0 ? rounds : 3;

    private static async Task WarmUpAsync(Func<int, long, Task> operation)
    {
        // JIT, activations, connections.
        for (var i = 0; i < 200; i++)
        {
            await operation(0, i);
        }
    }

    private static async Task<Slice> RunSliceAsync(int concurrency, TimeSpan duration, Func<int, long, Task> operation)
    {
        var latencies = new List<long>[concurrency];
        var allocated = GC.GetTotalAllocatedBytes();
        var gen0 = GC.CollectionCount(0);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        // Each loop starts on the thread pool: an operation that completes synchronously (a raw signature, say) would
        // otherwise run its first loop on this thread for the whole slice and leave the others nothing to do, measuring
        // one thread against operations that use every core.
        var loops = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var mine = latencies[worker] = new List<long>(100_000);
            long i = 0;
            while (stopwatch.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                await operation(worker, i++);
                mine.Add(Stopwatch.GetTimestamp() - start);
            }
        })).ToArray();
        await Task.WhenAll(loops);
        var elapsed = stopwatch.Elapsed.TotalSeconds;
        return new Slice(elapsed, [.. latencies.SelectMany(l => l)], (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds,
            GC.GetTotalAllocatedBytes() - allocated, GC.CollectionCount(0) - gen0);
    }

    private static Measurement Summarize(string name, IReadOnlyList<Slice> slices)
    {
        var all = slices.SelectMany(s => s.Latencies).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? 0 : all[(int)Math.Min(all.Length - 1, Math.Floor(p * all.Length))] * 1_000_000.0 / Stopwatch.Frequency;
        return new Measurement(name, all.Length, slices.Sum(s => s.Seconds), Percentile(0.50), Percentile(0.99), slices.Sum(s => s.CpuSeconds), slices.Sum(s => s.AllocatedBytes), slices.Sum(s => s.Gen0Collections));
    }
}
