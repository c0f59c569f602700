using GrantSilo.Hosting;
// The end-to-end workload: delegations, authorizations and revocations against a GrantSilo cluster,
// recorded as a JSON-lines history the end-to-end tests check. Configured like any GrantSilo client
// (GrantSilo:Client, GrantSilo:Storage) plus Workload:* (see WorkloadOptions). Every call carries a token
// of the test issuers the silos trust, minted here with the test's key (Workload:IdentityKeyFile).
using System.Diagnostics;
using System.Text.Json;
using GrantSilo;
using GrantSilo.Client;
using GrantSilo.EndToEnd.Workload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// `check HISTORY [PHASES]`: checks a finished run's history (the container test, scripts/container-test.sh).
if (args is ["check", ..])
{
    return ContainerRunCheck.Run(args[1..]);
}

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("Orleans", LogLevel.Error);
var options = new WorkloadOptions();
builder.Configuration.GetSection("Workload").Bind(options);
builder.AddGrantSiloAzureTableClient();
using var host = builder.Build();
await host.StartAsync();
var identity = GrantSilo.Testing.TestIdentity.Load(options.IdentityKeyFile ?? throw new InvalidOperationException("Set Workload:IdentityKeyFile (TestIdentity.KeyFile of the test that started the silos)."));
var client = new GrantSilo.Testing.ActingGrantClient(host.Services.GetRequiredService<GrantClient>(), identity);
// Workload:HttpEndpoints: decisions and revocations through the silos' HTTP API (the container test); else the SDK.
using var http = options.HttpEndpoints is { Length: > 0 } endpoints
    ? new SiloHttpApi(
        [.. endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(e => new Uri(e.EndsWith('/') ? e : e + "/"))],
        identity.Harness,
        SiloHttpApi.Handler(options.HttpCaFile ?? builder.Configuration["GrantSilo:Client:Tls:CaFile"] ?? throw new InvalidOperationException("Set Workload:HttpCaFile (the CA the silos' certificates chain to).")),
        TimeProvider.System)
    : null;

await using var history = new History(options.HistoryPath ?? throw new InvalidOperationException("Set Workload:HistoryPath."));
var runner = new Runner(client, history, options, http);
await runner.SetUpAsync();
if (options.AuthorizeOnly)
{
    // Throughput of Authorize alone, for the container benchmark (bench/README.md): one live credential, asked about
    // by Concurrency callers in a loop for Duration.
    Console.WriteLine("WORKLOAD STARTED");
    Console.WriteLine(await runner.AuthorizeThroughputAsync(options.Concurrency, options.Duration));
    await host.StopAsync();
    return 0;
}
Console.WriteLine("WORKLOAD STARTED");
var stop = DateTime.UtcNow + options.Duration;
await Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(i => runner.RunAsync(i, stop)));
if (options.FinalSweep)
{
    await runner.FinalSweepAsync();
}
Console.WriteLine($"WORKLOAD DONE {history.Count} invocations");
if (http is not null)
{
    Console.WriteLine($"WORKLOAD HTTP served per silo: {string.Join(", ", http.Silos.Zip(http.Served, (silo, served) => $"{silo.Authority} {served}"))}");
}
await host.StopAsync();
return 0;

internal sealed class WorkloadOptions
{
    public string? HistoryPath { get; set; }

    /// <summary>The test issuers' private key file (<c>TestIdentity.KeyFile</c>), to mint the callers' tokens with.</summary>
    public string? IdentityKeyFile { get; set; }

    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(30);

    public int Concurrency { get; set; } = 4;

