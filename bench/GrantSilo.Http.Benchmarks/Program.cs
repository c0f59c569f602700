// AuthZEN POST /access/v1/evaluation over loopback HTTP/1.1 keep-alive, against a no-op endpoint on the same Kestrel
// and the same middleware, measured in alternating one-second slices in one run; then the batch endpoint's decisions
// per second. The silo, its HTTP API and the load generator share this process (and the machine's cores).
//
//   dotnet run -c Release --project bench/GrantSilo.Http.Benchmarks -- --seconds 8 --connections 32 --batch 16 [--no-audit]
//   [--introspection-only: RFC 7662 introspection against AuthZEN alone]
//   [--authzen-only, --noop-only, --echo-only: one endpoint alone, for a profiler or perf stat]
//   [--mark-cost: AuthZEN with and without the limited-door mark on its in-silo call, and one mark + check alone]
//   [--guard-cost [--guard-frames N] [--guard-token-bytes N]: frames through the gateway's frame guard vs a pass-through
//    middleware, in-memory pipes; a decision's CPU for scale; building the guard's interleaving table at start vs the whole
//    start to ready. With --allocations: the guard alone under an allocation sampler]
//   [--allocations [--unmarked]: AuthZEN alone under an allocation sampler; --unmarked without the limited-door mark]
//   [--tokens-only: issuing a signed credential vs raw ES256 signing; offline verification vs raw ES256 verification]
//   [--tokens-only --issuance-only: issuance alone, for a profiler]
//   [--tokens-only --credentials-per-session N: issuing loops open a new session every N credentials (default 900)]
//
// By default every decision waits for its durable audit record (the embedded default: segment files, one fsync per
// group commit), as in production. --no-audit turns the audit off (GrantSilo:Audit:Enabled=false), to measure the HTTP
// API's own cost without the disk's.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using GrantSilo;
using GrantSilo.Benchmarks;
using GrantSilo.Hosting;
using GrantSilo.Http;
using GrantSilo.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// The start, for --guard-cost: from here (the runtime is up) until the silo and its HTTP API are ready.
var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
var startAllocated = GC.GetTotalAllocatedBytes(precise: true);
var startCpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
var guardCost = args.Contains("--guard-cost");

var seconds = Option("--seconds", 8);
var connections = Option("--connections", 32);
var batch = Option("--batch", 16);
var audited = !args.Contains("--no-audit");
// The fixed rate of the open-loop latency measurement, as a share of AuthZEN's saturated throughput.
var openLoopShare = Option("--open-loop-percent", 50) / 100.0;

