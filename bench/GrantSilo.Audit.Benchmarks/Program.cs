// What the durable audit costs Authorize: one process, single-silo in-process clusters alive together, each with
// --concurrency callers on warm credentials, measured in alternating one-second slices so every figure sees the same
// machine (after a warm-up that lasts until the JIT has settled):
//   (0) the audit off (GrantSilo:Audit:Enabled=false: nothing recorded, nothing waited for) — the baseline;
//   (1) the embedded default: records group-committed to segment files, one write and one fsync per batch;
//   (3) with --with-memory, the journal with an in-memory store (everything but the I/O);
//   (4) with --with-wait, the audit off but each decision waiting once inside the grain call;
// then, in a phase of its own against its own baseline (0'), (2) the Azure store on Azurite: entity group transactions.
// Reports throughput and p99 as ratios against the baseline. --files-only runs (1) alone, --off-only (0), --wait-only (4), for a profiler;
// GRANTSILO_BENCH_SLICES=FILE logs each slice's start and end for a profile of the whole run.
//   npm ci && dotnet run -c Release --project bench/GrantSilo.Audit.Benchmarks [-- --seconds 8 --concurrency 32]
using GrantSilo;
using GrantSilo.Benchmarks;
using GrantSilo.Client;
using GrantSilo.Grains.Audit;
using GrantSilo.Grains.Hosting;
using GrantSilo.Hosting;
using GrantSilo.Persistence.AzureTables;
using GrantSilo.Persistence.AzureTables.Audit;
using GrantSilo.Testing;
using GrantSilo.Testing.Azurite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

var seconds = ArgValue("--seconds", 8);
var concurrency = ArgValue("--concurrency", 32);
var identity = TestIdentity.Shared;
var scratch = Directory.CreateTempSubdirectory("grantsilo-audit-bench-");
await using var azurite = await AzuriteProcess.StartAsync();
AuditBenchSilo.AzuriteConnection = azurite.ConnectionString;
AuditBenchSilo.Scratch = scratch.FullName;

var off = await DeployAsync<AuditOffSilo>();
var files = await DeployAsync<FileAuditSilo>();
var tables = await DeployAsync<AzuriteAuditSilo>();
// --with-memory: a fourth row, the audit to the in-memory store (everything but the I/O), to tell the journal's own cost
// from the store's.
var withMemory = args.Contains("--with-memory");
var memory = withMemory ? await DeployAsync<MemoryAuditSilo>() : null;
var resource = new ResourceRef { Type = "doc", Path = "reports/q3" };
var (offClient, offCredentials) = await PrepareAsync(off);
var (filesClient, filesCredentials) = await PrepareAsync(files);
var (tablesClient, tablesCredentials) = await PrepareAsync(tables);
var (memoryClient, memoryCredentials) = memory is null ? (null, []) : await PrepareAsync(memory);
// --with-wait: a fifth row, the audit off but each decision waiting for an already-finished piece of work before it
// answers (a Task.Yield): what any wait inside the grain call costs, whatever it waits for.
var waiting = args.Contains("--with-wait") ? await DeployAsync<WaitOnlySilo>() : null;
var (waitClient, waitCredentials) = waiting is null ? (null, []) : await PrepareAsync(waiting);

