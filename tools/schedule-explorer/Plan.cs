using System.Text;

namespace GrantSilo.ScheduleExplorer;

/// <summary>What a schedule does to the tree: the operations the promise is about.</summary>
public enum OpKind
{
    RevokeTask,
    CompleteTask,
    SuspendAgent,
    EndSession,
    RevokeCredential,
    Delegate,
    Issue,
    Authorize,
}

/// <summary>
/// One operation of a plan, on logical names (A0 agents, T0 tasks, S0 sessions, K0 credentials).
/// <see cref="Other"/> is the delegate's agent or the task a credential is issued for;
/// <see cref="Creates"/> names the task or credential the operation creates.
/// </summary>
public sealed record PlanOp(int Index, OpKind Kind, string Target, string? Other = null, string? Proof = null, string? Creates = null)
{
    /// <summary>Whether a successful return of this operation ends the usability of some credentials.</summary>
    public bool IsEnd => Kind is OpKind.RevokeTask or OpKind.CompleteTask or OpKind.SuspendAgent or OpKind.EndSession or OpKind.RevokeCredential;

    public string Label => Index >= 0 ? $"op{Index}" : $"final{-Index}";

    public override string ToString() => Kind switch
    {
        OpKind.Delegate => $"{Label} delegate {Target} -> agent {Other} as {Creates} (proof {Proof})",
        OpKind.Issue => $"{Label} issue in {Target} for {Other} as {Creates}",
        _ => $"{Label} {Kind} {Target}",
    };
}

/// <summary>Where a fault is injected.</summary>
public enum FaultSite
{
    /// <summary>In the callee's incoming grain call filter (a held call keeps a non-reentrant callee busy).</summary>
    Callee,
    /// <summary>In the caller's outgoing grain call filter (grain-to-grain calls only; the callee is not busy).</summary>
    Caller,
    /// <summary>In grain storage: the target's writes.</summary>
    Storage,
}

/// <summary>What a fault does.</summary>
public enum FaultAction
{
    /// <summary>Holds the call before it runs until a plan step releases it (never released: a hang until the seed ends).</summary>
    Hold,
    /// <summary>Runs the call, then holds its reply until released.</summary>
    HoldReply,
    /// <summary>Runs the call; the caller gets an exception instead of the reply.</summary>
    LoseReply,
    /// <summary>The call fails before it runs (an unreachable callee).</summary>
    Refuse,
    /// <summary>The write fails; nothing is stored.</summary>
    WriteFail,
    /// <summary>The write commits, then its reply is lost: the grain sees a failure and keeps its old ETag.</summary>
    WriteCommitThenFail,
    /// <summary>The write is held before it reaches storage until released.</summary>
    WriteHold,
}

/// <summary>
/// A fault aimed at one logical grain: at the <see cref="Occurrence"/>th matching call or write after
/// the schedule starts (0: every one).
/// </summary>
public sealed record FaultRule(string Id, FaultSite Site, FaultAction Action, string Target, string? Method, int Occurrence)
{
    public bool IsHold => Action is FaultAction.Hold or FaultAction.HoldReply or FaultAction.WriteHold;

    public override string ToString()
    {
        var which = Occurrence == 0 ? "every" : Occurrence == 1 ? "1st" : Occurrence == 2 ? "2nd" : $"{Occurrence}th";
        var what = Site == FaultSite.Storage ? "write" : $"{Method} call ({Site.ToString().ToLowerInvariant()} side)";
        return $"{Id}: {Action} {which} {what} to {Target}";
    }
}

/// <summary>A step of the schedule, run in order by one driver; operations it starts run concurrently.</summary>
public abstract record PlanStep
{
    public sealed record Start(PlanOp Op) : PlanStep
    {
        public override string ToString() => $"start {Op}";
    }

    /// <summary>Waits until the cluster has been quiet for a moment (every op done, held, or waiting on the lease clock).</summary>
    public sealed record Settle : PlanStep
    {
        public override string ToString() => "settle";
    }

    /// <summary>Waits (bounded) for an operation to return.</summary>
    public sealed record Await(int OpIndex) : PlanStep
    {
        public override string ToString() => $"await op{OpIndex}";
    }

    public sealed record Release(string FaultId) : PlanStep
    {
        public override string ToString() => $"release {FaultId}";
    }

