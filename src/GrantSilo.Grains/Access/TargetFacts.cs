namespace GrantSilo.Grains.Access;

/// <summary>
/// What the access rules may know of a call's target: who it belongs to, never its contents. A target
/// that does not exist has no relations, so a caller without a role-based right is refused the same way
/// whether or not it exists.
/// </summary>
internal sealed record TargetFacts
{
    public required string Kind { get; init; }
    public required string Id { get; init; }
    public bool Exists { get; init; }
    /// <summary>The person the target's task chain acts for.</summary>
    public string? Person { get; init; }
    /// <summary>The orchestrator that created the target's root task.</summary>
    public string? Orchestrator { get; init; }
    /// <summary>The agent the target belongs to (the agent itself, a task's assignee, a session's or credential's agent).</summary>
    public string? Agent { get; init; }
    /// <summary>The agents above the target's task in its chain, root first.</summary>
    public IReadOnlyList<string> Chain { get; init; } = [];

    // One shape per kind, for the grain describing itself to the door (AccessTargets.cs) and for a listing
    // describing each item it read (CallerReads), so both are decided on the same facts.

    /// <summary>An existing task's facts.</summary>
    public static TargetFacts Task(string id, string person, string orchestrator, string agent, IReadOnlyList<string> chain) =>
        new() { Kind = "task", Id = id, Exists = true, Person = person, Orchestrator = orchestrator, Agent = agent, Chain = chain };

    /// <summary>An existing session's facts.</summary>
    public static TargetFacts Session(string id, string agent) => new() { Kind = "session", Id = id, Exists = true, Agent = agent };

    /// <summary>An existing credential's facts.</summary>
    public static TargetFacts Credential(string id, string agent) => new() { Kind = "credential", Id = id, Exists = true, Agent = agent };

    /// <summary>The facts of a task as its grain answered it.</summary>
    public static TargetFacts Of(TaskInfo task) => Task(task.TaskId, task.RootPerson, task.Orchestrator, task.Agent, task.AncestorAgents);

    /// <summary>The facts of a session as its grain answered it.</summary>
    public static TargetFacts Of(SessionInfo session) => Session(session.SessionId, session.Agent);

    /// <summary>The facts of a credential as its session listed it.</summary>
    public static TargetFacts Of(CredentialInfo credential) => Credential(credential.CredentialId, credential.Agent);
}

/// <summary>A grain the access rules can describe: the facts are read on the grain's own turn, without a call.</summary>
internal interface IAccessTarget
{
    TargetFacts AccessFacts { get; }

    /// <summary>Whether the object exists (has been created), read without building its facts.</summary>
    bool TargetExists { get; }
}
