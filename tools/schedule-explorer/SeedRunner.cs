using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using GrantSilo.Client;

namespace GrantSilo.ScheduleExplorer;

/// <summary>What one seed did: its plan, its history, and the violations the checker found.</summary>
public sealed record SeedResult(Plan Plan, History History, IReadOnlyList<Violation> Violations, IReadOnlyList<string> FaultLog, IReadOnlyList<FaultRule> Fired, int Unfinished, TimeSpan Elapsed, string? SetupError)
{
    public bool Violated => Violations.Count > 0;

    /// <summary>
    /// Which known hole of issue 16 a violation most likely went through, from the faults that fired:
    /// a guess to sort a campaign's findings, not a proof (the description has the whole story).
    /// </summary>
    public string Suspect(Violation violation)
    {
        var end = violation.End;
        var retried = History.Records.Any(r => r.Op == end.Op && r.Attempt < end.Attempt && r.Outcome != Outcome.Acknowledged);
        if (Fired.Any(f => f.Action == FaultAction.WriteCommitThenFail && f.Target == end.Op.Target) && retried)
        {
            return "hole 1 (a retried end found the state already terminal and acknowledged without telling lease holders)";
        }
        if (Fired.Any(f => f.Action == FaultAction.WriteCommitThenFail))
        {
            return "hole 1 (a committed write whose reply was lost: memory rolled back, state already terminal)";
        }
        var clockMoved = History.Marks.Any(m => m.What.StartsWith("advance", StringComparison.Ordinal) && m.At > end.Invoked && m.At < end.Responded);
        if (Plan.EarlyTimers > TimeSpan.Zero && clockMoved)
        {
            return "hole 4 (the end outwaited a holder's lease on timers that fired early)";
        }
        var slowHolder = Fired.Any(f => f.Target == violation.Authorize.Op.Target && f.Method == "InvalidateLeasesAsync" && f.Action is FaultAction.Hold or FaultAction.HoldReply or FaultAction.Refuse);
        if (slowHolder)
        {
            return "hole 3 (a second invalidation of a task's ledger returned while the first still waited on, or outwaited, a slow holder)";
        }
        return "unclassified";
    }

    /// <summary>The seed, its plan as text, what happened, and how to replay it.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine($"=== seed {Plan.Seed}: {Violations.Count} violation(s){(SetupError is null ? "" : $"; set-up failed: {SetupError}")}");
        foreach (var violation in Violations)
        {
            text.AppendLine($"  VIOLATION: {violation}");
            text.AppendLine($"    likely {Suspect(violation)}");
        }
        text.Append(Plan);
        text.AppendLine("  faults hit:");
        foreach (var hit in FaultLog)
        {
            text.AppendLine($"    {hit}");
        }
        text.AppendLine("  history [invoked .. responded] (one global logical clock):");
        text.Append(History.Describe());
        text.AppendLine($"  replay: EXPLORER_SEED={Plan.Seed} dotnet test tests/GrantSilo.Grains.Tests -c Release --filter FullyQualifiedName~Explorer");
        text.AppendLine($"      or: dotnet run -c Release --project tools/schedule-explorer -- --seed {Plan.Seed} --repeat 20");
        return text.ToString();
    }
}

/// <summary>
/// Runs one plan on the shared cluster: builds its tree under fresh ids without faults, arms the
/// faults, drives the schedule (operations start concurrently; the driver settles, awaits, releases
/// holds and moves the lease clock as the plan says), then authorizes every credential, releases every
/// hold, moves the lease clock until the operations return, authorizes every credential again, and
/// checks the history.
/// </summary>
public sealed class SeedRunner(GrantClient client, Func<string, GrantClient> asAgent, ExplorerLeaseClock leaseClock, TimeSpan leaseDuration)
{
    // A client per agent (by SPIFFE ID), calling with its own token: it opens its sessions, is issued credentials and delegates.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, GrantClient> _agents = new(StringComparer.Ordinal);

    private GrantClient Agent(string spiffeId) => _agents.GetOrAdd(spiffeId, asAgent);

    private GrantClient SessionAgent(World world, string session) =>
        Agent(world.Agents[world.Plan.Sessions.Single(s => s.Name == session).Agent]);

    /// <summary>The longest the driver waits for one attempt of an operation before counting it as failed.</summary>
    public static readonly TimeSpan AttemptBound = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan SetupBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(5);
    private static readonly ResourceRef Resource = new() { Type = "doc", Path = "reports/q3" };

