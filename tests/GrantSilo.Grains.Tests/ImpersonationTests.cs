using System.Reflection;
using System.Security.Cryptography;
using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Credentials;
using GrantSilo.Grains.Tasks;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// The impersonations an outside review made through the public SDK against a real silo, each now refused
/// at GrantSilo's door with nothing created. Every call here goes through the gate with a real token (or
/// none); the harness (<see cref="ActingGrantClient"/>) only sets the scene and checks what exists after.
/// </summary>
[Collection(ClusterCollection.Name)]
public class ImpersonationTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);
    private ActingGrantClient Harness => fixture.Client;

    private async Task<(string Planner, string Worker, TaskInfo Root, IssuedCredential PlannerCredential, string PlannerSession)> PlannerAndWorkerAsync()
    {
        var planner = await _s.AgentAsync("planner", Scenario.Scope(2, "repo:*:acme/*"));
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "repo:read:acme/*"));
        var root = await _s.RootTaskAsync(planner, Scenario.Scope(2, "repo:*:acme/*"));
        var (session, credential) = await _s.CredentialAsync(planner, root.TaskId);
        _ = await _s.DelegateAsync(root, credential, worker, Scenario.Scope(0, "repo:read:acme/docs/*"), TimeSpan.FromMinutes(30));
        return (planner, worker, root, credential, session);
    }

    private static void AssertForbidden<T>(GrantResult<T> result, string because)
    {
        Assert.False(result.IsSuccess, because);
        Assert.Equal(GrantErrorCode.Forbidden, result.Error!.Code);
    }

    [Fact]
    public async Task AWorker_OpeningASessionAsItsPlanner_IsForbidden_AndNoSessionIsCreated()
    {
        var (planner, worker, _, _, _) = await PlannerAndWorkerAsync();
        var before = (await Harness.ListAgentSessionsAsync(planner)).Value.Items.Count;

        var opened = await Harness.AsAgent(worker).OpenSessionAsync(new OpenSessionRequest { Agent = planner });

        AssertForbidden(opened, "a worker's SVID does not prove the planner's identity");
        Assert.Contains("session.open", opened.Error!.Message);
        Assert.Equal(before, (await Harness.ListAgentSessionsAsync(planner)).Value.Items.Count);
    }

    [Fact]
    public async Task AStranger_DelegatingThePlannersScope_EvenWithThePlannersCredential_IsForbidden_AndNothingIsDelegated()
    {
        var (_, _, root, plannerCredential, _) = await PlannerAndWorkerAsync();
        var stranger = await _s.AgentAsync("stranger", Scenario.Scope(2, "repo:*:acme/*"));
        var childrenBefore = (await Harness.GetTaskTreeAsync(root.TaskId)).Value.Children.Count;

        // The stranger cannot become the planner...
        AssertForbidden(await Harness.AsAgent(stranger).OpenSessionAsync(new OpenSessionRequest { Agent = (await Harness.GetTaskAsync(root.TaskId)).Value.Agent }), "the stranger is not the planner");
        // ...and even holding the planner's credential it cannot delegate from the planner's task.
        var delegated = await Harness.AsAgent(stranger).DelegateAsync(root.TaskId, new DelegationRequest
        {
            ProofToken = plannerCredential.Token,
            Agent = stranger,
            Scope = Scenario.Scope(1, "repo:*:acme/*"),
            Lifetime = TimeSpan.FromMinutes(10),
        });

        AssertForbidden(delegated, "only the agent assigned to the parent task may delegate from it");
        Assert.Equal(childrenBefore, (await Harness.GetTaskTreeAsync(root.TaskId)).Value.Children.Count);
    }

    [Fact]
    public async Task AnAgent_ApprovingItsOwnStepUp_UnderAPersonsName_IsForbidden_AndOnlyTheProvenPersonApproves()
    {
        var scope = Scenario.Scope(0, "secret:read:*");
        var agent = await _s.AgentAsync("secret-reader", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var stepUp = await Harness.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "secret", Path = "payments/db" });
        Assert.Equal(DecisionKind.StepUpRequired, stepUp.Kind);
        var approval = stepUp.ApprovalId!;

        // The agent itself, naming the task's person: refused at the door (an agent is never an approver).
        AssertForbidden(await Harness.AsAgent(agent).ApproveAsync(approval, task.RootPerson), "an agent cannot approve");
        // A person without the approver role.
        AssertForbidden(await Harness.AsPerson(task.RootPerson).ApproveAsync(approval, task.RootPerson), "the approver role is needed");
        // Another person with the approver role, but neither the task's person nor in the approvers group.
        AssertForbidden(await Harness.AsPerson("person:mallory@test.dev", "approver").ApproveAsync(approval, "person:mallory@test.dev"), "only the task's person or the approvers group");
        // An approver in the group, claiming to be the task's person.
        AssertForbidden(await Harness.AsPerson("person:bob@test.dev", "approver", "approvers").ApproveAsync(approval, task.RootPerson), "a name the caller did not prove");
        Assert.Equal(ApprovalStatus.Pending, (await Harness.GetApprovalAsync(approval)).Value.Status);

        // The task's person, with the approver role: approved, and the record says who proved it.
        var approved = await Harness.AsPerson(task.RootPerson, "approver").ApproveAsync(approval, task.RootPerson, "ok");
        Assert.True(approved.IsSuccess, approved.Error?.ToString());
        Assert.Equal(task.RootPerson, approved.Value.DecidedBy);
        Assert.Equal("test-people", approved.Value.DecidedByIssuer);
        Assert.Equal(task.RootPerson["person:".Length..], approved.Value.DecidedBySubject);
    }

    [Fact]
    public async Task ASessionIdLearnedFromGetCredential_IssuesNothing_ForAnotherAgent()
    {
        var (_, worker, root, plannerCredential, plannerSession) = await PlannerAndWorkerAsync();
        var asWorker = Harness.AsAgent(worker);

        // The worker may not read the planner's credential (where the review learned the session id)...
        AssertForbidden(await asWorker.GetCredentialAsync(plannerCredential.CredentialId), "the credential is the planner's");
        // ...and knowing the session id anyway proves nothing: the session belongs to the planner.
        AssertForbidden(await asWorker.IssueCredentialAsync(plannerSession, new IssueCredentialRequest { TaskId = root.TaskId }), "a session id is not a bearer key");
        Assert.Single((await Harness.ListSessionCredentialsAsync(plannerSession)).Value.Items);
    }

    [Fact]
    public async Task PublishingPolicy_ResumingAnAgent_AndReauthorizingACheckpoint_NeedTheRightCaller()
    {
        var before = (await Harness.GetActivePolicyAsync()).Value.Info.Version;
        AssertForbidden(await Harness.AsPerson("person:eve@test.dev").PublishPolicyAsync("permit (principal, action, resource);", "person:eve@test.dev"), "policy authors publish");
        Assert.Equal(before, (await Harness.GetActivePolicyAsync()).Value.Info.Version);

        var scope = Scenario.Scope(0, "repo:read:acme/*");
        var agent = await _s.AgentAsync("suspended", scope);
        Assert.True((await Harness.SuspendAgentAsync(agent, "investigation")).IsSuccess);
        AssertForbidden(await Harness.AsService("service:release-bot", "orchestrator").ResumeAgentAsync(agent, "let me"), "operators resume agents");
        AssertForbidden(await Harness.AsAgent(agent).ResumeAgentAsync(agent, "let me"), "an agent cannot resume itself");
        Assert.Equal(AgentStatus.Suspended, (await Harness.GetAgentAsync(agent)).Value.Status);

        var worker = await _s.AgentAsync("checkpointed", scope);
        var task = await _s.RootTaskAsync(worker, scope, checkpoint: TimeSpan.FromMinutes(5));
        fixture.Time.Advance(TimeSpan.FromMinutes(6));
        AssertForbidden(await Harness.AsAgent(worker).ReauthorizeTaskAsync(task.TaskId), "the agent cannot re-authorize its own checkpoint");
        AssertForbidden(await Harness.AsPerson("person:mallory@test.dev", "approver").ReauthorizeTaskAsync(task.TaskId), "only the task's person or its orchestrator");
        Assert.Equal(GrantTaskStatus.AwaitingReauthorization, (await Harness.GetTaskAsync(task.TaskId)).Value.Status);
        var reauthorized = await Harness.AsPerson(task.RootPerson).ReauthorizeTaskAsync(task.TaskId);
        Assert.True(reauthorized.IsSuccess, reauthorized.Error?.ToString());
    }

    [Fact]
    public async Task EveryRefusal_IsLoggedWithTheCallersIdentity_AndNeverWithAToken()
    {
        var (planner, worker, root, plannerCredential, _) = await PlannerAndWorkerAsync();
        var workerToken = TestIdentity.Shared.AgentToken(worker);
        var mallory = TestIdentity.Shared.PersonToken("person:mallory@test.dev", "approver");

        // Refused at the door (a relation missing), inside a grain (a name not proven), and unauthenticated.
        Assert.Equal(GrantErrorCode.Forbidden, (await Harness.Anonymous.As(new StaticCallerToken(workerToken)).OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Error?.Code);
        Assert.Equal(GrantErrorCode.Forbidden, (await Harness.Anonymous.As(new StaticCallerToken(mallory)).PublishPolicyAsync("permit (principal, action, resource);", "person:security@test.dev")).Error?.Code);
        Assert.Equal(GrantErrorCode.Unauthenticated, (await Harness.Anonymous.As(new StaticCallerToken(workerToken + "x")).GetTaskAsync(root.TaskId)).Error?.Code);

        var lines = await Eventually.LastAsync(() => Task.FromResult(fixture.Warnings.Lines), l => l.Count(x => x.Contains("Refused", StringComparison.Ordinal)) >= 3);
        Assert.Contains(lines, l => l.Contains("Refused session.open", StringComparison.Ordinal) && l.Contains(worker, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Refused policy.publish", StringComparison.Ordinal) && l.Contains("person:mallory@test.dev", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Refused task.read", StringComparison.Ordinal) && l.Contains("unauthenticated", StringComparison.Ordinal));
        foreach (var token in new[] { workerToken, mallory, plannerCredential.Token })
        {
            // Neither the whole token nor its signature.
            Assert.DoesNotContain(lines, l => l.Contains(token[(token.LastIndexOf('.') + 1)..], StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task AnOrchestrator_IsRecordedAsItProvedItself_NeverAsANameItGives()
    {
        var scope = Scenario.Scope(0, "repo:read:acme/*");
        var agent = await _s.AgentAsync("orchestrated", scope);
        var bot = Harness.AsService("service:release-bot", "orchestrator");
        var request = new CreateTaskRequest { Person = "person:alice@test.dev", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1) };

        AssertForbidden(await bot.CreateTaskAsync(request with { Orchestrator = "service:payroll-bot" }), "another orchestrator's name");
        AssertForbidden(await Harness.AsPerson("person:alice@test.dev").CreateTaskAsync(request), "a person is not an orchestrator");

        var created = await bot.CreateTaskAsync(request);
        Assert.True(created.IsSuccess, created.Error?.ToString());
        Assert.Equal("service:release-bot", created.Value.Orchestrator);
        // Its orchestrator may revoke it; another orchestrator may not.
        AssertForbidden(await Harness.AsService("service:payroll-bot", "orchestrator").RevokeTaskAsync(created.Value.TaskId, "not mine"), "not this task's orchestrator");
        Assert.True((await bot.RevokeTaskAsync(created.Value.TaskId, "done")).IsSuccess);
    }

    [Fact]
    public async Task AnOrchestrator_ListingAnAgentsTasks_SeesOnlyTheTasksItCreated_AndNoSessions()
    {
        var scope = Scenario.Scope(0, "repo:read:acme/*");
        var agent = await _s.AgentAsync("shared", scope);
        var orchestratorA = Harness.AsService("service:orchestrator-a", "orchestrator");
        var orchestratorB = Harness.AsService("service:orchestrator-b", "orchestrator");
        const string secretPurpose = "Prepare alice's disciplinary hearing notes";
        var request = new CreateTaskRequest { Person = "person:alice@test.dev", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1), Purpose = secretPurpose };
        var ofA = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var created = await orchestratorA.CreateTaskAsync(request);
            Assert.True(created.IsSuccess, created.Error?.ToString());
            ofA.Add(created.Value.TaskId);
        }
        var ofB = await orchestratorB.CreateTaskAsync(request with { Person = "person:bob@test.dev", Purpose = "B's own errand" });
        Assert.True(ofB.IsSuccess, ofB.Error?.ToString());
        var session = await Harness.AsAgent(agent).OpenSessionAsync(new OpenSessionRequest { Agent = agent });
        Assert.True(session.IsSuccess, session.Error?.ToString());

        // One by one, B may read its own task and not A's...
        AssertForbidden(await orchestratorB.GetTaskAsync(ofA[0]), "A's task is not B's");
        // ...and the listing reveals no more: B's own task, never A's nor its purpose, on every page (pages may be short).
        var byB = await AllTasksAsync(orchestratorB, agent, pageSize: 1);
        Assert.Equal([ofB.Value.TaskId], byB.Select(t => t.TaskId));
        Assert.DoesNotContain(byB, t => t.Purpose == secretPurpose);
        Assert.DoesNotContain(secretPurpose, System.Text.Json.JsonSerializer.Serialize((await orchestratorB.ListAgentTasksAsync(agent)).Value));
        // A sees its own three, and not B's.
        Assert.Equal(ofA.Order(StringComparer.Ordinal), (await AllTasksAsync(orchestratorA, agent, pageSize: 2)).Select(t => t.TaskId));
        // An operator, an auditor and the agent itself see all four.
        var all = ofA.Append(ofB.Value.TaskId).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(all, (await AllTasksAsync(Harness.AsPerson("person:ops@test.dev", "operator"), agent, pageSize: 3)).Select(t => t.TaskId));
        Assert.Equal(all, (await AllTasksAsync(Harness.AsPerson("person:audit@test.dev", "auditor"), agent, pageSize: 3)).Select(t => t.TaskId));
        Assert.Equal(all, (await AllTasksAsync(Harness.AsAgent(agent), agent, pageSize: 3)).Select(t => t.TaskId));

        // A session is read by its agent, operators and auditors: an orchestrator lists none of the agent's.
        AssertForbidden(await orchestratorA.GetSessionAsync(session.Value.SessionId), "a session is its agent's");
        var sessionsOfA = await orchestratorA.ListAgentSessionsAsync(agent);
        Assert.True(sessionsOfA.IsSuccess, sessionsOfA.Error?.ToString());
        Assert.Empty(sessionsOfA.Value.Items);
        Assert.Equal([session.Value.SessionId], (await Harness.AsPerson("person:ops@test.dev", "operator").ListAgentSessionsAsync(agent)).Value.Items.Select(s => s.SessionId));
        Assert.Equal([session.Value.SessionId], (await Harness.AsAgent(agent).ListAgentSessionsAsync(agent)).Value.Items.Select(s => s.SessionId));
    }

    [Fact]
    public async Task ATasksOrchestrator_ListingItsSessionsAndCredentials_SeesOnlyWhatItCouldReadOneByOne()
    {
        var scope = Scenario.Scope(0, "repo:read:acme/*");
        var agent = await _s.AgentAsync("lister", scope);
        var orchestrator = Harness.AsService("service:orchestrator-l", "orchestrator");
        var created = await orchestrator.CreateTaskAsync(new CreateTaskRequest { Person = "person:alice@test.dev", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1) });
        Assert.True(created.IsSuccess, created.Error?.ToString());
        var task = created.Value.TaskId;
        var asAgent = Harness.AsAgent(agent);
        var session = (await asAgent.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value!.SessionId;
        var issued = await asAgent.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task });
        Assert.True(issued.IsSuccess, issued.Error?.ToString());

        // The orchestrator may read its task, but not the agent's session or credential one by one...
        Assert.True((await orchestrator.GetTaskAsync(task)).IsSuccess);
        AssertForbidden(await orchestrator.GetSessionAsync(session), "a session is its agent's");
        AssertForbidden(await orchestrator.GetCredentialAsync(issued.Value.CredentialId), "a credential is its agent's");
        // ...and the task's listings show it neither.
        var sessions = await orchestrator.ListTaskSessionsAsync(task);
        Assert.True(sessions.IsSuccess, sessions.Error?.ToString());
        Assert.Empty(sessions.Value.Items);
        var credentials = await orchestrator.ListTaskCredentialsAsync(task);
        Assert.True(credentials.IsSuccess, credentials.Error?.ToString());
        Assert.Empty(credentials.Value.Items);
        // The agent and an operator see both.
        foreach (var reader in new IGrantClient[] { asAgent, Harness.AsPerson("person:ops@test.dev", "operator") })
        {
            Assert.Equal([session], (await reader.ListTaskSessionsAsync(task)).Value.Items.Select(s => s.SessionId));
            Assert.Equal([issued.Value.CredentialId], (await reader.ListTaskCredentialsAsync(task)).Value.Items.Select(c => c.CredentialId));
        }
    }

    // Every page of an agent's tasks as the caller sees them, following the continuation token to its end.
    private static async Task<List<TaskInfo>> AllTasksAsync(IGrantClient caller, string agent, int pageSize)
    {
        var tasks = new List<TaskInfo>();
        string? token = null;
        do
        {
            var page = await caller.ListAgentTasksAsync(agent, token, pageSize);
            Assert.True(page.IsSuccess, page.Error?.ToString());
            Assert.True(page.Value.Items.Count <= pageSize);
            tasks.AddRange(page.Value.Items);
            token = page.Value.ContinuationToken;
        }
        while (token is not null);
        return tasks;
    }

    [Fact]
    public async Task ACallerWithoutARelation_IsToldTheSame_WhetherTheTaskExistsOrNot()
    {
        var (_, _, root, _, _) = await PlannerAndWorkerAsync();
        var stranger = Harness.AsAgent(await _s.AgentAsync("curious", Scenario.Scope(0, "repo:read:acme/*")));

        var existing = await stranger.GetTaskAsync(root.TaskId);
        var missing = await stranger.GetTaskAsync("t-" + Guid.NewGuid().ToString("N"));

        AssertForbidden(existing, "no relation to the task");
        AssertForbidden(missing, "no relation to a task that does not exist either");
        Assert.Equal(existing.Error!.Message, missing.Error!.Message);
        // An operator (the harness) is told the truth.
        Assert.Equal(GrantErrorCode.TaskNotFound, (await Harness.GetTaskAsync("t-" + Guid.NewGuid().ToString("N"))).Error?.Code);
    }

    [Fact]
    public async Task AnUnregisteredOrSuspendedAgentsValidSvid_OpensNoSession()
    {
        var unregistered = $"spiffe://test.dev/{Guid.NewGuid():N}/ghost";
        var ghost = await Harness.AsAgent(unregistered).OpenSessionAsync(new OpenSessionRequest { Agent = unregistered });
        Assert.Equal(GrantErrorCode.AgentNotFound, ghost.Error?.Code);

        var suspended = await _s.AgentAsync("on-leave", Scenario.Scope(0, "repo:read:acme/*"));
        Assert.True((await Harness.SuspendAgentAsync(suspended, "leave")).IsSuccess);
        var refused = await Harness.AsAgent(suspended).OpenSessionAsync(new OpenSessionRequest { Agent = suspended });
        Assert.Equal(GrantErrorCode.AgentNotActive, refused.Error?.Code);
        Assert.Empty((await Harness.ListAgentSessionsAsync(suspended)).Value.Items);
    }

    [Fact]
    public async Task NoToken_OrABadOne_IsUnauthenticated_AndAnAgentIsNoGateway()
    {
        var (_, _, root, plannerCredential, _) = await PlannerAndWorkerAsync();

        var anonymous = await Harness.Anonymous.GetTaskAsync(root.TaskId);
        Assert.Equal(GrantErrorCode.Unauthenticated, anonymous.Error?.Code);
        var decision = await Harness.Anonymous.AuthorizeAsync(plannerCredential.Token, "read", Scenario.Document);
        Assert.Equal(DecisionReason.CallerUnauthenticated, decision.Reason);

        var garbage = "eyJhbGciOiJFUzI1NiIsImtpZCI6Im5vcGUifQ.eyJzdWIiOiJ4In0.c2ln";
        var refused = await Harness.Anonymous.As(new StaticCallerToken(garbage)).GetTaskAsync(root.TaskId);
        Assert.Equal(GrantErrorCode.Unauthenticated, refused.Error?.Code);
        Assert.DoesNotContain(garbage, refused.Error!.Message);

        // An expired token of a trusted issuer.
        var expired = TestIdentity.Shared.AgentToken((await Harness.GetTaskAsync(root.TaskId)).Value.Agent, TimeSpan.FromMinutes(-10));
        Assert.Equal(GrantErrorCode.Unauthenticated, (await Harness.Anonymous.As(new StaticCallerToken(expired)).GetTaskAsync(root.TaskId)).Error?.Code);

        // The planner's own SVID does not make it a gateway.
        var asAgent = await Harness.AsAgent((await Harness.GetTaskAsync(root.TaskId)).Value.Agent).AuthorizeAsync(plannerCredential.Token, "read", Scenario.Document);
        Assert.Equal(DecisionReason.CallerForbidden, asAgent.Reason);
        Assert.True((await Harness.AuthorizeAsync(plannerCredential.Token, "read", Scenario.Document)).IsAllowed);
    }

    [Fact]
    public async Task ARawClient_CallingInternalInterfaces_IsRefused_WhateverItCarries()
    {
        var (planner, _, root, plannerCredential, plannerSession) = await PlannerAndWorkerAsync();
        var grains = fixture.Cluster.Client;
        // Every role there is, and a guess at the cluster's mark.
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        RequestContext.Set(ClusterCallKey.Header, RandomNumberGenerator.GetBytes(32));

        var forgedId = CredentialToken.NewCredentialId();
        var (forgedToken, _) = ForgedTokens.WithHash(forgedId);
        var secret = RandomNumberGenerator.GetBytes(32);
        var now = fixture.Time.GetUtcNow();
        await AssertRefusedAsync(() => grains.GetGrain<ITaskLifecycleGrain>("t-" + Guid.NewGuid().ToString("N")).InitializeChildAsync(new ChildTaskSpec
        {
            ParentTaskId = root.TaskId,
            RootTaskId = root.TaskId,
            Ancestors = [root.TaskId],
            RootPerson = "person:forged@test.dev",
            Orchestrator = "service:forged",
            Agent = planner,
            Scope = Scenario.Scope(2, "db:*:*"),
            ExpiresAt = now.AddYears(10),
            Depth = 1,
        }));
        await AssertRefusedAsync(() => grains.GetGrain<ICredentialLifecycleGrain>(plannerCredential.CredentialId).InvalidateLeasesAsync());
        await AssertRefusedAsync(() => grains.GetGrain<ICascadeMonitorGrain>(0).ReportAsync(new PendingCascade { Kind = "task", Id = root.TaskId, PendingSteps = 1 }));
        await AssertRefusedAsync(() => grains.GetGrain<ICredentialLifecycleGrain>(plannerCredential.CredentialId).VerifyProofAsync(secret));

        // Nothing was forged: the made-up credential does not authorize, and the planner's still does.
        Assert.False((await Harness.AuthorizeAsync(forgedToken, "read", new ResourceRef { Type = "db", Path = "x" })).IsAllowed);
        Assert.True((await Harness.AuthorizeAsync(plannerCredential.Token, "read", Scenario.Document)).IsAllowed);
        Assert.Single((await Harness.GetTaskTreeAsync(root.TaskId)).Value.Children);
    }

    [Fact]
    public async Task EveryInternalGrainInterface_IsClosedToClients_WithEveryRoleAndAGuessedMark()
    {
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        RequestContext.Set(ClusterCallKey.Header, RandomNumberGenerator.GetBytes(32));
        var grainAssembly = typeof(ClusterCallKey).Assembly;
        var internals = grainAssembly.GetTypes()
            .Where(t => t.IsInterface && typeof(IGrain).IsAssignableFrom(t) && !t.IsPublic)
            // One implementation each, so a reference names one grain type (ILeaseHolderGrain is reached through its derived interfaces).
            .Where(t => grainAssembly.GetTypes().Count(c => c.IsClass && !c.IsAbstract && typeof(Grain).IsAssignableFrom(c) && t.IsAssignableFrom(c)) == 1)
            .ToList();
        Assert.True(internals.Count >= 8, $"found {internals.Count} internal grain interfaces");
        var checkedMethods = 0;
        foreach (var type in internals)
        {
            var reference = typeof(IGrainWithIntegerKey).IsAssignableFrom(type)
                ? fixture.Cluster.Client.GetGrain(type, 0L)
                : fixture.Cluster.Client.GetGrain(type, WellFormedKey(type.Name));
            // One-way methods answer nothing to the caller; the door refuses them by the same rule (no [CallerOperation]).
            foreach (var method in type.GetMethods().Where(m => m.GetCustomAttribute<Orleans.Concurrency.OneWayAttribute>() is null))
            {
                var arguments = method.GetParameters().Select(p => p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null).ToArray();
                var call = (Task)method.Invoke(reference, arguments)!;
                var where = $"{type.Name}.{method.Name}";
                try
                {
                    await call;
                    // A method whose result carries refusals answers with one instead of throwing.
                    var result = call.GetType().GetProperty("Result")!.GetValue(call);
                    var error = result?.GetType().GetProperty(nameof(GrantResult<int>.Error))?.GetValue(result) as GrantError;
                    Assert.True(error?.Code == GrantErrorCode.Forbidden, $"{where} answered a client with {error?.Code.ToString() ?? "success"}.");
                }
                catch (CallerRefusedException refused)
                {
                    Assert.Equal(GrantErrorCode.Forbidden, refused.Code);
                }
                checkedMethods++;
            }
        }
        Assert.True(checkedMethods >= 20, $"checked {checkedMethods} methods");
    }

    // A key each grain accepts, so the refusal comes from the door and not from the key check before it.
    private static string WellFormedKey(string interfaceName) => interfaceName switch
    {
        var n when n.Contains("Credential", StringComparison.Ordinal) => CredentialToken.NewCredentialId(),
        var n when n.Contains("Agent", StringComparison.Ordinal) => $"spiffe://test.dev/{Guid.NewGuid():N}/probe",
        var n when n.Contains("Session", StringComparison.Ordinal) => "s-" + Guid.NewGuid().ToString("N"),
        var n when n.Contains("Approval", StringComparison.Ordinal) => "ap-" + Guid.NewGuid().ToString("N"),
        _ => "t-" + Guid.NewGuid().ToString("N"),
    };

    [Fact]
    public async Task AnApproversProof_NeverReachesAWatchersObserver()
    {
        // A watcher (an auditor may watch approvals) keeps the request context of every notification it receives.
        var observer = new ContextRecordingObserver();
        await using var subscription = (await Harness.AsPerson("person:watcher@test.dev", "auditor").SubscribeApprovalsAsync(observer)).Value;
        var scope = Scenario.Scope(0, "secret:read:*");
        var agent = await _s.AgentAsync("secret-reader", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var stepUp = await Harness.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "secret", Path = "payments/db" });
        var approval = stepUp.ApprovalId!;

        // The approver's first call sends its token; the next refers to it by its SHA-256, which the silo that verified
        // the token takes in its place. The approval's notification to the watcher is made in that call's turn.
        var approver = Harness.AsPerson(task.RootPerson, "approver");
        Assert.True((await approver.GetApprovalAsync(approval)).IsSuccess);
        Assert.True((await approver.ApproveAsync(approval, task.RootPerson, "ok")).IsSuccess);
        var resolved = await observer.Resolved.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(approval, resolved.ApprovalId);
        Assert.True(observer.Notifications >= 2, $"{observer.Notifications} notifications");
        Assert.Empty(observer.ProofsSeen);
    }

    [Fact]
    public async Task OrleansSystemTargets_AreClosedToClients_WhateverTokenTheyCarry()
    {
        // Silo control (statistics, collection, versioning) and the reminder service: Orleans' own, reached through the
        // gateway by anyone who connects. The cluster's own calls carry its mark; a client's are refused as internal.
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        var silo = fixture.Cluster.Primary!.SiloAddress;
        var siloControl = Type.GetType("Orleans.ISiloControl, Orleans.Core", throwOnError: true)!;
        var byId = typeof(IGrainFactory).GetMethods().Single(m => m.Name == nameof(IGrainFactory.GetGrain) && m.IsGenericMethodDefinition
            && m.GetParameters() is [{ ParameterType: var parameter }] && parameter == typeof(GrainId));
        var control = byId.MakeGenericMethod(siloControl).Invoke(fixture.Cluster.Client, [SystemTargetGrainId.Create(SystemTargetGrainId.CreateGrainType("silo-control"), silo).GrainId])!;

        foreach (var name in new[] { "Ping", "ForceActivationCollection", "GetActiveGrains" })
        {
            var method = siloControl.GetMethods().First(m => m.Name == name);
            var arguments = method.GetParameters().Select(p => p.ParameterType == typeof(string) ? "from outside" : p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null).ToArray();
            await AssertRefusedAsync(() => (Task)method.Invoke(control, arguments)!);
        }
        // The client's own manifest still comes from its gateway: the cluster client keeps working.
        Assert.True((await Harness.ListPendingApprovalsAsync()).IsSuccess);
    }

    [Fact]
    public async Task OrleansRuntimeInterfacesOnGrains_AreClosedToClients()
    {
        var (_, _, root, _, _) = await PlannerAndWorkerAsync();
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        var management = fixture.Cluster.Client.GetGrain<ITaskGrain>(root.TaskId).AsReference<Orleans.Core.Internal.IGrainManagementExtension>();

        await AssertRefusedAsync(async () => await management.DeactivateOnIdle());
        await AssertRefusedAsync(async () => await management.MigrateOnIdle());
        var reminders = fixture.Cluster.Client.GetGrain<ITaskGrain>(root.TaskId).AsReference<IRemindable>();
        await AssertRefusedAsync(() => reminders.ReceiveReminder("lifecycle", default));
        Assert.True((await Harness.GetTaskAsync(root.TaskId)).IsSuccess);
    }

    [Fact]
    public async Task TheSilosOwnTimerTicks_PassTheDoorUnmarked()
    {
        // A task ended from above works through its subtree from a grain timer of its own (Orleans delivers each tick to
        // the activation as a call through the incoming filters, without the cluster's mark); the clock is never moved,
        // so only that timer, not a retry, can end the worker's credential.
        var (_, worker, root, _, _) = await PlannerAndWorkerAsync();
        var child = (await Harness.GetTaskTreeAsync(root.TaskId)).Value.Children.Single().Task.TaskId;
        var (_, workerCredential) = await _s.CredentialAsync(worker, child);

        Assert.True((await Harness.RevokeTaskAsync(root.TaskId, "timer check")).IsSuccess);

        await Eventually.ReturnsAsync(
            () => Harness.GetCredentialAsync(workerCredential.CredentialId),
            c => c.IsSuccess && c.Value.Status == CredentialStatus.Revoked,
            Eventually.InProcess,
            "the worker's credential ended by its task's timer-driven cascade");
        Assert.DoesNotContain(fixture.Warnings.Lines, l => l.Contains("IGrainTimerInvoker", StringComparison.Ordinal));
    }

    // Records what a notification's request context carries of a caller's proof.
    private sealed class ContextRecordingObserver : IApprovalObserver
    {
        private readonly TaskCompletionSource<ApprovalInfo> _resolved = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _notifications;

        public System.Collections.Concurrent.ConcurrentQueue<string> ProofsSeen { get; } = new();

        public int Notifications => Volatile.Read(ref _notifications);

        public Task<ApprovalInfo> Resolved => _resolved.Task;

        public Task OnApprovalRequestedAsync(ApprovalInfo approval)
        {
            Record(nameof(OnApprovalRequestedAsync));
            return Task.CompletedTask;
        }

        public Task OnApprovalResolvedAsync(ApprovalInfo approval)
        {
            Record(nameof(OnApprovalResolvedAsync));
            _resolved.TrySetResult(approval);
            return Task.CompletedTask;
        }

        private void Record(string where)
        {
            Interlocked.Increment(ref _notifications);
            foreach (var header in new[] { CallerHeaders.Token, CallerHeaders.TokenReference })
            {
                if (RequestContext.Get(header) is not null)
                {
                    ProofsSeen.Enqueue($"{where}: {header}");
                }
            }
        }
    }

    private static async Task AssertRefusedAsync<T>(Func<Task<T>> call)
    {
        try
        {
            var result = await call();
            if (result is GrantResult<CredentialInfo> c)
            {
                Assert.Equal(GrantErrorCode.Forbidden, c.Error?.Code);
            }
            else if (result is GrantResult<TaskInfo> t)
            {
                Assert.Equal(GrantErrorCode.Forbidden, t.Error?.Code);
            }
            else if (result is GrantResult<PendingCascade> p)
            {
                Assert.Equal(GrantErrorCode.Forbidden, p.Error?.Code);
            }
            else
            {
                Assert.Fail($"An internal call from a client answered {result}.");
            }
        }
        catch (CallerRefusedException refused)
        {
            Assert.Equal(GrantErrorCode.Forbidden, refused.Code);
            Assert.Contains("internal to the cluster", refused.Message);
        }
    }

    private static async Task AssertRefusedAsync(Func<Task> call)
    {
        var refused = await Assert.ThrowsAsync<CallerRefusedException>(call);
        Assert.Equal(GrantErrorCode.Forbidden, refused.Code);
    }
}