// A decision whose record was not durable within the bound (1 s) is denied (AuditUnavailable): counted, not hidden.
var unaudited = new long[5];
if (args.Contains("--off-only"))
{
    // For a profiler: Authorize with the audit off alone, for --seconds (no ratios are printed).
    Console.WriteLine($"Audit off only, pid {Environment.ProcessId}");
    Console.WriteLine(await Measurement.RunAsync("(0) Authorize, audit off", concurrency, TimeSpan.FromSeconds(seconds),
        (w, _) => Allowed(offClient.AuthorizeAsync(offCredentials[w % offCredentials.Length].Token, "read", resource), 0)));
    return 0;
}
if (args.Contains("--files-only"))
{
    // For a profiler: Authorize with the audit to segment files alone, for --seconds (no ratios are printed).
    Console.WriteLine($"Segment files only, pid {Environment.ProcessId}");
    Console.WriteLine(await Measurement.RunAsync("(1) Authorize, audit to segment files", concurrency, TimeSpan.FromSeconds(seconds),
        (w, _) => Allowed(filesClient.AuthorizeAsync(filesCredentials[w % filesCredentials.Length].Token, "read", resource), 1)));
    return 0;
}
if (memoryClient is not null && args.Contains("--memory-only"))
{
    // For a profiler: Authorize with the audit to the in-memory store alone (with --with-memory).
    Console.WriteLine($"In-memory store only, pid {Environment.ProcessId}");
    Console.WriteLine(await Measurement.RunAsync("(3) Authorize, audit in memory", concurrency, TimeSpan.FromSeconds(seconds),
        (w, _) => Allowed(memoryClient.AuthorizeAsync(memoryCredentials[w % memoryCredentials.Length].Token, "read", resource), 3)));
    return 0;
}
if (waitClient is not null && args.Contains("--wait-only"))
{
    // For a profiler: Authorize with the audit off but one wait per call (with --with-wait).
    Console.WriteLine($"Wait only, pid {Environment.ProcessId}");
    Console.WriteLine(await Measurement.RunAsync("(4) audit off, waiting once per call", concurrency, TimeSpan.FromSeconds(seconds),
        (w, _) => Allowed(waitClient.AuthorizeAsync(waitCredentials[w % waitCredentials.Length].Token, "read", resource), 4)));
    return 0;
}
Console.WriteLine($"GrantSilo audit benchmark: {Environment.ProcessorCount} cores, {concurrency} concurrent callers, {seconds}s per measurement, alternating 1 s slices");
Console.WriteLine("| operation                          |  ops/second  |  p50 (µs)  |  p99 (µs)  | CPU µs/op | bytes/op |");
Console.WriteLine("|------------------------------------|--------------|------------|------------|-----------|----------|");
// Two phases, each with the audit off as its own baseline: the local rows together, then Azurite against the audit off
// alone. Azurite (a Node process on the same two cores) goes on persisting its database for a while after its slice ends,
// and interleaved with the local rows it charged that work to whichever slice came next.
var offRow = ("(0) Authorize, audit off", (Func<int, long, Task>)((w, _) => Allowed(offClient.AuthorizeAsync(offCredentials[w % offCredentials.Length].Token, "read", resource), 0)));
var local = await Measurement.InterleavedAsync(
[
    offRow,
    ("(1) Authorize, audit to segment files", (w, _) => Allowed(filesClient.AuthorizeAsync(filesCredentials[w % filesCredentials.Length].Token, "read", resource), 1)),
    .. (memoryClient is null ? Array.Empty<(string, Func<int, long, Task>)>() :
        [("(3) Authorize, audit in memory", (w, _) => Allowed(memoryClient.AuthorizeAsync(memoryCredentials[w % memoryCredentials.Length].Token, "read", resource), 3))]),
    .. (waitClient is null ? Array.Empty<(string, Func<int, long, Task>)>() :
        [("(4) audit off, waiting once per call", (w, _) => Allowed(waitClient.AuthorizeAsync(waitCredentials[w % waitCredentials.Length].Token, "read", resource), 4))]),
], concurrency, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
var localWarmUp = Measurement.WarmUpLog;
var remote = await Measurement.InterleavedAsync(
[
    offRow with { Item1 = "(0') Authorize, audit off (for (2))" },
    ("(2) Authorize, audit to Azurite", (w, _) => Allowed(tablesClient.AuthorizeAsync(tablesCredentials[w % tablesCredentials.Length].Token, "read", resource), 2)),
], concurrency, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
Measurement[] measured = [.. local, .. remote];
foreach (var m in measured)
{
    Console.WriteLine($"{m} {m.CpuUsPerOperation,9:N1} | {m.BytesPerOperation,8:N0} |");
}
// The group commits' size: lines per store write over the whole run.
foreach (var (name, cluster) in new[] { ("segment files", files), ("Azurite", tables), ("in memory", memory) })
{
    if (cluster is not null && ((InProcessSiloHandle)cluster.Primary!).SiloHost.Services.GetService<AuditJournal>() is { } journal)
    {
        var (writes, lines) = journal.Written;
        Console.WriteLine($"{name}: {writes:N0} writes, {(writes == 0 ? 0 : (double)lines / writes):N1} lines per write");
    }
}
Console.WriteLine($"Local rows' {localWarmUp}; Azurite's {Measurement.WarmUpLog}");
var (baseline, segment, azureBaseline, azure) = (local[0], local[1], remote[0], remote[1]);
Console.WriteLine();
Console.WriteLine($"Throughput (1)/(0) segment files vs audit off: {segment.Throughput / baseline.Throughput:N2}x (target >= 0.80x: at most 20% cost)");
Console.WriteLine($"Throughput (2)/(0') Azurite vs audit off:     {azure.Throughput / azureBaseline.Throughput:N2}x");
Console.WriteLine($"Denied for want of a durable record within 1 s (AuditUnavailable; counted in the throughput above): (0) {unaudited[0]}, (1) {unaudited[1]}, (2) {unaudited[2]}");
Console.WriteLine($"p99 (1)/(0): {segment.P99Us / baseline.P99Us:N2}x; p99 (2)/(0'): {azure.P99Us / azureBaseline.P99Us:N2}x; p50 (1)/(0): {segment.P50Us / baseline.P50Us:N2}x, (2)/(0'): {azure.P50Us / azureBaseline.P50Us:N2}x");

// Every allow above rests on a durable record: the stores hold them all, and their chains verify.
foreach (var (name, cluster) in new[] { ("segment files", files), ("Azurite", tables) })
{
    var verification = await new ActingGrantClient(new GrantClient(cluster.Client), identity).VerifyAuditAsync();
    Console.WriteLine($"{name}: {verification.Value.RecordsChecked:N0} records verified, intact: {verification.Value.Intact}");
}

if (memory is not null)
{
    Console.WriteLine($"Throughput (3)/(0) in-memory store vs audit off: {local[2].Throughput / baseline.Throughput:N2}x (the journal without I/O)");
}
if (waiting is not null)
{
    Console.WriteLine($"Throughput (4)/(0) a wait in the grain call vs none: {local[^1].Throughput / baseline.Throughput:N2}x (what suspending the call costs, whatever it waits for)");
}
foreach (var cluster in new[] { off, files, tables, memory, waiting }.OfType<TestCluster>())
{
    await cluster.StopAllSilosAsync();
    await cluster.DisposeAsync();
}
scratch.Delete(recursive: true);
return 0;

async Task<(ActingGrantClient Client, IssuedCredential[] Credentials)> PrepareAsync(TestCluster cluster)
{
    var grants = new ActingGrantClient(new GrantClient(cluster.Client), identity);
    _ = (await grants.PublishResourceCatalogAsync("""{ "entries": [ { "type": "doc", "path": "*", "classification": "internal" } ] }""", "person:bench-operator")).Value;
    var run = Guid.NewGuid().ToString("N")[..6];
    var ceiling = Scope.Create(["doc:*:*"], DataClassification.Confidential, 1).Value;
    var agent = $"spiffe://bench.dev/{run}/worker";
    _ = (await grants.RegisterAgentAsync(agent, new AgentRegistration { Owner = "person:bench", Ceiling = ceiling })).Value;
    var task = (await grants.CreateTaskAsync(new CreateTaskRequest { Person = "person:bench", Agent = agent, Scope = ceiling, Lifetime = TimeSpan.FromHours(2) })).Value;
    // One credential per caller, up to 256 (an agent's live sessions are limited); more callers share them.
    var credentials = new IssuedCredential[Math.Min(concurrency, 256)];
    for (var w = 0; w < credentials.Length; w++)
    {
        var session = (await grants.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;
        credentials[w] = (await grants.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId, Lifetime = TimeSpan.FromMinutes(15) })).Value;
    }
    return (grants, credentials);
}

async Task Allowed(Task<Decision> decision, int row)
{
    var d = await decision;
    if (d.Reason == DecisionReason.AuditUnavailable)
    {
        Interlocked.Increment(ref unaudited[row]);
        return;
    }
    if (!d.IsAllowed)
    {
        throw new InvalidOperationException($"Benchmark credential denied: {d.Reason} {d.Detail}");
    }
}

async Task<TestCluster> DeployAsync<TSilo>() where TSilo : ISiloConfigurator, new()
{
    var builder = new TestClusterBuilder(1);
    foreach (var (key, value) in identity.SiloConfiguration())
    {
        builder.Properties[key] = value!;
    }
    builder.AddSiloBuilderConfigurator<TSilo>();
    var built = builder.Build();
    await built.DeployAsync();
    return built;
}

int ArgValue(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], out var value) ? value : fallback;
}

