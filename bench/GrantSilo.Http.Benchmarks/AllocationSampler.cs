using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace GrantSilo.Benchmarks;

/// <summary>
/// A sampling allocation profiler in the process: the runtime's GC AllocationTick event (one per ~100 KB allocated, naming
/// the type of the object that crossed the mark), counted by type. <c>--allocations</c> prints the top types.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            // GC keyword (0x1) at Verbose: AllocationTick.
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
        {
            return;
        }
        var type = e.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? e.Payload![t] as string ?? "?" : "?";
        var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload![a]) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, sum) => sum + amount);
    }

    public IEnumerable<(string Type, long Bytes)> Top(int count) =>
        _bytes.OrderByDescending(p => p.Value).Take(count).Select(p => (p.Key, p.Value));
}
