// The schedule explorer's campaign mode: runs many seeds of random schedules with injected faults on
// one in-process cluster and checks every history against the revocation promise (no Allow for an
// Authorize invoked after an acknowledged end that covers it).
//   dotnet run -c Release --project tools/schedule-explorer [-- --seeds 10000 --first 1]
//   dotnet run -c Release --project tools/schedule-explorer -- --seed 1234 [--repeat 20] [--verbose]
// Prints `seeds: N, violations: M` and the replayable description of each violating seed; exits 1 if any.
using System.Diagnostics;
using GrantSilo.ScheduleExplorer;

var seeds = ArgValue("--seeds", 10_000);
var first = ArgValue("--first", 1);
var single = ArgValue("--seed", -1);
var repeat = ArgValue("--repeat", 1);
var verbose = args.Contains("--verbose");
var showLimit = ArgValue("--show", 20);

await using var cluster = await ExplorerCluster.StartAsync();
var stopwatch = Stopwatch.StartNew();
var ran = 0;
var violating = new List<SeedResult>();
var setupFailures = 0;
var unfinished = 0;
var byKind = new Dictionary<string, List<int>>();

IEnumerable<int> Seeds() => single >= 0 ? Enumerable.Repeat(single, repeat) : Enumerable.Range(first, seeds);

foreach (var seed in Seeds())
{
    var result = await cluster.RunSeedAsync(seed);
    ran++;
    if (result.SetupError is not null)
    {
        setupFailures++;
    }
    if (result.Unfinished > 0)
    {
        unfinished++;
    }
    if (result.Violated)
    {
        violating.Add(result);
        foreach (var kind in result.Violations.Select(v => $"{v.End.Op.Kind} via {result.Suspect(v).Split(" (")[0]}").Distinct())
        {
            (byKind.TryGetValue(kind, out var list) ? list : byKind[kind] = []).Add(seed);
        }
        if (violating.Count <= showLimit)
        {
            Console.WriteLine(result.Describe());
        }
        if (single >= 0)
        {
            break;
        }
    }
    else if (verbose)
    {
        Console.WriteLine(result.Describe());
    }
    if (ran % 500 == 0)
    {
        Console.Error.WriteLine($"... {ran} seeds, {violating.Count} violating, {ran / stopwatch.Elapsed.TotalSeconds:0.0} seeds/s");
    }
}

Console.WriteLine($"seeds: {ran}, violations: {violating.Count}");
Console.WriteLine($"  {ran / stopwatch.Elapsed.TotalSeconds:0.0} seeds/s over {stopwatch.Elapsed.TotalSeconds:0} s; set-up failures: {setupFailures}; seeds with operations still running after the drain: {unfinished}");
if (byKind.Count > 0)
{
    Console.WriteLine("  violating seeds by the end they broke and the likely hole:");
    foreach (var (kind, list) in byKind.OrderBy(k => k.Key, StringComparer.Ordinal))
    {
        Console.WriteLine($"    {kind}: {list.Count} ({string.Join(' ', list.Take(12))}{(list.Count > 12 ? " ..." : "")})");
    }
}
Console.WriteLine($"  time by phase: {RunnerStats.Describe()}");
return violating.Count == 0 ? 0 : 1;

int ArgValue(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], out var value) ? value : fallback;
}