internal static class AuditBenchSilo
{
    public static string AzuriteConnection { get; set; } = "";

    public static string Scratch { get; set; } = "";

    public static void Configure(ISiloBuilder silo, Action<ISiloBuilder> store, Action<AuditOptions>? audit = null)
    {
        silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        store(silo);
        silo.AddGrantSilo();
        // One caller pushes every decision: the per-caller limit at its highest, so what is measured is the audit's cost.
        silo.Services.Configure<GrantSilo.Grains.Access.CallerLimitOptions>(o =>
        {
            o.PermitsPerSecond = 1_000_000;
            o.Burst = 1_000_000;
        });
        var keys = Path.Combine(Scratch, "keys-" + Guid.NewGuid().ToString("N"));
        silo.Services.Configure<AuditOptions>(o =>
        {
            o.KeyDirectory = keys;
            audit?.Invoke(o);
        });
    }
}

internal sealed class AuditOffSilo : ISiloConfigurator
{
    public void Configure(ISiloBuilder silo) => AuditBenchSilo.Configure(silo, _ => { }, o => o.Enabled = false);
}

internal sealed class FileAuditSilo : ISiloConfigurator
{
    public void Configure(ISiloBuilder silo) =>
        AuditBenchSilo.Configure(silo, s => s.AddFileAuditStore(o => o.Directory = Path.Combine(AuditBenchSilo.Scratch, "segments")));
}

