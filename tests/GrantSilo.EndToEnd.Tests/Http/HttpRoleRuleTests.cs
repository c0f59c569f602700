using System.Net;
using System.Text.Json;
using GrantSilo.Client;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// Every role rule of the access rules, through HTTP and through the SDK: the same callers doing the same operations on
/// two identical worlds get the same outcome at both doors. The HTTP API runs inside the silo's process, so this is also
/// the proof that its grain calls are judged as its callers' and never pass as the cluster's own.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpRoleRuleTests(HttpSilo silo)
{
    private const string Ok = "ok";
    private const string Forbidden = nameof(GrantErrorCode.Forbidden);
    private const string Unauthenticated = nameof(GrantErrorCode.Unauthenticated);

    private sealed record World(string Planner, string Worker, string Spare, string Root, string Child, string Victim, string Completable, string WorkerSession, string WorkerToken, string Person)
    {
        /// <summary>An agent for the operator to retire.</summary>
        public required string Retiree { get; init; }

        /// <summary>The planner's live credential for the root task: the proof a delegation needs.</summary>
        public required string PlannerProof { get; init; }

        /// <summary>The worker's credential (its id; the token is <see cref="WorkerToken"/>).</summary>
        public required string WorkerCredential { get; init; }

        /// <summary>A second session of the worker's, to end.</summary>
        public required string EndableSession { get; init; }

        /// <summary>A second credential of the worker's, to revoke.</summary>
        public required string RevocableCredential { get; init; }

        /// <summary>A step-up the gateway's decision asked the person for (reading a secret).</summary>
        public required string Approval { get; init; }
    }

    private sealed record Operation(string Name, Func<World, string?, Task<string>> Http, Func<World, IGrantClient, Task<string>> Sdk);

    // The SDK side's caller token, for the one operation the SDK's client does not call for it (Orleans' management grain).
    private string? _sdkToken;

    // The SDK side's caller by name: through the SDK a policy's author and an approval's approver are named by the caller
    // and must be the caller (HTTP takes them from the verified caller), so each caller names itself.
    private string _sdkCaller = "";

    private static object ScopeBody(int depth, params string[] permissions) => new { permissions, maxClassification = "internal", delegationDepth = depth };

    private static Scope Scope(int depth, params string[] permissions) => GrantSilo.Scope.Create(permissions, DataClassification.Internal, depth).Value;

    [Fact]
    public async Task EveryRoleRule_HttpAndSdk_GiveTheSameOutcome()
    {
        var run = Guid.NewGuid().ToString("N")[..10];
        var alice = $"alice-{run}@test.dev";
        var callers = new (string Name, string? Token, string Principal)[]
        {
            ("operator", silo.Identity.PersonToken($"ops-{run}@test.dev", "operator"), $"person:ops-{run}@test.dev"),
            ("auditor", silo.Identity.PersonToken($"audit-{run}@test.dev", "auditor"), $"person:audit-{run}@test.dev"),
            ("orchestrator", silo.Identity.ServiceToken($"orch-{run}", "orchestrator"), $"service:orch-{run}"),
            ("gateway", silo.Identity.ServiceToken($"gw-{run}", "gateway"), $"service:gw-{run}"),
            ("policy-author", silo.Identity.PersonToken($"author-{run}@test.dev", "policy-author"), $"person:author-{run}@test.dev"),
            ("task-person-approver", silo.Identity.PersonToken(alice, "approver"), $"person:{alice}"),
            ("other-approver", silo.Identity.PersonToken($"carol-{run}@test.dev", "approver"), $"person:carol-{run}@test.dev"),
            ("no-roles", silo.Identity.PersonToken($"mallory-{run}@test.dev"), $"person:mallory-{run}@test.dev"),
            ("anonymous", null, "person:anonymous@test.dev"),
        };
        var httpWorld = await WorldAsync(run + "h", alice);
        var sdkWorld = await WorldAsync(run + "s", alice);
        // The agents act as themselves: their tokens are the worlds' own.
        var outcomes = new List<(string Caller, string Operation, string Http, string Sdk)>();
        foreach (var (name, token, principal) in callers.Concat(AgentCallers(httpWorld, sdkWorld)))
        {
            foreach (var operation in Operations())
            {
                var (httpToken, sdkToken) = name.StartsWith("agent:", StringComparison.Ordinal) ? AgentTokens(name, httpWorld, sdkWorld) : (token, token);
                var http = await operation.Http(httpWorld, httpToken);
                var sdkClient = sdkToken is null ? silo.Sdk : silo.Sdk.As(new StaticCallerToken(sdkToken));
                (_sdkToken, _sdkCaller) = (sdkToken, principal);
                var sdk = await operation.Sdk(sdkWorld, sdkClient);
                outcomes.Add((name, operation.Name, http, sdk));
            }
        }

        var differences = outcomes.Where(o => o.Http != o.Sdk).Select(o => $"{o.Caller} {o.Operation}: HTTP {o.Http}, SDK {o.Sdk}").ToList();
        Assert.True(differences.Count == 0, "The doors differ:\n" + string.Join("\n", differences));

        string Of(string caller, string operation) => outcomes.Single(o => o.Caller == caller && o.Operation == operation).Http;
        // Nobody unauthenticated (401), and no authenticated caller without a role (403), is served anything: over HTTP a
        // decision refused to its caller is the caller's problem, not a decision about the credential.
        Assert.All(outcomes.Where(o => o.Caller == "anonymous"), o => Assert.Equal(Unauthenticated, o.Http));
        Assert.All(outcomes.Where(o => o.Caller == "no-roles"), o => Assert.Equal(Forbidden, o.Http));
        // Each role does its part, and only its part.
        Assert.Equal(Ok, Of("operator", "agent.register"));
        Assert.Equal(Forbidden, Of("auditor", "agent.register"));
        Assert.Equal(Ok, Of("auditor", "task.read"));
        Assert.Equal(Forbidden, Of("auditor", "task.revoke"));
        Assert.Equal(Ok, Of("orchestrator", "task.create"));
        Assert.Equal(Forbidden, Of("orchestrator", "policy.read"));
        Assert.Equal("allow", Of("gateway", "credential.authorize"));
        Assert.Equal(Forbidden, Of("gateway", "task.read"));
        Assert.Equal(Ok, Of("policy-author", "policy.read"));
        Assert.Equal(Ok, Of("policy-author", "policy.validate"));
        Assert.Equal(Forbidden, Of("operator", "policy.validate"));
        Assert.Equal(Forbidden, Of("policy-author", "access.publish"));
        Assert.Equal(Ok, Of("operator", "access.publish"));
        Assert.Equal(Ok, Of("task-person-approver", "task.read"));
        Assert.Equal(Forbidden, Of("other-approver", "task.read"));
        Assert.Equal(Ok, Of("agent:worker", "session.open"));
        Assert.Equal(Ok, Of("agent:worker", "credential.issue"));
        Assert.Equal(Forbidden, Of("agent:stranger", "session.open"));
        Assert.Equal(Forbidden, Of("agent:stranger", "task.read"));
        Assert.Equal(Ok, Of("agent:planner", "task.read"));
        Assert.Equal(Forbidden, Of("agent:planner", "session.open"));
        Assert.Equal(Forbidden, Of("agent:worker", "cascade.read"));
        // The rest of the table (docs/identity.md): agents' lifecycle and cluster.manage are the operators'; delegating is the
        // parent's agent's, proving it; reading a credential or an approval follows its relations; deciding a step-up is the
        // task's person's (an approver); watching is for approvers, operators and auditors.
        foreach (var operation in new[] { "agent.resume", "agent.retire", "catalog.publish", "cluster.manage" })
        {
            Assert.Equal(Ok, Of("operator", operation));
            Assert.All(outcomes.Where(o => o.Operation == operation && o.Caller is not ("operator" or "anonymous")), o => Assert.Equal(Forbidden, o.Http));
        }
        Assert.Equal(Ok, Of("agent:planner", "task.delegate"));
        Assert.All(outcomes.Where(o => o.Operation == "task.delegate" && o.Caller != "agent:planner"), o => Assert.NotEqual(Ok, o.Http));
        Assert.Equal(Forbidden, Of("operator", "task.delegate"));
        Assert.Equal(Forbidden, Of("agent:worker", "task.delegate"));
        Assert.Equal(Ok, Of("policy-author", "policy.publish"));
        Assert.All(outcomes.Where(o => o.Operation == "policy.publish" && o.Caller is not ("policy-author" or "anonymous")), o => Assert.Equal(Forbidden, o.Http));
        foreach (var role in new[] { "operator", "auditor" })
        {
            Assert.Equal(Ok, Of(role, "audit.read"));
            Assert.Equal(Ok, Of(role, "credential.read"));
            Assert.Equal(Ok, Of(role, "approval.read"));
        }
        Assert.All(outcomes.Where(o => o.Operation == "audit.read" && o.Caller is not ("operator" or "auditor" or "anonymous")), o => Assert.Equal(Forbidden, o.Http));
        Assert.Equal(Ok, Of("gateway", "credential.read"));
        Assert.Equal(Ok, Of("agent:worker", "credential.read"));
        Assert.Equal(Forbidden, Of("agent:stranger", "credential.read"));
        Assert.Equal(Ok, Of("task-person-approver", "approval.read"));
        Assert.Equal(Forbidden, Of("other-approver", "approval.read"));
        Assert.Equal(Ok, Of("task-person-approver", "approval.decide"));
        Assert.Equal(Forbidden, Of("other-approver", "approval.decide"));
        Assert.Equal(Forbidden, Of("operator", "approval.decide"));
        Assert.Equal(Forbidden, Of("agent:worker", "approval.decide"));
        foreach (var watcher in new[] { "operator", "auditor", "task-person-approver", "other-approver" })
        {
            Assert.Equal(Ok, Of(watcher, "approval.watch"));
        }
        foreach (var stranger in new[] { "orchestrator", "gateway", "policy-author", "agent:worker", "agent:planner", "agent:stranger" })
        {
            Assert.Equal(Forbidden, Of(stranger, "approval.watch"));
        }
        Assert.Equal(Ok, Of("operator", "session.end"));
        Assert.Equal(Ok, Of("operator", "credential.revoke"));
        Assert.Equal(Forbidden, Of("auditor", "session.end"));
        Assert.Equal(Forbidden, Of("auditor", "credential.revoke"));
        Assert.Equal(Forbidden, Of("agent:stranger", "session.end"));
        Assert.Equal(Forbidden, Of("agent:stranger", "credential.revoke"));
        foreach (var listing in new[] { "agent.tasks", "agent.sessions", "task.sessions", "session.credentials" })
        {
            Assert.Equal(Ok, Of("operator", listing));
            Assert.Equal(Ok, Of("auditor", listing));
            Assert.Equal(Ok, Of("agent:worker", listing));
            Assert.Equal(Forbidden, Of("agent:stranger", listing));
        }
        // An agent's listings show a caller only what it could read one by one: the world's tasks were created by another
        // orchestrator, for another person, so the matrix's orchestrator sees none of them, and no session (a session is
        // its agent's); operators, auditors and the agent itself see them all.
        Assert.Equal($"{Ok}:none", Of("orchestrator", "agent.tasks.listed"));
        Assert.Equal($"{Ok}:none", Of("orchestrator", "agent.sessions.listed"));
        Assert.Equal(Forbidden, Of("orchestrator", "task.read"));
        Assert.Equal(Forbidden, Of("orchestrator", "session.read"));
        foreach (var lister in new[] { "operator", "auditor", "agent:worker" })
        {
            Assert.Contains("child", Of(lister, "agent.tasks.listed"), StringComparison.Ordinal);
            Assert.Contains("worker-session", Of(lister, "agent.sessions.listed"), StringComparison.Ordinal);
        }
        foreach (var stranger in new[] { "agent:stranger", "agent:planner", "gateway", "policy-author", "task-person-approver" })
        {
            Assert.Equal(Forbidden, Of(stranger, "agent.tasks.listed"));
            Assert.Equal(Forbidden, Of(stranger, "agent.sessions.listed"));
        }

        // What the routes answered, read back over HTTP: the lists name the world's tasks, sessions and credentials, and
        // every change the matrix made shows.
        var reader = silo.Operator();
        var w = httpWorld;
        var agentTasks = await silo.SendAsync(HttpMethod.Get, $"/v1/agents/{Uri.EscapeDataString(w.Worker)}/tasks", reader);
        Assert.Contains(w.Child, Ids(agentTasks, "taskId"));
        Assert.All(agentTasks.Json.GetProperty("items").EnumerateArray(), t => Assert.Equal(w.Worker, t.GetProperty("agent").GetString()));
        var agentSessions = await silo.SendAsync(HttpMethod.Get, $"/v1/agents/{Uri.EscapeDataString(w.Worker)}/sessions", reader);
        Assert.Contains(w.WorkerSession, Ids(agentSessions, "sessionId"));
        var taskSessions = await silo.SendAsync(HttpMethod.Get, $"/v1/tasks/{w.Child}/sessions", reader);
        Assert.Equal([w.WorkerSession], Ids(taskSessions, "sessionId"));
        var sessionCredentials = await silo.SendAsync(HttpMethod.Get, $"/v1/sessions/{w.WorkerSession}/credentials", reader);
        // The live ones: the worker's, and the one it issued in the matrix (credential.issue); not the revoked one.
        var issuedThere = Ids(sessionCredentials, "credentialId");
        Assert.Equal(2, issuedThere.Count);
        Assert.Contains(w.WorkerCredential, issuedThere);
        Assert.DoesNotContain(w.RevocableCredential, issuedThere);
        Assert.All(sessionCredentials.Json.GetProperty("items").EnumerateArray(), c => Assert.Equal("active", c.GetProperty("status").GetString()));
        Assert.Equal("revoked", (await silo.SendAsync(HttpMethod.Get, $"/v1/credentials/{w.RevocableCredential}", reader))["status"]);
        Assert.DoesNotContain(w.EndableSession, Ids(agentSessions, "sessionId"));
        Assert.Equal("active", (await silo.SendAsync(HttpMethod.Get, $"/v1/agents/{Uri.EscapeDataString(w.Spare)}", reader))["status"]);
        Assert.Equal("retired", (await silo.SendAsync(HttpMethod.Get, $"/v1/agents/{Uri.EscapeDataString(w.Retiree)}", reader))["status"]);
        Assert.Equal("ended", (await silo.SendAsync(HttpMethod.Get, $"/v1/sessions/{w.EndableSession}", reader))["status"]);
        var decided = await silo.SendAsync(HttpMethod.Get, $"/v1/approvals/{w.Approval}", reader);
        Assert.Equal("approved", decided["status"]);
        Assert.Contains(alice, decided["decidedBy"], StringComparison.Ordinal);
    }

    private static List<string> Ids(HttpAnswer page, string name)
    {
        Assert.Equal(HttpStatusCode.OK, page.Status);
        return [.. page.Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty(name).GetString()!)];
    }

    private static IEnumerable<(string, string?, string)> AgentCallers(World http, World sdk) =>
        [("agent:worker", null, sdk.Worker), ("agent:planner", null, sdk.Planner), ("agent:stranger", null, $"{sdk.Spare}-stranger")];

    private (string?, string?) AgentTokens(string name, World http, World sdk) => name switch
    {
        "agent:worker" => (silo.Identity.AgentToken(http.Worker), silo.Identity.AgentToken(sdk.Worker)),
        "agent:planner" => (silo.Identity.AgentToken(http.Planner), silo.Identity.AgentToken(sdk.Planner)),
        _ => (silo.Identity.AgentToken($"{http.Spare}-stranger"), silo.Identity.AgentToken($"{sdk.Spare}-stranger")),
    };

    // A planner with a root task for the person, delegated in part to a worker holding a session and credential; a spare
    // agent to suspend; a task to revoke and one to complete. Made by the callers whose part it is, through the SDK.
    private async Task<World> WorldAsync(string run, string person)
    {
        var operatorClient = silo.Sdk.As(new StaticCallerToken(silo.Operator()));
        var orchestrator = silo.Sdk.As(new StaticCallerToken(silo.Identity.ServiceToken($"orch-{run}", "orchestrator")));
        var (planner, worker, spare) = ($"spiffe://e2e.dev/{run}/planner", $"spiffe://e2e.dev/{run}/worker", $"spiffe://e2e.dev/{run}/spare");
        var retiree = $"spiffe://e2e.dev/{run}/retiree";
        foreach (var agent in new[] { planner, worker, spare, retiree })
        {
            Assert.True((await operatorClient.RegisterAgentAsync(agent, new AgentRegistration { Owner = "person:ops@test.dev", Ceiling = Scope(1, "repo:read:acme/*", "secret:read:*") })).IsSuccess);
        }
        async Task<string> RootAsync() => (await orchestrator.CreateTaskAsync(new CreateTaskRequest { Person = $"person:{person}", Agent = planner, Scope = Scope(1, "repo:read:acme/*", "secret:read:*"), Lifetime = TimeSpan.FromMinutes(30) })).Value.TaskId;
        var root = await RootAsync();
        var plannerClient = silo.Sdk.As(new StaticCallerToken(silo.Identity.AgentToken(planner)));
        var plannerSession = (await plannerClient.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value;
        var proof = (await plannerClient.IssueCredentialAsync(plannerSession.SessionId, new IssueCredentialRequest { TaskId = root })).Value;
        var child = await plannerClient.DelegateAsync(root, new DelegationRequest { ProofToken = proof.Token, Agent = worker, Scope = Scope(0, "repo:read:acme/*", "secret:read:*"), Lifetime = TimeSpan.FromMinutes(10) });
        Assert.True(child.IsSuccess, child.Error?.ToString());
        var workerClient = silo.Sdk.As(new StaticCallerToken(silo.Identity.AgentToken(worker)));
        var workerSession = (await workerClient.OpenSessionAsync(new OpenSessionRequest { Agent = worker })).Value;
        var workerCredential = (await workerClient.IssueCredentialAsync(workerSession.SessionId, new IssueCredentialRequest { TaskId = child.Value.TaskId })).Value;
        var revocable = (await workerClient.IssueCredentialAsync(workerSession.SessionId, new IssueCredentialRequest { TaskId = child.Value.TaskId })).Value;
        var endable = (await workerClient.OpenSessionAsync(new OpenSessionRequest { Agent = worker })).Value;
        // Reading a secret needs a person's approval (the shipped policy): the gateway's decision names it.
        var gateway = silo.Sdk.As(new StaticCallerToken(silo.Identity.ServiceToken($"gw-{run}", "gateway")));
        var stepUp = await gateway.AuthorizeAsync(workerCredential.Token, "read", new ResourceRef { Type = "secret", Path = "payments/key" });
        Assert.True(stepUp.Kind == DecisionKind.StepUpRequired && stepUp.ApprovalId is not null, $"a step-up, not {stepUp.Kind} {stepUp.Reason}");
        return new World(planner, worker, spare, root, child.Value.TaskId, await RootAsync(), await RootAsync(), workerSession.SessionId, workerCredential.Token, person)
        {
            Retiree = retiree,
            PlannerProof = proof.Token,
            WorkerCredential = workerCredential.CredentialId,
            EndableSession = endable.SessionId,
            RevocableCredential = revocable.CredentialId,
            Approval = stepUp.ApprovalId,
        };
    }

    private IEnumerable<Operation> Operations()
    {
        var document = new ResourceRef { Type = "repo", Path = "acme/payments/README.md" };
        yield return new("agent.read", (w, t) => Http(HttpMethod.Get, $"/v1/agents/{Uri.EscapeDataString(w.Worker)}", t), (w, c) => Sdk(c.GetAgentAsync(w.Worker)));
        yield return new("agent.register", (w, t) => Http(HttpMethod.Post, "/v1/agents", t, new { workloadId = $"{w.Spare}-{Guid.NewGuid():N}", owner = "person:ops@test.dev", ceiling = ScopeBody(0) }),
            (w, c) => Sdk(c.RegisterAgentAsync($"{w.Spare}-{Guid.NewGuid():N}", new AgentRegistration { Owner = "person:ops@test.dev", Ceiling = Scope(0) })));
        yield return new("task.create", (w, t) => Http(HttpMethod.Post, "/v1/tasks", t, new { person = $"person:{w.Person}", agent = w.Planner, scope = ScopeBody(0), lifetime = "00:05:00" }),
            (w, c) => Sdk(c.CreateTaskAsync(new CreateTaskRequest { Person = $"person:{w.Person}", Agent = w.Planner, Scope = Scope(0), Lifetime = TimeSpan.FromMinutes(5) })));
        yield return new("task.read", (w, t) => Http(HttpMethod.Get, $"/v1/tasks/{w.Child}", t), (w, c) => Sdk(c.GetTaskAsync(w.Child)));
        yield return new("task.tree", (w, t) => Http(HttpMethod.Get, $"/v1/tasks/{w.Root}/tree", t), (w, c) => Sdk(c.GetTaskTreeAsync(w.Root)));
        yield return new("task.credentials", (w, t) => Http(HttpMethod.Get, $"/v1/tasks/{w.Child}/credentials", t), (w, c) => Sdk(c.ListTaskCredentialsAsync(w.Child)));
        yield return new("task.reauthorize", (w, t) => Http(HttpMethod.Post, $"/v1/tasks/{w.Root}/reauthorize", t), (w, c) => Sdk(c.ReauthorizeTaskAsync(w.Root)));
        yield return new("session.open", (w, t) => Http(HttpMethod.Post, "/v1/sessions", t, new { agent = w.Worker }), (w, c) => Sdk(c.OpenSessionAsync(new OpenSessionRequest { Agent = w.Worker })));
        yield return new("session.read", (w, t) => Http(HttpMethod.Get, $"/v1/sessions/{w.WorkerSession}", t), (w, c) => Sdk(c.GetSessionAsync(w.WorkerSession)));
        yield return new("credential.issue", (w, t) => Http(HttpMethod.Post, $"/v1/sessions/{w.WorkerSession}/credentials", t, new { taskId = w.Child }),
            (w, c) => Sdk(c.IssueCredentialAsync(w.WorkerSession, new IssueCredentialRequest { TaskId = w.Child })));
        yield return new("credential.authorize", (w, t) => Decide(t, new { token = w.WorkerToken, action = "read", resource = new { type = "repo", path = "acme/payments/README.md" } }),
            async (w, c) => Decision(await c.AuthorizeAsync(w.WorkerToken, "read", document)));
        yield return new("credential.introspect", (w, t) => Introspect(t, w.WorkerToken), async (w, c) => Introspection(await c.IntrospectAsync(w.WorkerToken)));
        yield return new("approval.list", (w, t) => Http(HttpMethod.Get, "/v1/approvals", t), (w, c) => Sdk(c.ListPendingApprovalsAsync()));
        yield return new("policy.read", (w, t) => Http(HttpMethod.Get, "/v1/policies/active", t), (w, c) => Sdk(c.GetActivePolicyAsync()));
        yield return new("policy.validate", async (w, t) => await Http(HttpMethod.Post, "/v1/policies/validate", t, new { text = (await silo.Sdk.As(new StaticCallerToken(silo.Operator())).GetActivePolicyAsync()).Value.Text }),
            async (w, c) => await Sdk(c.ValidatePolicyAsync((await silo.Sdk.As(new StaticCallerToken(silo.Operator())).GetActivePolicyAsync()).Value.Text)));
        yield return new("policy.versions", (w, t) => Http(HttpMethod.Get, "/v1/policies/versions", t), (w, c) => Sdk(c.ListPolicyVersionsAsync()));
        yield return new("catalog.read", (w, t) => Http(HttpMethod.Get, "/v1/resource-catalog/active", t), (w, c) => Sdk(c.GetActiveResourceCatalogAsync()));
        yield return new("access.read", (w, t) => Http(HttpMethod.Get, "/v1/access-rules/active", t), (w, c) => Sdk(c.GetActiveAccessRulesAsync()));
        yield return new("access.publish", async (w, t) => await Http(HttpMethod.Post, "/v1/access-rules", t, new { text = (await silo.Sdk.As(new StaticCallerToken(silo.Operator())).GetActiveAccessRulesAsync()).Value.Text }),
            async (w, c) => await Sdk(c.PublishAccessRulesAsync((await silo.Sdk.As(new StaticCallerToken(silo.Operator())).GetActiveAccessRulesAsync()).Value.Text, "")));
        yield return new("cascade.read", (w, t) => Http(HttpMethod.Get, "/v1/cascades/pending", t), (w, c) => Sdk(c.ListPendingCascadesAsync()));
        yield return new("task.complete", (w, t) => Http(HttpMethod.Post, $"/v1/tasks/{w.Completable}/complete", t, new { summary = "done" }), (w, c) => Sdk(c.CompleteTaskAsync(w.Completable, "done")));
        yield return new("task.revoke", (w, t) => Http(HttpMethod.Post, $"/v1/tasks/{w.Victim}/revoke", t, new { reason = "test" }), (w, c) => Sdk(c.RevokeTaskAsync(w.Victim, "test")));
        yield return new("agent.suspend", (w, t) => Http(HttpMethod.Post, $"/v1/agents/{Uri.EscapeDataString(w.Spare)}/suspend", t, new { reason = "test" }), (w, c) => Sdk(c.SuspendAgentAsync(w.Spare, "test")));
        // After the suspension, so the operator resumes a suspended agent.
        yield return new("agent.resume", (w, t) => Http(HttpMethod.Post, $"/v1/agents/{Uri.EscapeDataString(w.Spare)}/resume", t, new { reason = "test" }), (w, c) => Sdk(c.ResumeAgentAsync(w.Spare, "test")));
        yield return new("agent.retire", (w, t) => Http(HttpMethod.Post, $"/v1/agents/{Uri.EscapeDataString(w.Retiree)}/retire", t, new { reason = "test" }), (w, c) => Sdk(c.RetireAgentAsync(w.Retiree, "test")));
        yield return new("agent.tasks", (w, t) => Http(HttpMethod.Get, $"/v1/agents/{Uri.EscapeDataString(w.Worker)}/tasks", t), (w, c) => Sdk(c.ListAgentTasksAsync(w.Worker)));
        yield return new("agent.sessions", (w, t) => Http(HttpMethod.Get, $"/v1/agents/{Uri.EscapeDataString(w.Worker)}/sessions", t), (w, c) => Sdk(c.ListAgentSessionsAsync(w.Worker)));
        // What the same listings show the caller: the world's tasks and sessions by their part in it.
        yield return new("agent.tasks.listed", (w, t) => HttpListed(w, $"/v1/agents/{Uri.EscapeDataString(w.Worker)}/tasks", t, "taskId"),
            async (w, c) => SdkListed(w, await c.ListAgentTasksAsync(w.Worker, pageSize: Page.MaxSize), task => task.TaskId));
        yield return new("agent.sessions.listed", (w, t) => HttpListed(w, $"/v1/agents/{Uri.EscapeDataString(w.Worker)}/sessions", t, "sessionId"),
            async (w, c) => SdkListed(w, await c.ListAgentSessionsAsync(w.Worker, pageSize: Page.MaxSize), session => session.SessionId));
        yield return new("task.sessions", (w, t) => Http(HttpMethod.Get, $"/v1/tasks/{w.Child}/sessions", t), (w, c) => Sdk(c.ListTaskSessionsAsync(w.Child)));
        yield return new("session.credentials", (w, t) => Http(HttpMethod.Get, $"/v1/sessions/{w.WorkerSession}/credentials", t), (w, c) => Sdk(c.ListSessionCredentialsAsync(w.WorkerSession)));
        yield return new("task.delegate", (w, t) => Http(HttpMethod.Post, $"/v1/tasks/{w.Root}/delegations", t, new { proofToken = w.PlannerProof, agent = w.Worker, scope = ScopeBody(0, "repo:read:acme/*"), lifetime = "00:05:00" }),
            (w, c) => Sdk(c.DelegateAsync(w.Root, new DelegationRequest { ProofToken = w.PlannerProof, Agent = w.Worker, Scope = Scope(0, "repo:read:acme/*"), Lifetime = TimeSpan.FromMinutes(5) })));
        yield return new("credential.read", (w, t) => Http(HttpMethod.Get, $"/v1/credentials/{w.WorkerCredential}", t), (w, c) => Sdk(c.GetCredentialAsync(w.WorkerCredential)));
        yield return new("approval.read", (w, t) => Http(HttpMethod.Get, $"/v1/approvals/{w.Approval}", t), (w, c) => Sdk(c.GetApprovalAsync(w.Approval)));
        yield return new("approval.watch", (w, t) => Watch(t), WatchAsync);
        yield return new("approval.decide", (w, t) => Http(HttpMethod.Post, $"/v1/approvals/{w.Approval}/approve", t, new { comment = "looked at it" }),
            (w, c) => Sdk(c.ApproveAsync(w.Approval, _sdkCaller, "looked at it")));
        yield return new("policy.publish", async (w, t) => await Http(HttpMethod.Post, "/v1/policies", t, new { text = await ActivePolicyAsync() }),
            async (w, c) => await Sdk(c.PublishPolicyAsync(await ActivePolicyAsync(), _sdkCaller)));
        yield return new("catalog.publish", async (w, t) => await Http(HttpMethod.Post, "/v1/resource-catalog", t, new { text = await ActiveCatalogAsync() }),
            async (w, c) => await Sdk(c.PublishResourceCatalogAsync(await ActiveCatalogAsync(), _sdkCaller)));
        yield return new("audit.read", (w, t) => Http(HttpMethod.Get, $"/v1/audit/records?taskId={w.Root}", t), (w, c) => Sdk(c.QueryAuditAsync(new AuditQuery { TaskId = w.Root })));
        // cluster.manage has no /v1 route: over HTTP it is the Orleans Dashboard (operators), through the SDK's client
        // Orleans' management grain.
        yield return new("cluster.manage", (w, t) => Http(HttpMethod.Get, "/dashboard/", t), (w, c) => ManageAsync());
        yield return new("session.end", (w, t) => Http(HttpMethod.Post, $"/v1/sessions/{w.EndableSession}/end", t, new { reason = "test" }), (w, c) => Sdk(c.EndSessionAsync(w.EndableSession, "test")));
        yield return new("credential.revoke", (w, t) => Http(HttpMethod.Post, $"/v1/credentials/{w.RevocableCredential}/revoke", t, new { reason = "test" }), (w, c) => Sdk(c.RevokeCredentialAsync(w.RevocableCredential, "test")));
    }

    private async Task<string> ActivePolicyAsync() => (await silo.Sdk.As(new StaticCallerToken(silo.Operator())).GetActivePolicyAsync()).Value.Text;

    private async Task<string> ActiveCatalogAsync() => (await silo.Sdk.As(new StaticCallerToken(silo.Operator())).GetActiveResourceCatalogAsync()).Value.Text;

    // The stream is judged when it opens: 200 and the first bytes of an event stream, or the caller's problem.
    private async Task<string> Watch(string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/approvals/stream", UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await silo.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (response.IsSuccessStatusCode)
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            return Ok;
        }
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return problem.GetProperty("code").GetString()!;
    }

    private static async Task<string> WatchAsync(World world, IGrantClient client)
    {
        var subscribed = await client.SubscribeApprovalsAsync(new Unheard());
        if (!subscribed.IsSuccess)
        {
            return subscribed.Error!.Code.ToString();
        }
        await subscribed.Value.DisposeAsync();
        return Ok;
    }

    private sealed class Unheard : GrantSilo.GrainInterfaces.IApprovalObserver
    {
        public Task OnApprovalRequestedAsync(ApprovalInfo approval) => Task.CompletedTask;

        public Task OnApprovalResolvedAsync(ApprovalInfo approval) => Task.CompletedTask;
    }

    // Orleans' management grain, called as the SDK client's caller (no token for the anonymous caller). Attached on this
    // method's request context only, so it ends with this call.
    private async Task<string> ManageAsync()
    {
        try
        {
            if (_sdkToken is not null)
            {
                TestIdentity.Attach(_sdkToken);
            }
            await silo.Cluster.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            return Ok;
        }
        catch (GrantSilo.GrainInterfaces.CallerRefusedException refused)
        {
            return refused.Code.ToString();
        }
    }


    private async Task<string> Http(HttpMethod method, string path, string? token, object? body = null)
    {
        var answer = await silo.SendAsync(method, path, token, body);
        return (int)answer.Status is >= 200 and < 300 ? Ok : Problem(answer);
    }

    private static string Problem(HttpAnswer answer)
    {
        Assert.Equal("application/problem+json", answer.MediaType);
        Assert.Equal(Problems(answer["code"]!), answer["type"]);
        return answer["code"]!;
    }

    // A listing's page (one page holds the whole world) as the parts its items play in the world, or the caller's problem.
    private async Task<string> HttpListed(World world, string path, string? token, string id)
    {
        var answer = await silo.SendAsync(HttpMethod.Get, $"{path}?pageSize={Page.MaxSize}", token);
        if ((int)answer.Status is < 200 or >= 300)
        {
            return Problem(answer);
        }
        Assert.Equal(JsonValueKind.Null, answer.Json.TryGetProperty("continuationToken", out var more) ? more.ValueKind : JsonValueKind.Null);
        return Listed(world, answer.Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty(id).GetString()!));
    }

    private static string SdkListed<T>(World world, GrantResult<Page<T>> page, Func<T, string> id)
    {
        if (!page.IsSuccess)
        {
            return page.Error!.Code.ToString();
        }
        Assert.Null(page.Value.ContinuationToken);
        return Listed(world, page.Value.Items.Select(id));
    }

    private static string Listed(World world, IEnumerable<string> ids)
    {
        var parts = ids.Select(id => id == world.Root ? "root" : id == world.Child ? "child" : id == world.Victim ? "victim" : id == world.Completable ? "completable"
            : id == world.WorkerSession ? "worker-session" : id == world.EndableSession ? "endable-session" : "other").Distinct().Order(StringComparer.Ordinal).ToList();
        return parts.Count == 0 ? $"{Ok}:none" : $"{Ok}:{string.Join('+', parts)}";
    }

    private static string Problems(string code) => GrantSilo.Http.Problems.TypeOf(Enum.Parse<GrantErrorCode>(code));

    private async Task<string> Decide(string? token, object body)
    {
        var answer = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", token, body);
        if (answer.Status != HttpStatusCode.OK)
        {
            Assert.Equal("application/problem+json", answer.MediaType);
            return answer["code"]!;
        }
        var kind = answer["kind"]!;
        return kind == "allow" ? "allow" : $"deny:{Enum.Parse<DecisionReason>(answer["reason"]!, ignoreCase: true)}";
    }

    private async Task<string> Introspect(string? token, string credential)
    {
        var answer = await silo.SendAsync(HttpMethod.Post, "/v1/credentials/introspect", token, new { token = credential });
        if (answer.Status != HttpStatusCode.OK)
        {
            return answer["code"]!;
        }
        return answer.Json.GetProperty("active").GetBoolean() ? "active" : $"inactive:{Enum.Parse<DecisionReason>(answer["reason"]!, ignoreCase: true)}";
    }

    private static async Task<string> Sdk<T>(Task<GrantResult<T>> call)
    {
        var result = await call;
        return result.IsSuccess ? Ok : result.Error!.Code.ToString();
    }

    // The SDK answers a refused caller with a deny naming the caller's refusal; HTTP with the caller's problem (401, 403).
    private static string Decision(Decision decision) => decision.IsAllowed ? "allow" : Refusal(decision.Reason) ?? $"deny:{decision.Reason}";

    private static string Introspection(GrantResult<TokenIntrospection> result) =>
        !result.IsSuccess ? result.Error!.Code.ToString() : result.Value.Active ? "active" : Refusal(result.Value.Reason) ?? $"inactive:{result.Value.Reason}";

    private static string? Refusal(DecisionReason reason) => reason switch
    {
        DecisionReason.CallerUnauthenticated => Unauthenticated,
        DecisionReason.CallerForbidden => Forbidden,
        _ => null,
    };
}
