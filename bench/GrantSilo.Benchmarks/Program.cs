using GrantSilo.Hosting;
// GrantSilo's lifecycle benchmark: on one in-process cluster (one silo; grain state in Orleans' memory storage, or
// with --local-storage in the silo's own memory as the embedded default keeps it; the audit's segment files as the
// embedded default writes them; a cluster client over loopback), measures a no-op grain call as the baseline, Authorize on a warm
// credential, credential issuance, and revoking delegation trees of 1,000 and 10,000 nodes. Reports
// ratios against the baseline measured in the same run.
//   dotnet run -c Release --project bench/GrantSilo.Benchmarks [-- --seconds 5 --concurrency 32 --lease-ms 2000]
//     [--tree-sizes 1000,10000 --tree-fanout 10 --build-concurrency 32 --check-concurrency 64 --tree-sessions 1 --tree-warm 0 --tree-patience 180 --trace-revoke 0]
// --lease-ms sets the decision-lease duration (0: every decision asks its task chain and session).
// --tree-sizes: the trees of row (d), revoked one after the other; --tree-sessions: how many worker
// sessions the tree's credentials are spread over; --tree-warm 1: authorize every credential once
// just before the revocation, so it must take their decision leases back; --trace-revoke 1: record
// every grain call from the revocation until the cascade is complete and summarize them;
// --tree-patience: seconds after the revocation before giving up on denials or the cascade.
// --tree-only: row (d) alone, for a profiler.
// --local-storage: grain state in the silo's own memory, as the embedded default (silo-host) keeps it, instead of
// Orleans' memory storage (storage grains: a grain call per read or write).
// --no-audit: the silo without the durable audit (GrantSilo:Audit:Enabled=false), to see what the audit costs a row.
// --cascade-steps N: GrantSilo:Lifecycle:MaxConcurrentCascadeSteps (default 128; 100000 for effectively no limit).
using System.Diagnostics;
using GrantSilo;
using GrantSilo.Benchmarks;
using GrantSilo.Client;
using GrantSilo.Grains.Hosting;
using GrantSilo.Testing;
using Orleans.TestingHost;

var seconds = ArgValue("--seconds", 5);
var concurrency = ArgValue("--concurrency", 32);
var duration = TimeSpan.FromSeconds(seconds);
var leaseMs = ArgValue("--lease-ms", -1);
var audited = !args.Contains("--no-audit");
if (leaseMs >= 0)
{
    BenchSilo.DecisionLease = TimeSpan.FromMilliseconds(leaseMs);
}
BenchSilo.LocalStorage = args.Contains("--local-storage");
if (ArgValue("--cascade-steps", 0) is > 0 and var steps)
{
    BenchSilo.CascadeSteps = steps;
}

BenchSilo.Trace = ArgValue("--trace-revoke", 0) > 0;
// Every call proves its caller, as in production: the silo trusts the test issuers (a JWKS file) and each
// call carries a token of the caller the access rules expect (the operator, the orchestrator, the agent,
// the gateway: ActingGrantClient).
var identity = TestIdentity.Shared;
// The no-op baselines are raw grain calls: they carry the harness's token too, in the request context (WithHarness).
var harnessToken = identity.HarnessToken();
async Task<T> WithHarness<T>(Func<Task<T>> call)
{
    TestIdentity.Attach(harnessToken);
    return await call();
}
await using var cluster = await DeployAsync<BenchSilo>();
var grants = new ActingGrantClient(new GrantClient(cluster.Client), identity);
// Decisions label their resource from the catalog, as in production: the operator catalogues the documents.
const string Catalog = """{ "entries": [ { "type": "doc", "path": "*", "classification": "internal" } ] }""";
_ = (await grants.PublishResourceCatalogAsync(Catalog, "person:bench-operator")).Value;

var run = Guid.NewGuid().ToString("N")[..6];
var ceiling = Scope.Create(["doc:*:*"], DataClassification.Confidential, 3).Value;
var planner = $"spiffe://bench.dev/{run}/planner";
var worker = $"spiffe://bench.dev/{run}/worker";
_ = (await grants.RegisterAgentAsync(planner, new AgentRegistration { Owner = "person:bench", Ceiling = ceiling })).Value;
_ = (await grants.RegisterAgentAsync(worker, new AgentRegistration { Owner = "person:bench", Ceiling = ceiling })).Value;
var root = (await grants.CreateTaskAsync(new CreateTaskRequest { Person = "person:bench", Agent = planner, Scope = ceiling, Lifetime = TimeSpan.FromHours(2) })).Value;
var session = (await grants.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value;
var credential = (await grants.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = root.TaskId })).Value;
var resource = new ResourceRef { Type = "doc", Path = "reports/q3" };