var (siloPort, gatewayPort, httpPort) = (FreePort(), FreePort(), FreePort());
// Hosted as silo-host hosts GrantSilo: content root the build output. With the working directory as content root, the
// configuration's change watcher would also watch the audit's segment directory (under the working directory) and wake
// on every group commit.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddInMemoryCollection(TestIdentity.Shared.SiloConfiguration());
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["GrantSilo:Http:Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
    // The limiters run (as in production) but never refuse: it is the endpoints that are measured (from one address).
    ["GrantSilo:Http:PermitsPerSecond"] = "1000000",
    ["GrantSilo:Http:Burst"] = "1000000",
    ["GrantSilo:Http:AddressPermitsPerSecond"] = "1000000",
    ["GrantSilo:Http:AddressBurst"] = "1000000",
    ["GrantSilo:Audit:Enabled"] = audited ? "true" : "false",
    // The issuance loops open a session every --credentials-per-session credentials and leave the older ones live (5-minute
    // credentials): far more than one agent's default bound on live credentials (10,000) in a few seconds.
    ["GrantSilo:Lifecycle:MaxLiveCredentialsPerAgent"] = "10000000",
});
if (guardCost)
{
    // Decisions made in-process through the SDK's client meet the door's per-caller limit (10,000/s by default); the
    // HTTP API's calls are exempt from it. It never refuses here: it is the decision's CPU that is measured.
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["GrantSilo:Callers:PermitsPerSecond"] = "1000000",
        ["GrantSilo:Callers:Burst"] = "1000000",
    });
}
builder.Logging.ClearProviders();
var silo = new SiloHostOptions { SiloPort = siloPort, GatewayPort = gatewayPort };
builder.UseOrleans(orleans => orleans.UseGrantSiloEmbeddedProfile(silo, builder.Configuration));
builder.AddGrantSiloHttpApi();
await using var app = builder.Build();
app.UseGrantSiloHttpApi();
// The baseline: the same request through the same Kestrel, middleware (the caller's token verified, from the cache)
// and rate limiter, answered with a fixed decision without reading the body.
var fixedAnswer = Encoding.UTF8.GetBytes("""{"decision":true}""");
app.MapPost("/bench/noop", (HttpContext http) =>
{
    http.Response.ContentType = "application/json";
    return http.Response.Body.WriteAsync(fixedAnswer).AsTask();
}).RequireRateLimiting(GrantSiloHttp.RateLimitPolicy);
// Where the time goes: the same request answered by an in-process grain call with Authorize's arguments and reply that
// decides nothing (made as the cluster's own, so it skips the door's checks too).
// The reference is taken once, as GrantSilo's own callers keep theirs: Orleans' GetGrain<T>(string) resolves the
// interface's grain type on every call (reflection over its attributes), which a profile put at about 12 CPU µs a request.
var echoReply = new ResourceRef { Type = "doc", Path = "reports/q3.md" };
IEchoDecisionGrain? echoGrain = null;
app.MapPost("/bench/echo", async (HttpContext http, IClusterClient cluster) =>
{
    Decision decision;
    using (GrantSilo.Grains.Access.OutsideCalls.Leave())
    {
        decision = await (echoGrain ??= cluster.GetGrain<IEchoDecisionGrain>("echo")).AuthorizeAsync([1, 2, 3], "read", echoReply);
    }
    http.Response.ContentType = "application/json";
    await http.Response.Body.WriteAsync(decision.Kind == DecisionKind.Allow ? fixedAnswer : []);
}).RequireRateLimiting(GrantSiloHttp.RateLimitPolicy);
// --guard-cost: the gateway guard's interleaving table is built where the silo's start would build it (when Orleans
// first reads its connection options), here instead, timed, cold, with the serializer and type converter it reads made
// first (the start makes them anyway). The start then finds it built.
var tableBuild = (Seconds: 0.0, CpuSeconds: 0.0, Bytes: 0L);
if (guardCost)
{
    app.Services.GetRequiredService<Orleans.Serialization.Serializer>();
    app.Services.GetRequiredService<Orleans.Serialization.TypeSystem.TypeConverter>();
    var cpuBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
    var bytesBefore = GC.GetAllocatedBytesForCurrentThread();
    var began = System.Diagnostics.Stopwatch.GetTimestamp();
    app.Services.GetRequiredService<GrantSilo.Grains.Gateway.ClientFrameRules>();
    tableBuild = (System.Diagnostics.Stopwatch.GetElapsedTime(began).TotalSeconds, (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds,
        GC.GetAllocatedBytesForCurrentThread() - bytesBefore);
}
await app.StartAsync();
var startSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(startedAt).TotalSeconds;
var startBytes = GC.GetTotalAllocatedBytes(precise: true) - startAllocated;
var startCpuSeconds = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - startCpu).TotalSeconds;

using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseProxy = false };
using var http = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), DefaultRequestVersion = HttpVersion.Version11 };
var identity = TestIdentity.Shared;
async Task<JsonElement> SendAsync(string path, string token, object body)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent(JsonSerializer.Serialize(body, JsonSerializerOptions.Web)) };
    request.Headers.Authorization = new("Bearer", token);
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
    }
    return JsonDocument.Parse(text).RootElement.Clone();
}

// One agent, one task, one warm credential; the gateway asks about it.
var operatorToken = identity.PersonToken("bench-ops@bench.dev", "operator");
await SendAsync("/v1/resource-catalog", operatorToken, new { text = """{ "entries": [ { "type": "doc", "path": "*", "classification": "internal" } ] }""" });
var agent = "spiffe://bench.dev/http/agent";
var scope = new { permissions = new[] { "doc:read:*" }, maxClassification = "internal", delegationDepth = 0 };
await SendAsync("/v1/agents", operatorToken, new { workloadId = agent, owner = "person:bench@bench.dev", ceiling = scope });
var task = await SendAsync("/v1/tasks", identity.ServiceToken("bench-orchestrator", "orchestrator"), new { person = "person:bench@bench.dev", agent, scope, lifetime = "02:00:00" });
var agentToken = identity.AgentToken(agent, TimeSpan.FromHours(2));
var session = await SendAsync("/v1/sessions", agentToken, new { agent });
var credential = await SendAsync($"/v1/sessions/{session.GetProperty("sessionId").GetString()}/credentials", agentToken, new { taskId = task.GetProperty("taskId").GetString(), lifetime = "00:15:00" });
var credentialToken = credential.GetProperty("token").GetString()!;
var gatewayToken = identity.ServiceToken("bench-gateway", "gateway");
var gateway = $"Bearer {gatewayToken}";