internal sealed class MemoryAuditSilo : ISiloConfigurator
{
    // A small memory store: it keeps its last 1,000 lines, so the heap does not grow with the records (the default keeps
    // 100,000, and collecting them would be measured as the journal's cost).
    public void Configure(ISiloBuilder silo) => AuditBenchSilo.Configure(silo, s => s.Services.AddSingleton<IAuditStore>(new MemoryAuditStore(capacity: 1_000)));
}

internal sealed class WaitOnlySilo : ISiloConfigurator
{
    public void Configure(ISiloBuilder silo)
    {
        AuditBenchSilo.Configure(silo, _ => { }, o => o.Enabled = false);
        silo.Services.AddSingleton<IAuditTrail>(new YieldingTrail());
    }

    // Records nothing; each call waits once (resumed through the thread pool), as a call waiting for its record would.
    private sealed class YieldingTrail : IAuditTrail
    {
        public ValueTask RecordAsync(AuditRecord record, CancellationToken cancellationToken) => YieldAsync();

        private static async ValueTask YieldAsync() => await Task.Yield();
    }
}

internal sealed class AzuriteAuditSilo : ISiloConfigurator
{
    public void Configure(ISiloBuilder silo) =>
        AuditBenchSilo.Configure(silo, s => s.AddAzureTableAuditStore(new AzureTableGrantOptions { ConnectionString = AuditBenchSilo.AzuriteConnection, AllowDevelopmentStorage = true }, configure: o => o.TableName = "benchaudit" + Guid.NewGuid().ToString("N")[..8]));
}