    public async Task<SeedResult> RunAsync(Plan plan)
    {
        var started = Stopwatch.GetTimestamp();
        var mark = started;
        var injector = new FaultInjector(plan.Faults);
        var world = new World(injector, plan, $"x{plan.Seed}-{Guid.NewGuid().ToString("N")[..6]}");
        var history = new History();
        ExplorerHooks.Current = injector;
        leaseClock.Early = plan.EarlyTimers;
        string? setupError = null;
        var ops = new Dictionary<int, Task>();
        var unfinished = 0;
        try
        {
            try
            {
                setupError = await SetUpAsync(plan, world).WaitAsync(SetupBound);
            }
            catch (TimeoutException)
            {
                setupError = $"set-up did not finish within {SetupBound.TotalSeconds:0} s";
            }
            RunnerStats.Add(RunnerStats.Phase.SetUp, ref mark);
            if (setupError is null)
            {
                injector.Arm();
                foreach (var step in plan.Steps)
                {
                    switch (step)
                    {
                        case PlanStep.Start start:
                            ops[start.Op.Index] = RunOpAsync(start.Op, world, history);
                            break;
                        case PlanStep.Settle:
                            await SettleAsync(injector);
                            break;
                        case PlanStep.Await wait when ops.TryGetValue(wait.OpIndex, out var op):
                            // Bounded: a held operation is done as far as the driver can tell once the cluster is quiet.
                            await Task.WhenAny(op, SettleAsync(injector));
                            break;
                        case PlanStep.Release release:
                            history.Mark(release.ToString());
                            injector.Release(release.FaultId);
                            break;
                        case PlanStep.Advance advance:
                            history.Mark(advance.ToString());
                            leaseClock.Advance(TimeSpan.FromMilliseconds(advance.Milliseconds));
                            break;
                    }
                }
                RunnerStats.Add(RunnerStats.Phase.Schedule, ref mark);
                await SettleAsync(injector);
                await AuthorizeEveryCredentialAsync(world, history, -1);
                RunnerStats.Add(RunnerStats.Phase.FirstRound, ref mark);
                history.Mark("release every hold");
                injector.ReleaseAll();
                var drainUntil = Stopwatch.GetTimestamp() + (long)(DrainBound.TotalSeconds * Stopwatch.Frequency);
                while (ops.Values.Any(t => !t.IsCompleted) && Stopwatch.GetTimestamp() < drainUntil)
                {
                    // Outwaiting an unreachable holder, or the grace after activation, ends only as lease time passes.
                    history.Mark("advance lease clock one lease (drain)");
                    leaseClock.Advance(leaseDuration + TimeSpan.FromMilliseconds(1));
                    await SettleAsync(injector);
                }
                unfinished = ops.Values.Count(t => !t.IsCompleted);
                // Past every lease granted during the schedule: the last round asks the sources themselves.
                history.Mark("advance lease clock one lease");
                leaseClock.Advance(leaseDuration + TimeSpan.FromMilliseconds(1));
                await SettleAsync(injector);
                RunnerStats.Add(RunnerStats.Phase.Drain, ref mark);
                await AuthorizeEveryCredentialAsync(world, history, -1000);
                RunnerStats.Add(RunnerStats.Phase.LastRound, ref mark);
            }
        }
        finally
        {
            injector.Disarm();
            injector.ReleaseAll();
            leaseClock.Early = TimeSpan.Zero;
        }
        var violations = Checker.Check(plan, history);
        return new SeedResult(plan, history, violations, [.. injector.Log], injector.Fired, unfinished, Stopwatch.GetElapsedTime(started), setupError);
    }

    private async Task<string?> SetUpAsync(Plan plan, World world)
    {
        foreach (var agent in plan.Agents)
        {
            var id = $"spiffe://explorer.dev/{world.Run}/{agent}";
            var registered = await client.RegisterAgentAsync(id, new AgentRegistration { Owner = "person:explorer@test.dev", Ceiling = ScopeAt(0) });
            if (!registered.IsSuccess)
            {
                return $"register {agent}: {registered.Error}";
            }
            world.Add(agent, id, "agent");
        }
        foreach (var session in plan.Sessions)
        {
            var opened = await Agent(world.Agents[session.Agent]).OpenSessionAsync(new OpenSessionRequest { Agent = world.Agents[session.Agent] });
            if (!opened.IsSuccess)
            {
                return $"open {session.Name}: {opened.Error}";
            }
            world.Add(session.Name, opened.Value.SessionId, "session");
        }
        foreach (var task in plan.Tasks.Take(plan.SetupTasks))
        {
            GrantResult<TaskInfo> created;
            if (task.Parent is null)
            {
                created = await client.CreateTaskAsync(new CreateTaskRequest
                {
                    // The orchestrator recorded is the caller (the harness), which then completes the task.
                    Person = "person:alice@test.dev",
                    Agent = world.Agents[task.Agent],
                    Scope = ScopeAt(0),
                    Lifetime = TimeSpan.FromHours(2),
                    Purpose = "explorer root",
                });
            }
            else
            {
                var proof = plan.Credentials.Take(plan.SetupCredentials).First(c => c.Task == task.Parent);
                created = await DelegateAsync(plan, world, task.Parent, world.Credentials[proof.Name].Token, task);
            }
            if (!created.IsSuccess)
            {
                return $"create {task.Name}: {created.Error}";
            }
            world.Add(task.Name, created.Value.TaskId, "task");
            foreach (var credential in plan.Credentials.Take(plan.SetupCredentials).Where(c => c.Task == task.Name))
            {
                var issued = await SessionAgent(world, credential.Session).IssueCredentialAsync(world.Sessions[credential.Session], new IssueCredentialRequest { TaskId = created.Value.TaskId });
                if (!issued.IsSuccess)
                {
                    return $"issue {credential.Name}: {issued.Error}";
                }
                world.AddCredential(credential.Name, issued.Value);
            }
        }
        foreach (var warm in plan.Warm)
        {
            var decision = await AuthorizeRawAsync(world.Credentials[warm]);
            if (!decision.IsAllowed)
            {
                return $"warm {warm}: {decision.Reason} {decision.Detail}";
            }
        }
        return null;
    }