var evaluation = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
{
    subject = new { type = "credential", id = credentialToken },
    action = new { name = "read" },
    resource = new { type = "doc", id = "reports/q3.md" },
}));
var authorize = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { token = credentialToken, action = "read", resource = new { type = "doc", path = "reports/q3.md" } }, JsonSerializerOptions.Web));
var evaluations = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
{
    subject = new { type = "credential", id = credentialToken },
    action = new { name = "read" },
    evaluations = Enumerable.Range(0, batch).Select(i => new { resource = new { type = "doc", id = $"reports/{i}.md" } }).ToArray(),
}));

Func<int, long, Task> Post(string path, byte[] body, string expect) => async (_, _) =>
{
    using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
    request.Content.Headers.ContentType = new("application/json");
    request.Headers.TryAddWithoutValidation("Authorization", gateway);
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    // Every answer is checked: a fast refusal must never pass for a fast decision.
    if (response.StatusCode != HttpStatusCode.OK || !text.Contains(expect, StringComparison.Ordinal))
    {
        throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
    }
};

// RFC 7662 introspection of the same credential, a form body as the RFC has it.
var introspection = Encoding.UTF8.GetBytes("token=" + Uri.EscapeDataString(credentialToken));
Func<int, long, Task> PostForm(string path, byte[] body, string expect) => async (_, _) =>
{
    using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
    request.Content.Headers.ContentType = new("application/x-www-form-urlencoded");
    request.Headers.TryAddWithoutValidation("Authorization", gateway);
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (response.StatusCode != HttpStatusCode.OK || !text.Contains(expect, StringComparison.Ordinal))
    {
        throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
    }
};