    /// <summary>Moves the fake decision-lease clock.</summary>
    public sealed record Advance(int Milliseconds) : PlanStep
    {
        public override string ToString() => $"advance lease clock {Milliseconds} ms";
    }
}

public sealed record TaskNode(string Name, string Agent, string? Parent);

public sealed record SessionNode(string Name, string Agent);

public sealed record CredentialNode(string Name, string Task, string Session);

/// <summary>
/// Everything a seed does, fully determined by the seed: the tree built before the schedule (without
/// faults), the faults armed when the schedule starts, the schedule's steps, and whether the lease
/// clock's timers fire early.
/// </summary>
public sealed class Plan
{
    public required int Seed { get; init; }
    public required IReadOnlyList<string> Agents { get; init; }
    /// <summary>Every task, those built in set-up first (parents before children), then those the schedule delegates.</summary>
    public required IReadOnlyList<TaskNode> Tasks { get; init; }
    public required IReadOnlyList<SessionNode> Sessions { get; init; }
    /// <summary>Every credential, those issued in set-up first, then those the schedule issues.</summary>
    public required IReadOnlyList<CredentialNode> Credentials { get; init; }
    /// <summary>How many of <see cref="Tasks"/> and <see cref="Credentials"/> set-up creates.</summary>
    public required int SetupTasks { get; init; }
    public required int SetupCredentials { get; init; }
    /// <summary>Credentials authorized once in set-up, so they hold decision leases when the schedule starts.</summary>
    public required IReadOnlyList<string> Warm { get; init; }
    public required IReadOnlyList<FaultRule> Faults { get; init; }
    public required IReadOnlyList<PlanStep> Steps { get; init; }
    /// <summary>How early the lease clock's timers fire (zero: on time).</summary>
    public required TimeSpan EarlyTimers { get; init; }

    public TaskNode Task(string name) => Tasks.First(t => t.Name == name);

    public CredentialNode Credential(string name) => Credentials.First(c => c.Name == name);

    /// <summary>The task and its ancestors, the task first.</summary>
    public IEnumerable<TaskNode> Chain(string task)
    {
        for (var node = Task(task); ; node = Task(node.Parent))
        {
            yield return node;
            if (node.Parent is null)
            {
                yield break;
            }
        }
    }

    /// <summary>Whether an acknowledged <paramref name="end"/> ends the usability of <paramref name="credential"/>.</summary>
    public bool Covers(PlanOp end, string credential)
    {
        var k = Credential(credential);
        return end.Kind switch
        {
            OpKind.RevokeTask or OpKind.CompleteTask => Chain(k.Task).Any(t => t.Name == end.Target),
            OpKind.SuspendAgent => Chain(k.Task).Any(t => t.Agent == end.Target),
            OpKind.EndSession => k.Session == end.Target,
            OpKind.RevokeCredential => k.Name == end.Target,
            _ => false,
        };
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine($"seed {Seed}{(EarlyTimers > TimeSpan.Zero ? $", lease-clock timers fire {EarlyTimers.TotalMilliseconds:0} ms early" : "")}");
        text.AppendLine($"  agents: {string.Join(' ', Agents)}");
        text.AppendLine($"  tasks: {string.Join(", ", Tasks.Take(SetupTasks).Select(t => $"{t.Name}({t.Agent}{(t.Parent is null ? "" : " under " + t.Parent)})"))}");
        text.AppendLine($"  sessions: {string.Join(", ", Sessions.Select(s => $"{s.Name}({s.Agent})"))}");
        text.AppendLine($"  credentials: {string.Join(", ", Credentials.Take(SetupCredentials).Select(c => $"{c.Name}({c.Task} in {c.Session})"))}");
        text.AppendLine($"  warm: {string.Join(' ', Warm)}");
        text.AppendLine("  faults (armed when the schedule starts):");
        foreach (var fault in Faults)
        {
            text.AppendLine($"    {fault}");
        }
        text.AppendLine("  schedule:");
        foreach (var step in Steps)
        {
            text.AppendLine($"    {step}");
        }
        text.AppendLine("    (then: settle; authorize every credential; release every hold; advance the lease clock until the ops return; authorize every credential)");
        return text.ToString();
    }
}