    private Task<GrantResult<TaskInfo>> DelegateAsync(Plan plan, World world, string parent, string proofToken, TaskNode child)
    {
        var depth = plan.Chain(child.Name).Count() - 1;
        return Agent(world.Agents[plan.Tasks.Single(t => t.Name == parent).Agent]).DelegateAsync(world.Tasks[parent], new DelegationRequest
        {
            ProofToken = proofToken,
            Agent = world.Agents[child.Agent],
            Scope = ScopeAt(depth),
            Lifetime = TimeSpan.FromHours(1),
            Purpose = "explorer delegation",
        });
    }

    // A root scope may delegate three hops; each hop may delegate one less.
    private static Scope ScopeAt(int depth) =>
        Scope.Create(["doc:read:*"], DataClassification.Confidential, 3 - depth).Value;

    private Task<Decision> AuthorizeRawAsync(IssuedCredential credential) =>
        client.AuthorizeAsync(credential.Token, "read", Resource);

    private async Task AuthorizeEveryCredentialAsync(World world, History history, int firstIndex)
    {
        var index = firstIndex;
        var all = world.Credentials.Keys.Order(StringComparer.Ordinal)
            .Select(name => RunOpAsync(new PlanOp(index--, OpKind.Authorize, name), world, history))
            .ToList();
        // A decision held by a fault returns after the holds are released; the others return before the cluster is quiet.
        await Task.WhenAny(Task.WhenAll(all), SettleAsync(world.Injector));
    }

    private async Task RunOpAsync(PlanOp op, World world, History history)
    {
        // Start concurrently with the driver: the driver's next step must not wait for this one's first turn.
        await Task.Yield();
        world.Injector.Touch();
        try
        {
            switch (op.Kind)
            {
                case OpKind.Authorize:
                    await AuthorizeOpAsync(op, world, history);
                    break;
                case OpKind.Delegate:
                    await DelegateOpAsync(op, world, history);
                    break;
                case OpKind.Issue:
                    await IssueOpAsync(op, world, history);
                    break;
                default:
                    await EndOpAsync(op, world, history);
                    break;
            }
        }
        finally
        {
            world.Injector.Touch();
        }
    }

    private async Task AuthorizeOpAsync(PlanOp op, World world, History history)
    {
        if (!world.Credentials.TryGetValue(op.Target, out var credential))
        {
            history.Respond(history.Invoke(op, 0), Outcome.Skipped, $"{op.Target} was never issued");
            return;
        }
        var record = history.Invoke(op, 0);
        try
        {
            var decision = await AuthorizeRawAsync(credential).WaitAsync(AttemptBound);
            history.Respond(record, decision.IsAllowed ? Outcome.Allow : Outcome.Deny, decision.IsAllowed ? "" : decision.Reason.ToString());
        }
        catch (Exception exception)
        {
            history.Respond(record, Outcome.Failed, exception.GetType().Name);
        }
    }

