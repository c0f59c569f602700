namespace GrantSilo.ScheduleExplorer;

/// <summary>
/// Draws a <see cref="Plan"/> from a seed: a small tree, a few faults aimed at the awaits on the
/// acknowledgement and decision paths, and a schedule that interleaves ends, delegations, issuance
/// and authorizations with releases of held calls and moves of the lease clock.
/// </summary>
public static class PlanGenerator
{
    // The grain methods on the acknowledgement and decision paths, by grain kind, with weights.
    private static readonly Dictionary<char, (string Method, int Weight)[]> Methods = new()
    {
        ['K'] = [("InvalidateLeasesAsync", 8), ("EndFromAboveAsync", 2), ("AuthorizeAsync", 1), ("RevokeAsync", 1), ("InitializeAsync", 1)],
        ['T'] = [("InvalidateLeasesAsync", 6), ("LeaseChainAsync", 3), ("LeaseSelfAsync", 2), ("EndFromAboveAsync", 3), ("RevokeAsync", 2), ("CompleteAsync", 1), ("AttachIssuingSessionAsync", 1), ("DelegateAsync", 1)],
        ['A'] = [("LeaseAsync", 3), ("SuspendAsync", 2), ("GetActiveAsync", 1)],
        ['S'] = [("LeaseAsync", 3), ("EndAsync", 2), ("EndTaskCredentialsAsync", 2), ("EndFromAgentAsync", 1), ("IssueCredentialAsync", 1)],
    };

    // The lease duration of ExplorerCluster, in the plan's own terms.
    private const double LeaseMilliseconds = 2000;

    private static readonly int[] Advances = [10, 50, 100, 500, 1000, 1500, 1900, 1950, 1990, 1999, 2000, 2001, 2500];