    /// <summary>No invocation may take longer; one that does is recorded as a timeout.</summary>
    public TimeSpan CallDeadline { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The lifetime of short-lived credentials (every other one), so expiry is exercised too.</summary>
    public TimeSpan ShortCredentialLifetime { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Stop early once this file exists (the container test stops the workload when its operator actions are done).</summary>
    public string? StopFile { get; set; }

    /// <summary>Measure Authorize throughput only (one credential, Concurrency callers, Duration) instead of the mixed workload.</summary>
    public bool AuthorizeOnly { get; set; }

    /// <summary>After the run, ask again about every credential whose revocation (or its task's) was acknowledged.</summary>
    public bool FinalSweep { get; set; }

    /// <summary>
    /// The silos' HTTP APIs, comma-separated (<c>https://127.0.0.1:8081,https://127.0.0.1:8082</c>): when set, every
    /// Authorize and every revocation goes through them (<see cref="SiloHttpApi"/>); the rest of the workload's calls
    /// (registering, creating, delegating, issuing) still go through the SDK.
    /// </summary>
    public string? HttpEndpoints { get; set; }

    /// <summary>The CA the silos' HTTPS certificates chain to (PEM); defaults to GrantSilo:Client:Tls:CaFile.</summary>
    public string? HttpCaFile { get; set; }
}

/// <summary>Appends records to the history file, one JSON line each, flushed as written.</summary>
internal sealed class History(string path) : IAsyncDisposable
{
    private readonly StreamWriter _writer = new(path, append: false) { AutoFlush = true };
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _count;

    public int Count => _count;

    public async Task AppendAsync(HistoryRecord record)
    {
        var line = JsonSerializer.Serialize(record, HistoryRecord.Json);
        await _gate.WaitAsync();
        try
        {
            await _writer.WriteLineAsync(line);
            _count++;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync();
        _gate.Dispose();
    }
}

/// <summary>
/// Each call made by the caller the access rules expect: the harness (a service with every role) registers,
/// creates root tasks, revokes and authorizes; each agent opens its own sessions, is issued its own
/// credentials and delegates its own tasks, with its own JWT-SVID.
/// </summary>
internal sealed class Runner(GrantSilo.Testing.ActingGrantClient acting, History history, WorkloadOptions options, SiloHttpApi? http = null)
{
    private readonly GrantClient _harness = acting.Harness;
    private GrantClient _plannerClient = null!;
    private GrantClient _workerClient = null!;
    private static readonly ResourceRef Document = new() { Type = "repo", Path = "acme/payments/README.md" };
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly List<(IssuedCredential Credential, IReadOnlyList<string> Chain)> _issued = [];
    private string _planner = "";
    private string _worker = "";

    private static Scope ScopeOf(int depth, params string[] permissions) => Scope.Create(permissions, DataClassification.Confidential, depth).Value;

    public async Task SetUpAsync()
    {
        _planner = $"spiffe://e2e.dev/{_run}/planner";
        _worker = $"spiffe://e2e.dev/{_run}/worker";
        _plannerClient = acting.AsAgent(_planner);
        _workerClient = acting.AsAgent(_worker);
        // Set-up retries until the cluster answers; everything after it is recorded as it happens.
        foreach (var (agent, ceiling) in new[] { (_planner, ScopeOf(2, "repo:*:acme/*")), (_worker, ScopeOf(0, "repo:read:acme/*")) })
        {
            var result = await GrantSilo.Testing.Eventually.LastAsync(
                () => _harness.RegisterAgentAsync(agent, new AgentRegistration { Owner = "person:alice@e2e.dev", Ceiling = ceiling }),
                r => r.IsSuccess,
                TimeSpan.FromSeconds(60));
            if (!result.IsSuccess)
            {
                throw new InvalidOperationException($"Could not register {agent}: {result.Error}");
            }
        }
        // The workload is about ends under crashes, not labels: every resource is catalogued as public.
        await GrantSilo.Testing.TestCatalogs.PublishPermissiveAsync(acting, TimeSpan.FromSeconds(60));
    }

    public async Task RunAsync(int worker, DateTime stop)
    {
        var random = new Random(worker * 7919 + Environment.ProcessId);
        var iteration = 0;
        while (DateTime.UtcNow < stop && (options.StopFile is null || !File.Exists(options.StopFile)))
        {
            iteration++;
            await IterationAsync(random, iteration);
        }
    }

    private async Task IterationAsync(Random random, int iteration)
    {
        var root = await CallAsync("create-task", () => _harness.CreateTaskAsync(new CreateTaskRequest
        {
            Person = "person:alice@e2e.dev",
            Agent = _planner,
            Scope = ScopeOf(1, "repo:read:acme/*"),
            Lifetime = TimeSpan.FromMinutes(2),
        }), r => r.TaskId);
        if (root is null)
        {
            return;
        }
        var plannerCredential = await IssueAsync(_planner, root.TaskId, [root.TaskId], TimeSpan.FromMinutes(1));
        if (plannerCredential is null)
        {
            return;
        }
        var child = await CallAsync("delegate", () => _plannerClient.DelegateAsync(root.TaskId, new DelegationRequest
        {
            ProofToken = plannerCredential.Token,
            Agent = _worker,
            Scope = ScopeOf(0, "repo:read:acme/payments/*"),
            Lifetime = TimeSpan.FromMinutes(1),
        }), r => r.TaskId);
        if (child is null)
        {
            return;
        }
        var lifetime = iteration % 2 == 0 ? options.ShortCredentialLifetime : TimeSpan.FromSeconds(45);
        var workerCredential = await IssueAsync(_worker, child.TaskId, [root.TaskId, child.TaskId], lifetime);
        if (workerCredential is null)
        {
            return;
        }
        for (var i = 0; i < 3; i++)
        {
            await AuthorizeAsync(workerCredential);
            await AuthorizeAsync(plannerCredential);
        }

        // One in four iterations revokes nothing, so credentials also end by expiry alone.
        switch (random.Next(4))
        {
            case 0:
                await RevokeCredentialAsync(workerCredential.CredentialId);
                break;
            case 1:
                await RevokeTaskAsync(child.TaskId);
                break;
            case 2:
                await RevokeTaskAsync(root.TaskId);
                break;
            default:
                break;
        }
        await AuthorizeAsync(workerCredential);
        await AuthorizeAsync(plannerCredential);

        // Older credentials again: some revoked, some expired, some still live.
        IssuedCredential[] older;
        lock (_issued)
        {
            older = [.. _issued.OrderBy(_ => random.Next()).Take(3).Select(i => i.Credential)];
        }
        foreach (var credential in older)
        {
            await AuthorizeAsync(credential);
        }
    }

    /// <summary>Authorizes one live credential from <paramref name="concurrency"/> loops for <paramref name="duration"/> (after a 3 s warm-up).</summary>
    public async Task<string> AuthorizeThroughputAsync(int concurrency, TimeSpan duration)
    {
        var root = await _harness.CreateTaskAsync(new CreateTaskRequest
        {
            Person = "person:alice@e2e.dev",
            Agent = _planner,
            Scope = ScopeOf(1, "repo:read:acme/*"),
            Lifetime = TimeSpan.FromMinutes(10),
        });
        var session = await _plannerClient.OpenSessionAsync(new OpenSessionRequest { Agent = _planner });
        var credential = await _plannerClient.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = root.Value.TaskId, Lifetime = TimeSpan.FromMinutes(10) });
        var token = credential.Value.Token;
        async Task<List<double>> LoopAsync(DateTime until)
        {
            var latencies = new List<double>();
            while (DateTime.UtcNow < until)
            {
                var started = Stopwatch.GetTimestamp();
                var decision = await _harness.AuthorizeAsync(token, "read", Document);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!decision.IsAllowed)
                {
                    throw new InvalidOperationException($"The benchmark credential was denied: {decision.Reason}");
                }
            }
            return latencies;
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => LoopAsync(DateTime.UtcNow + TimeSpan.FromSeconds(3))));
        var clock = Stopwatch.StartNew();
        var all = (await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => LoopAsync(DateTime.UtcNow + duration)))).SelectMany(l => l).Order().ToList();
        var seconds = clock.Elapsed.TotalSeconds;
        return FormattableString.Invariant($"AUTHORIZE {all.Count} allows in {seconds:0.0} s: {all.Count / seconds:0} per s, p50 {all[all.Count / 2]:0.00} ms, p99 {all[(int)(all.Count * 0.99)]:0.00} ms, concurrency {concurrency}");
    }

    /// <summary>
    /// Authorizes, once more, every issued credential whose revocation, or whose task's or an ancestor task's, was
    /// acknowledged during the run (recorded with <see cref="HistoryRecord.Final"/>): each must be denied.
    /// </summary>
    public async Task FinalSweepAsync()
    {
        (IssuedCredential Credential, IReadOnlyList<string> Chain)[] issued;
        lock (_issued)
        {
            issued = [.. _issued];
        }
        var ended = issued.Where(i => _revokedCredentials.ContainsKey(i.Credential.CredentialId) || i.Chain.Any(_revokedTasks.ContainsKey)).ToList();
        foreach (var (credential, _) in ended)
        {
            await AuthorizeAsync(credential, final: true);
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _revokedCredentials = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _revokedTasks = new();

    // Each agent's current session and how many credentials it was asked for. An agent keeps a session for a while, as
    // a real one does, and opens a new one every SessionUses credentials (or when it ended): a session per credential
    // would reach the agent's quota of live sessions (MaxLiveSessionsPerAgent) in a long run.
    private const int SessionUses = 25;
    private readonly Dictionary<string, (string SessionId, int Uses)> _sessions = [];

    private async Task<string?> SessionAsync(string agent, GrantClient itself)
    {
        lock (_sessions)
        {
            if (_sessions.TryGetValue(agent, out var current) && current.Uses < SessionUses)
            {
                _sessions[agent] = (current.SessionId, current.Uses + 1);
                return current.SessionId;
            }
        }
        var session = await CallAsync("open-session", () => itself.OpenSessionAsync(new OpenSessionRequest { Agent = agent }), r => r.SessionId);
        if (session is not null)
        {
            lock (_sessions)
            {
                _sessions[agent] = (session.SessionId, 1);
            }
        }
        return session?.SessionId;
    }

    private async Task<IssuedCredential?> IssueAsync(string agent, string taskId, IReadOnlyList<string> chain, TimeSpan lifetime)
    {
        var itself = agent == _planner ? _plannerClient : _workerClient;
        var sessionId = await SessionAsync(agent, itself);
        if (sessionId is null)
        {
            return null;
        }
        var start = DateTime.UtcNow.Ticks;
        var (result, outcome) = await WithDeadlineAsync(() => itself.IssueCredentialAsync(sessionId, new IssueCredentialRequest { TaskId = taskId, Lifetime = lifetime }));
        var end = DateTime.UtcNow.Ticks;
        var issued = result is { IsSuccess: true } ? result.Value : null;
        if (result is { IsSuccess: false, Error.Code: GrantErrorCode.SessionNotActive or GrantErrorCode.SessionNotFound })
        {
            lock (_sessions)
            {
                _sessions.Remove(agent);
            }
        }
        await history.AppendAsync(new HistoryRecord
        {
            Op = "issue",
            Start = start,
            End = end,
            Result = issued is not null ? "ok" : outcome,
            Detail = result is { IsSuccess: false } ? result.Error.ToString() : null,
            Credential = issued?.CredentialId,
            Task = taskId,
            Chain = chain,
            ExpiresAt = issued?.ExpiresAt.UtcTicks,
        });
        if (issued is not null)
        {
            lock (_issued)
            {
                _issued.Add((issued, chain));
            }
        }
        return issued;
    }

    private async Task AuthorizeAsync(IssuedCredential credential, bool final = false)
    {
        var start = DateTime.UtcNow.Ticks;
        Decision? decision = null;
        string outcome;
        string? failure = null;
        string? via = null;
        if (http is not null)
        {
            // Through a silo's HTTP API, to the deadline (WithDeadline records a call that reaches it as a timeout).
            using var deadline = new CancellationTokenSource(options.CallDeadline);
            var answer = await http.AuthorizeAsync(credential.Token, "read", Document, deadline.Token);
            (decision, via) = (answer.Value, answer.Via);
            outcome = answer.IsAnswered ? (decision!.IsAllowed ? "Allow" : "Deny") : answer.Status == -1 ? "timeout" : "error";
            failure = answer.Failure;
        }
        else
        {
            try
            {
                decision = await _harness.AuthorizeAsync(credential.Token, "read", Document).WaitAsync(options.CallDeadline);
                outcome = decision.IsAllowed ? "Allow" : "Deny";
            }
            catch (TimeoutException)
            {
                outcome = "timeout";
            }
        }
        await history.AppendAsync(new HistoryRecord
        {
            Op = "authorize",
            Start = start,
            End = DateTime.UtcNow.Ticks,
            Result = outcome,
            Reason = decision?.Reason.ToString(),
            Detail = decision is { IsAllowed: false } ? decision.Detail : failure,
            Credential = credential.CredentialId,
            Final = final ? true : null,
            Via = via,
        });
    }

    private Task RevokeCredentialAsync(string credentialId) => http is null
        ? CallAsync("revoke-credential", () => _harness.RevokeCredentialAsync(credentialId, "e2e"), r => r.CredentialId, credential: credentialId,
            acknowledged: r => r.Status != CredentialStatus.Active)
        : RevokeOverHttpAsync("revoke-credential", credentialId, null, token => http.RevokeCredentialAsync(credentialId, "e2e", token), status => status != CredentialStatus.Active);

    private Task RevokeTaskAsync(string taskId) => http is null
        ? CallAsync("revoke-task", () => _harness.RevokeTaskAsync(taskId, "e2e"), r => r.TaskId, task: taskId, acknowledged: r => r.IsTerminal)
        : RevokeOverHttpAsync("revoke-task", null, taskId, token => http.RevokeTaskAsync(taskId, "e2e", token),
            status => status is GrantTaskStatus.Completed or GrantTaskStatus.Revoked or GrantTaskStatus.Expired);

    // A revocation through a silo's HTTP API: acknowledged when a silo answered 200 with the thing ended.
    private async Task RevokeOverHttpAsync<TStatus>(string op, string? credential, string? task, Func<CancellationToken, Task<HttpAnswer<TStatus>>> revoke, Func<TStatus, bool> ended)
    {
        var start = DateTime.UtcNow.Ticks;
        using var deadline = new CancellationTokenSource(options.CallDeadline);
        var answer = await revoke(deadline.Token);
        var end = DateTime.UtcNow.Ticks;
        var ok = answer.IsAnswered && ended(answer.Value!);
        if (ok && credential is not null)
        {
            _revokedCredentials.TryAdd(credential, true);
        }
        if (ok && task is not null)
        {
            _revokedTasks.TryAdd(task, true);
        }
        await history.AppendAsync(new HistoryRecord
        {
            Op = op,
            Start = start,
            End = end,
            Result = ok ? "ok" : answer.IsAnswered ? "error" : answer.Status == -1 ? "timeout" : "error",
            Detail = ok ? null : answer.Failure ?? $"answered {answer.Value}",
            Credential = credential,
            Task = task,
            Via = answer.Via,
        });
    }

    private async Task<T?> CallAsync<T>(string op, Func<Task<GrantResult<T>>> call, Func<T, string> id, string? credential = null, string? task = null, Func<T, bool>? acknowledged = null)
        where T : class
    {
        var start = DateTime.UtcNow.Ticks;
        var (result, outcome) = await WithDeadlineAsync(call);
        var end = DateTime.UtcNow.Ticks;
        var value = result is { IsSuccess: true } ? result.Value : null;
        var ok = value is not null && (acknowledged is null || acknowledged(value));
        if (ok && op == "revoke-credential" && credential is not null)
        {
            _revokedCredentials.TryAdd(credential, true);
        }
        if (ok && op == "revoke-task" && task is not null)
        {
            _revokedTasks.TryAdd(task, true);
        }
        await history.AppendAsync(new HistoryRecord
        {
            Op = op,
            Start = start,
            End = end,
            Result = ok ? "ok" : outcome,
            Detail = result is { IsSuccess: false } ? result.Error.ToString() : null,
            Credential = credential,
            Task = task ?? (op is "create-task" or "delegate" && value is not null ? id(value) : null),
        });
        return value;
    }

    private async Task<(GrantResult<T>? Result, string Outcome)> WithDeadlineAsync<T>(Func<Task<GrantResult<T>>> call)
    {
        try
        {
            var result = await call().WaitAsync(options.CallDeadline);
            return (result, result.IsSuccess ? "ok" : "error");
        }
        catch (TimeoutException)
        {
            return (null, "timeout");
        }
    }
}
