using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using GrantSilo.Cedar;
using GrantSilo.Cedar.Benchmarks;

// GrantSilo's Cedar engine vs @cedar-policy/cedar-wasm on the same policies, entities and requests, in one run.
// Usage: dotnet run -c Release --project bench/GrantSilo.Cedar.Benchmarks [-- ITERATIONS]
var iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
var wasmIterations = Math.Max(1000, iterations / 40);
const int RequestCount = 1000;

var workload = Workload.Create(RequestCount, seed: 42);
var workloadPath = Path.Combine(Path.GetTempPath(), $"grantsilo-policy-bench-{Environment.ProcessId}.json");
File.WriteAllText(workloadPath, workload.ToJson());

// GrantSilo: parse and compile once; entities and requests built once, outside the timed loop.
var authorizer = new Authorizer(PolicySet.Parse(Workload.Policies));
var entities = CedarJson.ParseEntities(workload.Entities.ToJsonString());
var requests = workload.Requests.Select(r => new AuthorizationRequest(
    CedarJson.ParseEntityUid(r!["principal"]!.ToJsonString()),
    CedarJson.ParseEntityUid(r["action"]!.ToJsonString()),
    CedarJson.ParseEntityUid(r["resource"]!.ToJsonString()),
    CedarJson.ParseContext(r["context"]!.ToJsonString()))).ToArray();
Console.WriteLine($"workload: {authorizer.PolicySet.Policies.Count} policies, {entities.Count} entities, {requests.Length} distinct requests");

var ours = requests.Select(r => authorizer.IsAuthorized(r, entities)).ToArray();
for (var i = 0; i < 50_000; i++)
{
    authorizer.IsAuthorized(requests[i % requests.Length], entities);
}

var latencies = new long[iterations];
for (var i = 0; i < iterations; i++)
{
    var start = Stopwatch.GetTimestamp();
    authorizer.IsAuthorized(requests[i % requests.Length], entities);
    latencies[i] = Stopwatch.GetTimestamp() - start;
}

var toNanos = 1_000_000_000.0 / Stopwatch.Frequency;
var oursNanos = latencies.Select(t => (long)(t * toNanos)).Order().ToArray();
var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
var loop = Stopwatch.StartNew();
for (var i = 0; i < iterations; i++)
{
    authorizer.IsAuthorized(requests[i % requests.Length], entities);
}

loop.Stop();
var bytesPerDecision = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)iterations;
var oursThroughput = iterations / loop.Elapsed.TotalSeconds;

// cedar-wasm: a Node process times its own loop with the policy set pre-parsed.
var repoRoot = FindRepoRoot(AppContext.BaseDirectory);
var script = Path.Combine(repoRoot, "bench", "GrantSilo.Cedar.Benchmarks", "cedar-wasm-bench.cjs");
var node = Process.Start(new ProcessStartInfo("node", [script, workloadPath, wasmIterations.ToString(CultureInfo.InvariantCulture)])
{
    RedirectStandardOutput = true,
    WorkingDirectory = repoRoot,
}) ?? throw new InvalidOperationException("node did not start");
var wasmOutput = node.StandardOutput.ReadToEnd();
node.WaitForExit();
File.Delete(workloadPath);
if (node.ExitCode != 0)
{
    Console.Error.WriteLine("cedar-wasm benchmark failed; run `npm ci` at the repository root.");
    return 1;
}

var wasm = JsonNode.Parse(wasmOutput)!;
var wasmDecisions = wasm["decisions"]!.AsArray();
var agree = 0;
for (var i = 0; i < ours.Length; i++)
{
    var expected = wasmDecisions[i]!;
    var sameDecision = expected["decision"]!.GetValue<string>() == (ours[i].IsAllowed ? "allow" : "deny");
    var sameReason = expected["reason"]!.AsArray().Select(x => x!.GetValue<string>()).SequenceEqual(ours[i].DeterminingPolicyIds.Order(StringComparer.Ordinal));
    agree += sameDecision && sameReason ? 1 : 0;
}

var wasmP50 = wasm["p50Ns"]!.GetValue<double>();
var wasmP99 = wasm["p99Ns"]!.GetValue<double>();
var wasmThroughput = wasm["throughput"]!.GetValue<double>();
var oursP50 = Workload.Percentile(oursNanos, 0.50);
var oursP99 = Workload.Percentile(oursNanos, 0.99);
var allowed = ours.Count(r => r.IsAllowed);

Console.WriteLine($"decisions: {allowed} allow / {ours.Length - allowed} deny over the distinct requests; engines agree on {agree}/{ours.Length} (decision and determining policies)");
Console.WriteLine($"GrantSilo  ({iterations:N0} decisions): {Workload.Describe(oursNanos, oursThroughput)}   ~{bytesPerDecision:F0} B allocated/decision");
Console.WriteLine($"cedar-wasm {wasm["version"]} ({wasmIterations:N0} decisions): p50 {wasmP50 / 1000.0,8:F2} us   p99 {wasmP99 / 1000.0,8:F2} us   throughput {wasmThroughput,12:N0} decisions/s");
Console.WriteLine($"cedar-wasm with an empty entity list (reference only; shows its per-call entity conversion cost): p50 {wasm["noEntitiesP50Ns"]!.GetValue<double>() / 1000.0:F2} us");
Console.WriteLine($"ratio (cedar-wasm / GrantSilo): p50 {wasmP50 / oursP50:F1}x   p99 {wasmP99 / oursP99:F1}x   throughput {oursThroughput / wasmThroughput:F1}x");
var validationOk = ValidationBenchmark.Run(repoRoot, workload, requests, iterations);
var costBoundOk = CostBoundBenchmark.Run(requests, entities, iterations);
return agree == ours.Length && validationOk && costBoundOk ? 0 : 1;

static string FindRepoRoot(string start)
{
    for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "GrantSilo.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException($"Could not find GrantSilo.sln above {start}.");
}