    public static Plan Generate(int seed)
    {
        var rng = new Random(seed);
        var agents = Enumerable.Range(0, rng.Next(2, 4)).Select(i => $"A{i}").ToList();
        var tasks = new List<TaskNode> { new("T0", "A0", null) };
        var depth = new Dictionary<string, int> { ["T0"] = 0 };
        var extra = rng.Next(1, 5);
        for (var i = 1; i <= extra; i++)
        {
            var parents = tasks.Where(t => depth[t.Name] < 3).ToList();
            var parent = parents[rng.Next(parents.Count)];
            tasks.Add(new TaskNode($"T{i}", agents[rng.Next(agents.Count)], parent.Name));
            depth[$"T{i}"] = depth[parent.Name] + 1;
        }
        var sessions = new List<SessionNode>();
        foreach (var agent in agents)
        {
            for (var n = rng.Next(1, 3); n > 0; n--)
            {
                sessions.Add(new SessionNode($"S{sessions.Count}", agent));
            }
        }
        var credentials = new List<CredentialNode>();
        foreach (var task in tasks)
        {
            var own = sessions.Where(s => s.Agent == task.Agent).ToList();
            for (var n = rng.Next(1, 3); n > 0; n--)
            {
                credentials.Add(new CredentialNode($"K{credentials.Count}", task.Name, own[rng.Next(own.Count)].Name));
            }
        }
        var setupTasks = tasks.Count;
        var setupCredentials = credentials.Count;
        var warm = credentials.Where(_ => rng.NextDouble() < 0.85).Select(c => c.Name).ToList();

        // Half the seeds focus on one warm credential: a slow holder whose invalidation is held, ends
        // that cover it arriving along different paths, and decisions on it. Interleavings that matter
        // need several things to line up on one credential, which uniform choices rarely do.
        CredentialNode? focus = null;
        if (warm.Count > 0 && rng.NextDouble() < 0.5)
        {
            var name = warm[rng.Next(warm.Count)];
            focus = credentials.First(c => c.Name == name);
        }

        var faults = new List<FaultRule>();
        if (focus is not null)
        {
            var occurrence = rng.NextDouble() < 0.7 ? 1 : 0;
            faults.Add(new FaultRule("F0", rng.NextDouble() < 0.75 ? FaultSite.Callee : FaultSite.Caller, FaultAction.Hold, focus.Name, "InvalidateLeasesAsync", occurrence));
        }
        for (var n = rng.Next(focus is null ? 1 : 0, 4); n > 0; n--)
        {
            faults.Add(NextFault(rng, $"F{faults.Count}", agents, tasks, sessions, credentials));
        }

        // The schedule: operations on the tree, including tasks and credentials it creates itself.
        var steps = new List<PlanStep>();
        var ops = new List<PlanOp>();
        var opCount = rng.Next(4, 11);
        for (var i = 0; i < opCount; i++)
        {
            var op = NextOp(rng, i, ops, agents, tasks, sessions, credentials, depth);
            if (focus is not null && rng.NextDouble() < 0.5)
            {
                op = Focused(rng, op, focus, tasks);
            }
            ops.Add(op);
            steps.Add(new PlanStep.Start(op));
        }

        // Interleave settles, awaits, releases and clock moves between the starts.
        var schedule = new List<PlanStep>();
        var unreleased = faults.Where(f => f.IsHold && rng.NextDouble() < 0.6).Select(f => f.Id).ToList();
        foreach (var start in steps.Cast<PlanStep.Start>())
        {
            schedule.Add(start);
            if (rng.NextDouble() < 0.55)
            {
                schedule.Add(new PlanStep.Settle());
            }
            if (rng.NextDouble() < 0.1 && start.Op.Index > 0)
            {
                schedule.Add(new PlanStep.Await(rng.Next(start.Op.Index)));
            }
            if (unreleased.Count > 0 && rng.NextDouble() < 0.2)
            {
                var id = unreleased[rng.Next(unreleased.Count)];
                unreleased.Remove(id);
                schedule.Add(new PlanStep.Release(id));
                schedule.Add(new PlanStep.Settle());
            }
            if (rng.NextDouble() < 0.18)
            {
                schedule.Add(new PlanStep.Advance(Advances[rng.Next(Advances.Length)]));
                if (rng.NextDouble() < 0.7)
                {
                    schedule.Add(new PlanStep.Settle());
                }
            }
        }

        // With early timers, an outwaited lease is acknowledged early only if the lease clock stops
        // just short of its end: step it there (twice, since a wait that fired early waits again for
        // the rest), then decide on the focus credential.
        var early = rng.NextDouble() < 0.3 ? TimeSpan.FromMilliseconds(rng.Next(2, 300)) : TimeSpan.Zero;
        if (early > TimeSpan.Zero && rng.NextDouble() < 0.6)
        {
            var e = (int)early.TotalMilliseconds;
            var first = (int)LeaseMilliseconds - e + rng.Next(0, e / 2 + 1);
            var rest = (int)LeaseMilliseconds - first;
            // Right after an end starts that reaches the focus credential only through its task's ledger
            // (an ancestor's end or an agent's suspension: a task's own end, or its session's, also ends
            // the credential before it is acknowledged), while it outwaits.
            var end = schedule.FindIndex(step => step is PlanStep.Start { Op.Kind: OpKind.RevokeTask or OpKind.CompleteTask or OpKind.SuspendAgent } start
                && (focus is null || (Covers(start.Op, focus, tasks) && start.Op.Target != focus.Task)));
            var at = end < 0 ? schedule.Count : end + 1;
            schedule.InsertRange(at,
            [
                new PlanStep.Settle(),
                new PlanStep.Advance(first),
                new PlanStep.Settle(),
                new PlanStep.Advance(Math.Max(1, rest / 2 + rng.Next(0, rest - rest / 2))),
                new PlanStep.Settle(),
                new PlanStep.Start(new PlanOp(opCount, OpKind.Authorize, (focus ?? credentials[rng.Next(setupCredentials)]).Name)),
            ]);
        }

        return new Plan
        {
            Seed = seed,
            Agents = agents,
            Tasks = tasks,
            Sessions = sessions,
            Credentials = credentials,
            SetupTasks = setupTasks,
            SetupCredentials = setupCredentials,
            Warm = warm,
            Faults = faults,
            Steps = schedule,
            EarlyTimers = early,
        };
    }

    private static bool Covers(PlanOp end, CredentialNode credential, List<TaskNode> tasks)
    {
        var chain = Chain(tasks, credential.Task);
        return end.Kind switch
        {
            OpKind.RevokeTask or OpKind.CompleteTask => chain.Any(t => t.Name == end.Target),
            OpKind.SuspendAgent => chain.Any(t => t.Agent == end.Target),
            OpKind.EndSession => end.Target == credential.Session,
            _ => end.Target == credential.Name,
        };
    }

    private static List<TaskNode> Chain(List<TaskNode> tasks, string task)
    {
        var chain = new List<TaskNode>();
        for (var node = tasks.First(t => t.Name == task); ; node = tasks.First(t => t.Name == node.Parent))
        {
            chain.Add(node);
            if (node.Parent is null)
            {
                return chain;
            }
        }
    }

    // Aims an end or an authorization at the focus credential: an end of its task, an ancestor, an
    // agent along its chain, its session or itself.
    private static PlanOp Focused(Random rng, PlanOp op, CredentialNode focus, List<TaskNode> tasks)
    {
        var chain = Chain(tasks, focus.Task);
        return op.Kind switch
        {
            OpKind.Authorize => op with { Target = focus.Name },
            OpKind.RevokeTask or OpKind.CompleteTask => op with { Target = chain[rng.Next(chain.Count)].Name },
            OpKind.SuspendAgent => op with { Target = chain[rng.Next(chain.Count)].Agent },
            OpKind.EndSession => op with { Target = focus.Session },
            OpKind.RevokeCredential => op with { Kind = OpKind.Authorize, Target = focus.Name },
            _ => op,
        };
    }