Console.WriteLine($"GrantSilo lifecycle benchmark: {Environment.ProcessorCount} cores, {concurrency} concurrent callers, {seconds}s per measurement, decision lease {(BenchSilo.DecisionLease ?? new GrantSiloOptions().DecisionLeaseDuration).TotalMilliseconds:0} ms, audit {(audited ? "on (segment files)" : "off")}, grain state in {(BenchSilo.LocalStorage ? "the silo's own memory (the embedded default's)" : "Orleans' memory storage")}, background cascade steps {(BenchSilo.CascadeSteps ?? new GrantSiloOptions().MaxConcurrentCascadeSteps)}");
Console.WriteLine("| operation                          |  ops/second  |  p50 (µs)  |  p99 (µs)  |");
Console.WriteLine("|------------------------------------|--------------|------------|------------|");

// One warm credential per caller, as the no-op calls one grain per caller; and, for comparison, the
// same two with every caller on one grain (one activation runs its turns one at a time, so there the
// grain's own work is serialized on one core).
var credentials = new IssuedCredential[concurrency];
for (var w = 0; w < concurrency; w++)
{
    var callerSession = (await grants.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value;
    credentials[w] = (await grants.IssueCredentialAsync(callerSession.SessionId, new IssueCredentialRequest { TaskId = root.TaskId })).Value;
}
async Task AuthorizeOne(IssuedCredential c)
{
    var decision = await grants.AuthorizeAsync(c.Token, "read", resource);
    if (!decision.IsAllowed)
    {
        throw new InvalidOperationException($"Benchmark credential denied: {decision.Reason} {decision.Detail}");
    }
}
if (ArgValue("--authorize-only", 0) is > 0 and var only)
{
    // For profiling: Authorize alone, for the given number of seconds.
    Console.WriteLine(await Measurement.RunAsync("(b) Authorize, warm credential", concurrency, TimeSpan.FromSeconds(only), (w, _) => AuthorizeOne(credentials[w])));
    return 0;
}
var treeOnly = args.Contains("--tree-only");
var echoSecret = new byte[32];
// --tree-only: row (d) alone (for a profiler).
var summary = new List<string>();
if (!treeOnly)
{
    // All of them run in alternating one-second slices, so that they see the same machine.
    var measured = await Measurement.InterleavedAsync(
    [
        ("(a) no-op grain call", (w, i) => WithHarness(() => cluster.Client.GetGrain<INoopGrain>($"noop-{w}").PingAsync((int)i))),
        ("(b) Authorize, warm credential", (w, _) => AuthorizeOne(credentials[w])),
        ("(a1) no-op, one grain for all", (_, i) => WithHarness(() => cluster.Client.GetGrain<INoopGrain>("noop-shared").PingAsync((int)i))),
        ("(a2) no-op with Authorize's shape", (w, _) => WithHarness(() => cluster.Client.GetGrain<IEchoDecisionGrain>($"echo-{w}").AuthorizeAsync(echoSecret, "read", resource))),
        ("(b1) Authorize, one credential", (_, _) => AuthorizeOne(credential)),
    ], concurrency, duration, TimeSpan.FromSeconds(1));
    var (noop, authorize, noopShared, authorizeShared, echo) = (measured[0], measured[1], measured[2], measured[4], measured[3]);
    foreach (var m in measured)
    {
        Console.WriteLine(m);
    }

    // Issuance: one session per caller (a session is one agent's), credentials for the root task.
    var sessions = new string[concurrency];
    for (var w = 0; w < concurrency; w++)
    {
        sessions[w] = (await grants.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value.SessionId;
    }
    // A session holds at most 1,000 live credentials (the default quota): each caller moves to a fresh
    // session every 900 credentials, which adds one session opening per 900 issuances.
    var issuedInSession = new int[concurrency];
    var issue = await Measurement.RunAsync("(c) credential issuance", concurrency, duration, async (w, n) =>
    {
        if (++issuedInSession[w] > 900)
        {
            sessions[w] = (await grants.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value.SessionId;
            issuedInSession[w] = 1;
        }
        _ = (await grants.IssueCredentialAsync(sessions[w], new IssueCredentialRequest { TaskId = root.TaskId, Lifetime = TimeSpan.FromMinutes(5) })).Value;
    });
    Console.WriteLine(issue);

    // (e) What the door costs: Authorize on a second cluster built without the caller gate, measured in
    // alternating slices with Authorize through the gate (token verified once per caller, then cached).
    var ungated = await DeployAsync<UngatedBenchSilo>();
    // Without the door there is no caller: the orchestrator is named in the request, as before the door existed.
    var open = new GrantClient(ungated.Client);
    _ = (await open.PublishResourceCatalogAsync(Catalog, "person:bench-operator")).Value;
    _ = (await open.RegisterAgentAsync(planner, new AgentRegistration { Owner = "person:bench", Ceiling = ceiling })).Value;
    var openRoot = (await open.CreateTaskAsync(new CreateTaskRequest { Person = "person:bench", Orchestrator = "service:bench", Agent = planner, Scope = ceiling, Lifetime = TimeSpan.FromHours(2) })).Value;
    var openCredentials = new IssuedCredential[concurrency];
    for (var w = 0; w < concurrency; w++)
    {
        var callerSession = (await open.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value;
        openCredentials[w] = (await open.IssueCredentialAsync(callerSession.SessionId, new IssueCredentialRequest { TaskId = openRoot.TaskId })).Value;
    }
    var gateway = grants.Harness;
    var openGateway = open;
    var door = await Measurement.InterleavedAsync(
    [
        ("(e) Authorize, caller authenticated", (w, _) => Allowed(gateway.AuthorizeAsync(credentials[w].Token, "read", resource))),
        ("(e0) Authorize, no caller gate", (w, _) => Allowed(openGateway.AuthorizeAsync(openCredentials[w].Token, "read", resource))),
    ], concurrency, duration, TimeSpan.FromSeconds(1));
    foreach (var m in door)
    {
        Console.WriteLine(m);
    }
    await ungated.StopAllSilosAsync();
    await ungated.DisposeAsync();

    // (f) Opening a session with a fresh JWT-SVID each time (never a cached verification), against a raw ES256
    // signature check of a token of the same size in the same process.
    var svid = identity.AgentToken(planner);
    var dot = svid.LastIndexOf('.');
    var signingInput = System.Text.Encoding.ASCII.GetBytes(svid[..dot]);
    using var es256 = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
    var signature = es256.SignData(signingInput, System.Security.Cryptography.HashAlgorithmName.SHA256);
    var asAgent = new GrantClient(cluster.Client);
    // An agent holds at most 1,000 live sessions: the openings are spread over enough agents for the run.
    var sessionAgents = new string[Math.Max(8, seconds * 2 * 4)];
    for (var i = 0; i < sessionAgents.Length; i++)
    {
        sessionAgents[i] = $"spiffe://bench.dev/{run}/session-{i}";
        _ = (await grants.RegisterAgentAsync(sessionAgents[i], new AgentRegistration { Owner = "person:bench", Ceiling = ceiling })).Value;
    }
    var opened = 0L;
    var sessionsOpened = await Measurement.InterleavedAsync(
    [
        ("(f) open session, fresh JWT-SVID", async (_, _) =>
        {
            var agent = sessionAgents[(int)((Interlocked.Increment(ref opened) / 900) % sessionAgents.Length)];
            _ = (await asAgent.As(new StaticCallerToken(identity.AgentToken(agent))).OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;
        }),
        ("(f0) raw ES256 verify", (_, _) => es256.VerifyData(signingInput, signature, System.Security.Cryptography.HashAlgorithmName.SHA256) ? Task.CompletedTask : throw new InvalidOperationException("bad signature")),
    ], concurrency, duration, TimeSpan.FromSeconds(1));
    foreach (var m in sessionsOpened)
    {
        Console.WriteLine(m);
    }
    summary.Add($"Ratio (b)/(a) Authorize vs no-op throughput: {authorize.Throughput / noop.Throughput:N2}x (target >= 0.5x)");
    summary.Add($"Ratio (a2)/(a) a call shaped like Authorize, doing nothing, vs the no-op: {echo.Throughput / noop.Throughput:N2}x");
    summary.Add($"Ratio (b1)/(a1) one credential vs one no-op grain for all callers: {authorizeShared.Throughput / noopShared.Throughput:N2}x");
    summary.Add($"Ratio (c)/(a) issuance vs no-op throughput:  {issue.Throughput / noop.Throughput:N2}x");
    summary.Add($"Ratio (e)/(e0) Authorize with caller authentication vs without: {door[0].Throughput / door[1].Throughput:N2}x (target >= 0.9x)");
    summary.Add($"Ratio (f)/(f0) session opening with JWT-SVID verification vs raw ES256 verification: {sessionsOpened[0].Throughput / sessionsOpened[1].Throughput:N3}x");
    summary.Add($"Latency ratio p50 (b)/(a): {authorize.P50Us / noop.P50Us:N2}x, (c)/(a): {issue.P50Us / noop.P50Us:N2}x");
}

// (d) Revoking delegation trees of each size (default 1,000 and 10,000 nodes), each node with a
// credential; see TreeRevocation for the shape and how denials and the cascade are followed. Own
// agents, whose ceiling allows the depth the largest tree needs, so rows (a)-(c) are untouched.
var treeSizes = ArgList("--tree-sizes", [1000, 10000]);
var fanOut = ArgValue("--tree-fanout", 10);
var treeHeight = treeSizes.Max(size => TreeRevocation.Shape(size, fanOut).Length - 1);
var treeCeiling = Scope.Create(["doc:*:*"], DataClassification.Confidential, Math.Max(3, treeHeight)).Value;
var treePlanner = $"spiffe://bench.dev/{run}/tree-planner";
var treeWorker = $"spiffe://bench.dev/{run}/tree-worker";
_ = (await grants.RegisterAgentAsync(treePlanner, new AgentRegistration { Owner = "person:bench", Ceiling = treeCeiling })).Value;
var trees = new TreeRevocation(grants, resource, treePlanner, treeWorker, treeCeiling)
{
    FanOut = fanOut,
    BuildConcurrency = ArgValue("--build-concurrency", 32),
    CheckConcurrency = ArgValue("--check-concurrency", 64),
    WorkerSessions = ArgValue("--tree-sessions", 1),
    Warm = ArgValue("--tree-warm", 0) > 0,
    Trace = BenchSilo.Trace,
    Patience = TimeSpan.FromSeconds(ArgValue("--tree-patience", 180)),
};
foreach (var size in treeSizes)
{
    Console.WriteLine();
    foreach (var line in TreeRevocation.Describe(await trees.RunAsync(size)))
    {
        Console.WriteLine(line);
    }
}

Console.WriteLine();
foreach (var line in summary)
{
    Console.WriteLine(line);
}

await cluster.StopAllSilosAsync();
return 0;

static async Task Allowed(Task<Decision> decision)
{
    var d = await decision;
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
    if (!audited)
    {
        builder.Properties["GrantSilo:Audit:Enabled"] = "false";
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

int[] ArgList(string name, int[] fallback)
{
    var index = Array.IndexOf(args, name);
    if (index < 0 || index + 1 >= args.Length)
    {
        return fallback;
    }
    var parts = args[index + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    return parts.Length > 0 && parts.All(p => int.TryParse(p, out var v) && v > 0) ? [.. parts.Select(int.Parse)] : fallback;
}

/// <summary>The same silo without the caller gate, for row (e0) only.</summary>
internal sealed class UngatedBenchSilo : ISiloConfigurator
{
    public void Configure(ISiloBuilder silo)
    {
        GrantSilo.Grains.Access.CallerGate.LeaveOutForMeasurement(silo.Services);
        new BenchSilo().Configure(silo);
    }
}

internal sealed class BenchSilo : ISiloConfigurator
{
    // The silo is in-process and built from this type, so the setting travels in a static.
    public static TimeSpan? DecisionLease { get; set; }

    /// <summary>Grain state in the silo's own memory, as the embedded default keeps it (--local-storage), instead of Orleans' memory storage.</summary>
    public static bool LocalStorage { get; set; }

    /// <summary>GrantSilo:Lifecycle:MaxConcurrentCascadeSteps, when set (--cascade-steps).</summary>
    public static int? CascadeSteps { get; set; }

    /// <summary>Records every grain call while <see cref="BenchTrace.On"/> (diagnostics for row (d)).</summary>
    public static bool Trace { get; set; }

    public void Configure(ISiloBuilder silo)
    {
        if (LocalStorage)
        {
            silo.AddLocalGrainStorage(GrantSiloStorage.Name);
        }
        else
        {
            silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        }
        if (Trace)
        {
            silo.AddIncomingGrainCallFilter<TraceIncomingFilter>();
            silo.AddOutgoingGrainCallFilter<TraceOutgoingFilter>();
        }
        silo.UseInMemoryReminderService();
        silo.AddGrantSilo(o =>
        {
            // (c) issues for one agent at full speed, far past a real agent's live credentials: the per-agent bound at
            // its highest, so what is measured is issuance, never its refusal.
            o.MaxLiveCredentialsPerAgent = 10_000_000;
            if (DecisionLease is { } lease)
            {
                o.DecisionLeaseDuration = lease;
            }
            if (CascadeSteps is { } steps)
            {
                o.MaxConcurrentCascadeSteps = steps;
            }
        });
        // One caller (the harness's gateway) pushes well past a real caller's rate: the per-caller limit at its highest,
        // so the measurements are of the door's work, never of its refusals.
        Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<GrantSilo.Grains.Access.CallerLimitOptions>(silo.Services, o =>
        {
            o.PermitsPerSecond = 1_000_000;
            o.Burst = 1_000_000;
        });
    }
}
