using System.Diagnostics;

namespace GrantSilo.Benchmarks;

/// <summary>Throughput and latency of an operation driven by concurrent loops for a fixed time.</summary>
internal sealed record Measurement(string Name, long Operations, double Seconds, double P50Us, double P99Us)
{
    public double Throughput => Operations / Seconds;

    public override string ToString() =>
        $"| {Name,-34} | {Throughput,12:N0} | {P50Us,10:N1} | {P99Us,10:N1} |";

    public static async Task<Measurement> RunAsync(string name, int concurrency, TimeSpan duration, Func<int, long, Task> operation)
    {
        // Warm up: JIT, activations, connections.
        for (var i = 0; i < 200; i++)
        {
            await operation(0, i);
        }
        var latencies = new List<long>[concurrency];
        var stopwatch = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = latencies[worker] = new List<long>(100_000);
            long i = 0;
            while (stopwatch.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                await operation(worker, i++);
                mine.Add(Stopwatch.GetTimestamp() - start);
            }
        }).ToArray();
        await Task.WhenAll(loops);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? 0 : all[(int)Math.Min(all.Length - 1, Math.Floor(p * all.Length))] * 1_000_000.0 / Stopwatch.Frequency;
        return new Measurement(name, all.Length, seconds, Percentile(0.50), Percentile(0.99));
    }
}