    private static PlanOp NextOp(Random rng, int index, List<PlanOp> earlier, List<string> agents, List<TaskNode> tasks, List<SessionNode> sessions, List<CredentialNode> credentials, Dictionary<string, int> depth)
    {
        var roll = rng.Next(100);
        // Retrying an earlier end is what a client told "nothing was changed, retry" does.
        if (roll < 6 && earlier.Where(o => o.IsEnd).ToList() is { Count: > 0 } ends)
        {
            var again = ends[rng.Next(ends.Count)];
            return again with { Index = index };
        }
        return roll switch
        {
            < 40 => new PlanOp(index, OpKind.Authorize, credentials[rng.Next(credentials.Count)].Name),
            < 54 => new PlanOp(index, OpKind.RevokeTask, tasks[rng.Next(tasks.Count)].Name),
            < 60 => new PlanOp(index, OpKind.CompleteTask, tasks[rng.Next(tasks.Count)].Name),
            < 70 => new PlanOp(index, OpKind.SuspendAgent, agents[rng.Next(agents.Count)]),
            < 80 => new PlanOp(index, OpKind.EndSession, sessions[rng.Next(sessions.Count)].Name),
            < 85 => new PlanOp(index, OpKind.RevokeCredential, credentials[rng.Next(credentials.Count)].Name),
            < 93 => Delegate(),
            _ => Issue(),
        };

        PlanOp Delegate()
        {
            var parents = tasks.Where(t => depth[t.Name] < 3 && credentials.Any(c => c.Task == t.Name)).ToList();
            var parent = parents[rng.Next(parents.Count)];
            var proofs = credentials.Where(c => c.Task == parent.Name).ToList();
            var name = $"T{tasks.Count}";
            var agent = agents[rng.Next(agents.Count)];
            tasks.Add(new TaskNode(name, agent, parent.Name));
            depth[name] = depth[parent.Name] + 1;
            return new PlanOp(index, OpKind.Delegate, parent.Name, agent, proofs[rng.Next(proofs.Count)].Name, name);
        }

        PlanOp Issue()
        {
            // Newer tasks first: a task the schedule delegated has no credential yet.
            var task = rng.NextDouble() < 0.6 ? tasks[^1] : tasks[rng.Next(tasks.Count)];
            var own = sessions.Where(s => s.Agent == task.Agent).ToList();
            var session = own[rng.Next(own.Count)];
            var name = $"K{credentials.Count}";
            credentials.Add(new CredentialNode(name, task.Name, session.Name));
            return new PlanOp(index, OpKind.Issue, session.Name, task.Name, null, name);
        }
    }

    private static FaultRule NextFault(Random rng, string id, List<string> agents, List<TaskNode> tasks, List<SessionNode> sessions, List<CredentialNode> credentials)
    {
        var occurrence = rng.Next(100) switch
        {
            < 60 => 1,
            < 82 => 2,
            < 90 => 3,
            _ => 0,
        };
        if (rng.NextDouble() < 0.35)
        {
            // Storage: ends of tasks, sessions and agents are the writes that matter most.
            var target = rng.Next(100) switch
            {
                < 45 => tasks[rng.Next(tasks.Count)].Name,
                < 65 => sessions[rng.Next(sessions.Count)].Name,
                < 85 => agents[rng.Next(agents.Count)],
                _ => credentials[rng.Next(credentials.Count)].Name,
            };
            var action = rng.Next(100) switch
            {
                < 55 => FaultAction.WriteCommitThenFail,
                < 80 => FaultAction.WriteFail,
                _ => FaultAction.WriteHold,
            };
            return new FaultRule(id, FaultSite.Storage, action, target, null, occurrence == 0 ? 1 : occurrence);
        }
        var callee = rng.Next(100) switch
        {
            < 45 => credentials[rng.Next(credentials.Count)].Name,
            < 80 => tasks[rng.Next(tasks.Count)].Name,
            < 90 => sessions[rng.Next(sessions.Count)].Name,
            _ => agents[rng.Next(agents.Count)],
        };
        var methods = Methods[callee[0]];
        var pick = rng.Next(methods.Sum(m => m.Weight));
        var method = methods.First(m => (pick -= m.Weight) < 0).Method;
        var callAction = rng.Next(100) switch
        {
            < 50 => FaultAction.Hold,
            < 62 => FaultAction.HoldReply,
            < 88 => FaultAction.LoseReply,
            _ => FaultAction.Refuse,
        };
        // Client entry points are only seen by the callee's filter.
        var site = IsEntry(method) || rng.NextDouble() < 0.75 ? FaultSite.Callee : FaultSite.Caller;
        return new FaultRule(id, site, callAction, callee, method, occurrence);
    }

    private static bool IsEntry(string method) =>
        method is "AuthorizeAsync" or "RevokeAsync" or "CompleteAsync" or "SuspendAsync" or "EndAsync" or "IssueCredentialAsync" or "DelegateAsync";
}