    // An end is retried, as the SDK advises, when it answers Unavailable or throws: each attempt is its own record.
    private async Task EndOpAsync(PlanOp op, World world, History history)
    {
        if (!world.Ids.TryGetValue(op.Target, out var id))
        {
            history.Respond(history.Invoke(op, 0), Outcome.Skipped, $"{op.Target} was never created");
            return;
        }
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var record = history.Invoke(op, attempt);
            try
            {
                var error = op.Kind switch
                {
                    OpKind.RevokeTask => (await client.RevokeTaskAsync(id, "explorer").WaitAsync(AttemptBound)).Error,
                    OpKind.CompleteTask => (await client.CompleteTaskAsync(id, "explorer").WaitAsync(AttemptBound)).Error,
                    OpKind.SuspendAgent => (await client.SuspendAgentAsync(id, "explorer").WaitAsync(AttemptBound)).Error,
                    OpKind.EndSession => (await client.EndSessionAsync(id, "explorer").WaitAsync(AttemptBound)).Error,
                    _ => (await client.RevokeCredentialAsync(id, "explorer").WaitAsync(AttemptBound)).Error,
                };
                if (error is null)
                {
                    history.Respond(record, Outcome.Acknowledged);
                    return;
                }
                history.Respond(record, Outcome.Refused, error.Code.ToString());
                if (error.Code != GrantErrorCode.Unavailable)
                {
                    return;
                }
            }
            catch (TimeoutException)
            {
                history.Respond(record, Outcome.Failed, "no reply within the bound");
                return;
            }
            catch (Exception exception)
            {
                history.Respond(record, Outcome.Failed, exception.GetType().Name);
            }
        }
    }

    private async Task DelegateOpAsync(PlanOp op, World world, History history)
    {
        var child = world.Plan.Task(op.Creates!);
        if (!world.Tasks.ContainsKey(op.Target) || !world.Credentials.TryGetValue(op.Proof!, out var proof))
        {
            history.Respond(history.Invoke(op, 0), Outcome.Skipped, "parent or proof was never created");
            return;
        }
        var record = history.Invoke(op, 0);
        try
        {
            var created = await DelegateAsync(world.Plan, world, op.Target, proof.Token, child).WaitAsync(AttemptBound);
            if (created.IsSuccess)
            {
                world.Add(child.Name, created.Value.TaskId, "task");
                history.Respond(record, Outcome.Acknowledged, created.Value.TaskId);
            }
            else
            {
                history.Respond(record, Outcome.Refused, created.Error.Code.ToString());
            }
        }
        catch (Exception exception)
        {
            history.Respond(record, Outcome.Failed, exception.GetType().Name);
        }
    }

    private async Task IssueOpAsync(PlanOp op, World world, History history)
    {
        if (!world.Tasks.TryGetValue(op.Other!, out var taskId))
        {
            history.Respond(history.Invoke(op, 0), Outcome.Skipped, $"{op.Other} was never created");
            return;
        }
        var record = history.Invoke(op, 0);
        try
        {
            var issued = await SessionAgent(world, op.Target).IssueCredentialAsync(world.Sessions[op.Target], new IssueCredentialRequest { TaskId = taskId }).WaitAsync(AttemptBound);
            if (issued.IsSuccess)
            {
                world.AddCredential(op.Creates!, issued.Value);
                history.Respond(record, Outcome.Acknowledged, issued.Value.CredentialId);
            }
            else
            {
                history.Respond(record, Outcome.Refused, issued.Error.Code.ToString());
            }
        }
        catch (Exception exception)
        {
            history.Respond(record, Outcome.Failed, exception.GetType().Name);
        }
    }

    /// <summary>
    /// Waits until nothing has happened for a few milliseconds (every operation has returned, is held,
    /// or waits on the lease clock), or half a second at most. This is not waiting for time to pass in
    /// the system under test (the lease clock is fake); it lets concurrent work reach its next await.
    /// </summary>
    private static async Task SettleAsync(FaultInjector injector)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2;
        var last = injector.Events;
        var quiet = 0;
        while (quiet < 2 && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(1);
            var now = injector.Events;
            quiet = now == last ? quiet + 1 : 0;
            last = now;
        }
        RunnerStats.Settled(quiet >= 2);
    }

    /// <summary>The seed's logical names and the ids they were created under.</summary>
    private sealed class World(FaultInjector injector, Plan plan, string run)
    {
        public FaultInjector Injector { get; } = injector;
        public string Run { get; } = run;
        public Plan Plan { get; } = plan;
        public ConcurrentDictionary<string, string> Ids { get; } = new();
        public ConcurrentDictionary<string, string> Agents { get; } = new();
        public ConcurrentDictionary<string, string> Tasks { get; } = new();
        public ConcurrentDictionary<string, string> Sessions { get; } = new();
        public ConcurrentDictionary<string, IssuedCredential> Credentials { get; } = new();

        public void Add(string name, string id, string kind)
        {
            Ids[name] = id;
            (kind switch { "agent" => Agents, "task" => Tasks, _ => Sessions })[name] = id;
            Injector.Name(GrainId.Create(kind, id), name);
        }

        public void AddCredential(string name, IssuedCredential credential)
        {
            Ids[name] = credential.CredentialId;
            Credentials[name] = credential;
            Injector.Name(GrainId.Create("credential", credential.CredentialId), name);
        }
    }
}