if (guardCost)
{
    await GuardCostAsync();
    await app.StopAsync();
    return;
}
if (args.Contains("--tokens-only"))
{
    // The standard-tokens rows (bench/README.md): issuing a signed JWT credential on this embedded default silo against
    // a raw ES256 signature of a token-sized input; offline verification of the credential as a resource server does it
    // (Microsoft.IdentityModel from the JWKS, and GrantSilo's own door check) against a raw ES256 verification.
    using var outside = GrantSilo.Grains.Access.OutsideCalls.Enter();
    var asAgent = app.Services.GetRequiredService<HttpGrantClient>().For(agentToken);
    var taskId = task.GetProperty("taskId").GetString()!;
    var issuingSessions = new string[connections];
    // How many credentials each issuing loop takes from one session before it opens another (at most 1,000 live).
    var perSession = Math.Clamp(Option("--credentials-per-session", 900), 1, 900);
    var issuedIn = new int[connections];
    for (var w = 0; w < connections; w++)
    {
        issuingSessions[w] = (await asAgent.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value!.SessionId;
    }
    using var raw = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
    var dot = credentialToken.LastIndexOf('.');
    var signingInput = Encoding.ASCII.GetBytes(credentialToken[..dot]);
    var rawSignature = raw.SignData(signingInput, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    // Issues one credential as caller w: a session holds at most 1,000 live credentials, so a fresh one every perSession.
    async Task IssueAsync(int w, long _)
    {
        if (++issuedIn[w] > perSession)
        {
            issuingSessions[w] = (await asAgent.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value!.SessionId;
            issuedIn[w] = 1;
        }
        var issued = await asAgent.IssueCredentialAsync(issuingSessions[w], new IssueCredentialRequest { TaskId = taskId, Lifetime = TimeSpan.FromMinutes(5) });
        if (!issued.IsSuccess)
        {
            throw new InvalidOperationException(issued.Error!.ToString());
        }
    }
    if (args.Contains("--issuance-only"))
    {
        // For a profiler: issuance alone, for --seconds (no ratios are printed).
        Console.WriteLine($"Issuance only, pid {Environment.ProcessId}");
        Console.WriteLine(await Measurement.RunAsync("issue a signed JWT credential", connections, TimeSpan.FromSeconds(seconds), IssueAsync));
        await app.StopAsync();
        return;
    }
    var issuance = await Measurement.InterleavedAsync(
    [
        ("issue a signed JWT credential", IssueAsync),
        ("raw ES256 sign", (_, _) =>
        {
            _ = raw.SignData(signingInput, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            return Task.CompletedTask;
        }),
    ], connections, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));

    var jwks = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await http.GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative)));
    var published = jwks.Keys.Cast<Microsoft.IdentityModel.Tokens.SecurityKey>().ToList();
    var verifier = app.Services.GetRequiredService<GrantSilo.Grains.Tokens.CredentialTokenVerifier>();
    var issuer = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<GrantSilo.Grains.Tokens.TokenOptions>>().Value;
    var audience = GrantSilo.Identity.Tokens.CredentialJwt.ReadVerified(credentialToken)!.Audience;
    var verification = await Measurement.InterleavedAsync(
    [
        ("offline verify (Microsoft.IdentityModel)", async (_, _) =>
        {
            if ((await GrantSilo.Identity.Tokens.CredentialJwt.ValidateAsync(credentialToken, issuer.Issuer, audience, published, DateTimeOffset.UtcNow)).Refusal is { } refusal)
            {
                throw new InvalidOperationException(refusal.Reason);
            }
        }),
        ("offline verify (GrantSilo's door)", async (_, _) =>
        {
            if ((await verifier.VerifyAsync(credentialToken, CancellationToken.None)).Refusal is { } refusal)
            {
                throw new InvalidOperationException(refusal);
            }
        }),
        ("raw ES256 verify", (_, _) => raw.VerifyData(signingInput, rawSignature, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            ? Task.CompletedTask : throw new InvalidOperationException("bad signature")),
    ], connections, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
    foreach (var result in issuance.Concat(verification))
    {
        Console.WriteLine($"{result} {result.CpuUsPerOperation,14:N1} |");
    }
    Console.WriteLine($"Issuance / raw ES256 sign:                        {issuance[0].Throughput / issuance[1].Throughput:0.000}x (target >= 0.25x)");
    Console.WriteLine($"Offline verify (IdentityModel) / raw ES256 verify: {verification[0].Throughput / verification[2].Throughput:0.00}x (target >= 0.5x)");
    Console.WriteLine($"Offline verify (door) / raw ES256 verify:          {verification[1].Throughput / verification[2].Throughput:0.00}x");
    await app.StopAsync();
    return;
}

if (args.Contains("--introspection-only"))
{
    // Introspection against AuthZEN alone, in alternating slices (the standard-tokens row of bench/README.md).
    var pair = await Measurement.InterleavedAsync(
    [
        ("AuthZEN POST /evaluation", Post("/access/v1/evaluation", evaluation, "\"decision\":true")),
        ("POST /oauth2/introspect (RFC 7662)", PostForm("/oauth2/introspect", introspection, "\"active\":true")),
    ], connections, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
    foreach (var result in pair)
    {
        Console.WriteLine($"{result} {result.CpuUsPerOperation,14:N1} |");
    }
    Console.WriteLine($"Throughput introspection / AuthZEN: {pair[1].Throughput / pair[0].Throughput:0.00}x");
    await app.StopAsync();
    return;
}

if (args.Contains("--allocations"))
{
    // For allocation work: AuthZEN alone for --seconds under a sampling allocation profiler; the types allocated most.
    // --unmarked: the in-silo call without the limited-door mark (as the --mark-cost row), to compare what each allocates.
    GrantSilo.Grains.Access.ClusterCallKey.LimitedDoorOmittedForMeasurement = args.Contains("--unmarked");
    using var sampler = new AllocationSampler();
    var sampled = await Measurement.RunAsync("AuthZEN POST /evaluation", connections, TimeSpan.FromSeconds(seconds), Post("/access/v1/evaluation", evaluation, "\"decision\":true"));
    Console.WriteLine($"{sampled} {sampled.BytesPerOperation:N0} bytes/request");
    var total = sampler.Top(int.MaxValue).Sum(t => t.Bytes);
    foreach (var (type, bytes) in sampler.Top(40))
    {
        Console.WriteLine($"{bytes * 100.0 / total,6:N1}%  {bytes * (double)sampled.BytesPerOperation / total,8:N0} B/request  {type}");
    }
    await app.StopAsync();
    return;
}
if (args.Contains("--mark-cost"))
{
    // What the limited-door mark costs an HTTP decision: the same AuthZEN request, its in-silo call marked as the product
    // makes it (HMAC of the target, set in the request context, checked at the door), and with the mark left out
    // (ClusterCallKey.LimitedDoorOmittedForMeasurement: the call goes as it did before the mark, and the door exempts it
    // without looking). Each row sets the switch for its own slice; slices never overlap.
    Func<int, long, Task> Marked(bool omitted, Func<int, long, Task> operation) => (worker, n) =>
    {
        GrantSilo.Grains.Access.ClusterCallKey.LimitedDoorOmittedForMeasurement = omitted;
        return operation(worker, n);
    };
    var evaluate = Post("/access/v1/evaluation", evaluation, "\"decision\":true");
    var rows = await Measurement.InterleavedAsync(
    [
        ("no-op POST (same Kestrel)", Marked(false, Post("/bench/noop", evaluation, "\"decision\":true"))),
        ("AuthZEN POST /evaluation", Marked(false, evaluate)),
        ("AuthZEN, door call unmarked", Marked(true, evaluate)),
    ], connections, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
    GrantSilo.Grains.Access.ClusterCallKey.LimitedDoorOmittedForMeasurement = false;
    Console.WriteLine(Measurement.WarmUpLog);
    Console.WriteLine("| endpoint                           |  requests/s  |  p50 (µs)  |  p99 (µs)  | CPU µs/request | bytes allocated/request |");
    Console.WriteLine("|------------------------------------|--------------|------------|------------|----------------|-------------------------|");
    foreach (var result in rows)
    {
        Console.WriteLine($"{result} {result.CpuUsPerOperation,14:N1} | {result.BytesPerOperation,23:N0} |");
    }
    var (marked, unmarked) = (rows[1], rows[2]);
    Console.WriteLine($"Throughput AuthZEN / no-op: {marked.Throughput / rows[0].Throughput:0.000}x marked, {unmarked.Throughput / rows[0].Throughput:0.000}x unmarked");
    Console.WriteLine($"Throughput marked / unmarked: {marked.Throughput / unmarked.Throughput:0.000}x; CPU µs per request marked - unmarked: {marked.CpuUsPerOperation - unmarked.CpuUsPerOperation:0.0} ({(marked.CpuUsPerOperation - unmarked.CpuUsPerOperation) / marked.CpuUsPerOperation:0.0%} of a marked request)");

    // The mark alone: one LimitedDoorMark (the API's side) and one MatchesLimitedDoor (the door's) for the credential grain
    // the decision calls, one thread, 1,000 pairs per operation; against the request-context work the marker adds around
    // it (Remove, Set, and the door's Get), in alternating slices.
    var key = app.Services.GetRequiredService<GrantSilo.Grains.Access.ClusterCallKey>();
    var target = GrainId.Create("credential", GrantSilo.Identity.Tokens.CredentialJwt.ReadVerified(credentialToken)!.CredentialId);
    const int PerOperation = 1000;
    using var hmac = new GrantSilo.Grains.Keys.HmacKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    static void TwoHmacs(GrantSilo.Grains.Keys.HmacKey hmac, GrainId target, Span<byte> made, Span<byte> expected)
    {
        var id = new GrantSilo.Grains.Access.GrainIdBytes(target);
        Span<byte> buffer = stackalloc byte[id.Type.Length + 1 + id.Key.Length];
        id.Type.CopyTo(buffer);
        buffer[id.Type.Length] = 0;
        id.Key.CopyTo(buffer[(id.Type.Length + 1)..]);
        hmac.Compute(buffer, made);
        hmac.Compute(buffer, expected);
    }
    var pairs = 0L;
    var micro = await Measurement.InterleavedAsync(
    [
        ("LimitedDoorMark + MatchesLimitedDoor", (_, _) =>
        {
            for (var i = 0; i < PerOperation; i++)
            {
                pairs += key.MatchesLimitedDoor(key.LimitedDoorMark(target), target) ? 1 : 0;
            }
            return Task.CompletedTask;
        }),
        // The form before marks were kept: an HMAC on each side (a key of its own, over the same bytes as ClusterCallKey's).
        ("the same pair as two HMACs (as before)", (_, _) =>
        {
            Span<byte> made = stackalloc byte[32];
            Span<byte> expected = stackalloc byte[32];
            for (var i = 0; i < PerOperation; i++)
            {
                TwoHmacs(hmac, target, made, expected);
                pairs += System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(made, expected) ? 1 : 0;
            }
            return Task.CompletedTask;
        }),
        ("RequestContext Remove + Set + Get + Clear", (_, _) =>
        {
            var mark = new byte[32];
            for (var i = 0; i < PerOperation; i++)
            {
                RequestContext.Remove(GrantSilo.Grains.Access.ClusterCallKey.Header);
                RequestContext.Set(GrantSilo.Grains.Access.ClusterCallKey.LimitedDoorHeader, mark);
                pairs += RequestContext.Get(GrantSilo.Grains.Access.ClusterCallKey.LimitedDoorHeader) is null ? 0 : 1;
                RequestContext.Clear();
            }
            return Task.CompletedTask;
        }),
    ], 1, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
    Console.WriteLine();
    foreach (var result in micro)
    {
        var us = result.CpuUsPerOperation / PerOperation;
        Console.WriteLine($"{result.Name}: {1_000_000.0 / result.Throughput / PerOperation * 1000:N0} ns each (wall), {us * 1000:N0} ns CPU; {us / marked.CpuUsPerOperation:0.00%} of a marked AuthZEN request's CPU");
    }
    if (pairs == 0)
    {
        throw new InvalidOperationException("No mark matched.");
    }
    await app.StopAsync();
    return;
}
if (args.Contains("--authzen-only") || args.Contains("--noop-only") || args.Contains("--echo-only"))
{
    // For a profiler or a counter of instructions (perf stat): one endpoint alone, for --seconds (no ratios are printed).
    var (name, path) = args.Contains("--noop-only") ? ("no-op POST (same Kestrel)", "/bench/noop")
        : args.Contains("--echo-only") ? ("echo: a grain call deciding nothing", "/bench/echo")
        : ("AuthZEN POST /evaluation", "/access/v1/evaluation");
    Console.WriteLine($"{name} only, pid {Environment.ProcessId}");
    var alone = await Measurement.RunAsync(name, connections, TimeSpan.FromSeconds(seconds), Post(path, evaluation, "\"decision\":true"));
    Console.WriteLine($"{alone} {alone.CpuUsPerOperation,14:N1} | {alone.Operations} requests");
    await app.StopAsync();
    return;
}
Console.WriteLine($"Load generator: this process's HttpClient (SocketsHttpHandler, HTTP/1.1 keep-alive, {connections} connections, one request in flight per connection),");
Console.WriteLine($"sharing {Environment.ProcessorCount} cores with the silo and Kestrel; {seconds} s per endpoint in alternating 1 s slices.");
Console.WriteLine(audited
    ? "Audit: on (every decision waits for its record to be durable: segment files, one fsync per group commit)."
    : "Audit: off (--no-audit): the HTTP API's own cost, without the durable audit's.");
var results = await Measurement.InterleavedAsync(
[
    ("no-op POST (same Kestrel)", Post("/bench/noop", evaluation, "\"decision\":true")),
    ("AuthZEN POST /evaluation", Post("/access/v1/evaluation", evaluation, "\"decision\":true")),
    ("POST /v1/authorize (same decision)", Post("/v1/authorize", authorize, "\"kind\":\"allow\"")),
    ("echo: a grain call deciding nothing", Post("/bench/echo", evaluation, "\"decision\":true")),
    ("POST /oauth2/introspect (RFC 7662)", PostForm("/oauth2/introspect", introspection, "\"active\":true")),
], connections, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
var batched = await Measurement.RunAsync($"AuthZEN /evaluations x{batch}", connections, TimeSpan.FromSeconds(Math.Max(2, seconds / 2)),
    Post("/access/v1/evaluations", evaluations, "\"evaluations\":[{\"decision\":true"));

Console.WriteLine();
Console.WriteLine("| endpoint                           |  requests/s  |  p50 (µs)  |  p99 (µs)  | CPU µs/request | bytes allocated/request | gen-0 GCs per 10k |");
Console.WriteLine("|------------------------------------|--------------|------------|------------|----------------|-------------------------|-------------------|");
foreach (var result in results.Append(batched))
{
    Console.WriteLine($"{result} {result.CpuUsPerOperation,14:N1} | {result.BytesPerOperation,23:N0} | {result.Gen0PerTenThousand,17:N2} |");
}
var (noop, authzen) = (results[0], results[1]);

// Latency where it is not just the queue: at a fixed rate both endpoints sustain (half AuthZEN's saturated throughput
// above), open loop, each latency counted from when its request was sent. At saturation (above) every request waits
// behind the others in flight, so p99 there mostly restates the throughput ratio.
var rate = Math.Floor(authzen.Throughput * openLoopShare / 100) * 100;
var paced = await Measurement.FixedRateAsync(
[
    ("no-op POST (same Kestrel)", Post("/bench/noop", evaluation, "\"decision\":true")),
    ("AuthZEN POST /evaluation", Post("/access/v1/evaluation", evaluation, "\"decision\":true")),
], rate, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
Console.WriteLine();
Console.WriteLine($"At a fixed {rate:N0} requests/s ({openLoopShare:0%} of AuthZEN's saturated throughput), open loop, latency from when each request was sent:");
Console.WriteLine("| endpoint                           |  p50 (µs)  |  p99 (µs)  |");
Console.WriteLine("|------------------------------------|------------|------------|");
foreach (var result in paced)
{
    Console.WriteLine($"| {result.Name,-34} | {result.P50Us,10:N1} | {result.P99Us,10:N1} |");
}

Console.WriteLine();
Console.WriteLine($"Throughput AuthZEN / no-op (saturated): {authzen.Throughput / noop.Throughput:0.00}x (target >= 0.5x)");
Console.WriteLine($"p99 AuthZEN / no-op at {rate:N0}/s:      {paced[1].P99Us / paced[0].P99Us:0.00}x (target <= 2x)");
Console.WriteLine($"p99 AuthZEN / no-op (saturated):        {authzen.P99Us / noop.P99Us:0.00}x");
Console.WriteLine($"Batch: {batched.Throughput * batch:N0} decisions/s ({batch} per request)");
Console.WriteLine($"Throughput introspection / AuthZEN: {results[4].Throughput / authzen.Throughput:0.00}x");
await app.StopAsync();

// --guard-cost (bench/README.md, "What the gateway guard costs").
async Task GuardCostAsync()
{
    var frames = Math.Max(1, Option("--guard-frames", 1000));
    var credentialId = GrantSilo.Identity.Tokens.CredentialJwt.ReadVerified(credentialToken)!.CredentialId;
    // The caller's token, as a request context carries it: this run's gateway token (a JWT-SVID of about 360 bytes) grown
    // to --guard-token-bytes (default 1,024, about an OIDC access token's size) with more of its own characters.
    var tokenBytes = Math.Max(1, Option("--guard-token-bytes", 1024));
    var callerToken = Enumerable.Repeat(GrantSilo.GrainInterfaces.CallerHeaders.Encode(gatewayToken), tokenBytes).SelectMany(b => b).Take(tokenBytes).ToArray();
    // One client per connection at a time (a client id is held by one connection); a connection per core.
    var concurrency = Environment.ProcessorCount;
    var streams = Enumerable.Range(0, concurrency).Select(_ => GuardCost.Streams(app.Services, ClientFrames.NewClient(), credentialId, callerToken)).ToArray();
    var (small, large) = (streams[0].Small.Frame.Length, streams[0].Large.Frame.Length);
    var cost = new GuardCost(app.Services);
    if (args.Contains("--allocations"))
    {
        // For allocation work: the guard with small frames alone, under the sampling allocation profiler; the types allocated most.
        using var sampler = new AllocationSampler();
        var sampled = await Measurement.RunAsync("guard, small", concurrency, TimeSpan.FromSeconds(seconds), (w, _) => cost.SendAsync(guarded: true, streams[w].Small, frames));
        Console.WriteLine($"{sampled.Throughput * frames:N0} frames/s, {sampled.BytesPerOperation / frames:N1} bytes/frame");
        var total = sampler.Top(int.MaxValue).Sum(t => t.Bytes);
        foreach (var (type, bytes) in sampler.Top(25))
        {
            Console.WriteLine($"{bytes * 100.0 / total,6:N1}%  {bytes * sampled.BytesPerOperation / total / frames,8:N1} B/frame  {type}");
        }
        return;
    }
    Console.WriteLine($"Gateway guard, pid {Environment.ProcessId}: {concurrency} connections at a time, each a preamble then {frames:N0} frames (one write each) over in-memory pipes;");
    Console.WriteLine($"small frame {small:N0} bytes (Authorize, the caller's token referred to by its SHA-256), large {large:N0} bytes (Authorize, the caller's {callerToken.Length:N0}-byte token in the request context).");
    var rows = await Measurement.InterleavedAsync(
    [
        ($"guard, small ({small:N0} B)", (w, _) => cost.SendAsync(guarded: true, streams[w].Small, frames)),
        ($"pass-through, small ({small:N0} B)", (w, _) => cost.SendAsync(guarded: false, streams[w].Small, frames)),
        ($"guard, large ({large:N0} B)", (w, _) => cost.SendAsync(guarded: true, streams[w].Large, frames)),
        ($"pass-through, large ({large:N0} B)", (w, _) => cost.SendAsync(guarded: false, streams[w].Large, frames)),
    ], concurrency, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
    Console.WriteLine(Measurement.WarmUpLog);

    // A decision for scale: Authorize through the SDK's client on this silo (the door, the credential grain, policy),
    // in-process, no HTTP and no gateway; the audit as this run has it.
    using var outside = GrantSilo.Grains.Access.OutsideCalls.Enter();
    var client = app.Services.GetRequiredService<HttpGrantClient>().For(gatewayToken);
    var resource = new ResourceRef { Type = "doc", Path = "reports/q3.md" };
    var decisions = await Measurement.InterleavedAsync(
    [
        ("Authorize (SDK client, in-process)", async (_, _) =>
        {
            var decision = await client.AuthorizeAsync(credentialToken, "read", resource);
            if (decision.Kind != DecisionKind.Allow)
            {
                throw new InvalidOperationException($"Authorize: {decision.Kind} {decision.Reason}");
            }
        }),
    ], connections, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(1));
    var decisionCpu = decisions[0].CpuUsPerOperation;

    Console.WriteLine();
    Console.WriteLine("| row                                |   frames/s   | CPU µs/frame | bytes allocated/frame |");
    Console.WriteLine("|------------------------------------|--------------|--------------|-----------------------|");
    foreach (var row in rows)
    {
        Console.WriteLine($"| {row.Name,-34} | {row.Throughput * frames,12:N0} | {row.CpuUsPerOperation / frames,12:N3} | {row.BytesPerOperation / frames,21:N1} |");
    }
    Console.WriteLine($"| {decisions[0].Name,-34} | {decisions[0].Throughput,12:N0} | {decisionCpu,12:N1} | {decisions[0].BytesPerOperation,21:N0} |   (decisions, {connections} callers; audit {(audited ? "on" : "off")})");
    Console.WriteLine();
    foreach (var (guarded, passed, size) in new[] { (rows[0], rows[1], "small"), (rows[2], rows[3], "large") })
    {
        var own = (guarded.CpuUsPerOperation - passed.CpuUsPerOperation) / frames;
        Console.WriteLine($"{size}: frames/s guard / pass-through {guarded.Throughput / passed.Throughput:0.000}x; CPU per frame {guarded.CpuUsPerOperation / passed.CpuUsPerOperation:0.00}x; "
            + $"the guard's own CPU {own:0.000} µs a frame = {own / decisionCpu:0.0%} of this run's decision ({decisionCpu:0.0} µs), {own / 14:0.0%}-{own / 35:0.0%} of the 14-35 µs in bench/README.md");
    }

    // Start-up: the table (above, cold, in this start) against the whole start; then rebuilt warm, for what the reflection
    // itself costs once every type is loaded.
    var types = app.Services.GetRequiredService<Orleans.Serialization.TypeSystem.TypeConverter>();
    var table = GrantSilo.Grains.Gateway.ClientFrameRules.DeclaredInterleaving(types);
    const int Rebuilds = 5;
    var warmBytes = GC.GetAllocatedBytesForCurrentThread();
    var warmCpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
    var warmBegan = System.Diagnostics.Stopwatch.GetTimestamp();
    for (var i = 0; i < Rebuilds; i++)
    {
        table = GrantSilo.Grains.Gateway.ClientFrameRules.DeclaredInterleaving(types);
    }
    var warmSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(warmBegan).TotalSeconds / Rebuilds;
    var warmCpuSeconds = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - warmCpu).TotalSeconds / Rebuilds;
    warmBytes = (GC.GetAllocatedBytesForCurrentThread() - warmBytes) / Rebuilds;
    Console.WriteLine();
    Console.WriteLine($"Start-up: {table.Count} calls declare interleaving flags; the process was {AppDomain.CurrentDomain.GetAssemblies().Length} assemblies at the end.");
    Console.WriteLine("| what                                           |   wall ms  |   CPU ms   |  MB allocated |");
    Console.WriteLine("|------------------------------------------------|------------|------------|---------------|");
    Console.WriteLine($"| start to ready (host built, silo and API up)   | {startSeconds * 1000,10:N1} | {startCpuSeconds * 1000,10:N1} | {startBytes / 1e6,13:N2} |");
    Console.WriteLine($"| interleaving table, cold, within that start    | {tableBuild.Seconds * 1000,10:N1} | {tableBuild.CpuSeconds * 1000,10:N1} | {tableBuild.Bytes / 1e6,13:N2} |");
    Console.WriteLine($"| interleaving table, rebuilt warm (mean of {Rebuilds})    | {warmSeconds * 1000,10:N1} | {warmCpuSeconds * 1000,10:N1} | {warmBytes / 1e6,13:N2} |");
    Console.WriteLine($"Table / start: {tableBuild.Seconds / startSeconds:0.0%} of the wall time, {tableBuild.CpuSeconds / startCpuSeconds:0.0%} of the CPU, {(double)tableBuild.Bytes / startBytes:0.0%} of the allocation (cold); warm rebuild {warmSeconds / startSeconds:0.0%} of the wall time.");
}

static ByteArrayContent JsonContent(string json)
{
    var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
    content.Headers.ContentType = new("application/json");
    return content;
}

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
