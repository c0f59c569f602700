using GrantSilo.Grains.Access;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Indexes;
using GrantSilo.Grains.Leases;
using GrantSilo.Grains.Policies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tasks;

/// <summary>
/// A task: the unit a person's authority flows through. Holds its place in the delegation tree,
/// its scope and lifetime, and ends — durably first, then down the tree — on completion,
/// revocation, expiry, or when its agent or an ancestor ends. Its record (status, scope, lifetime) is
/// small; its children and sessions live in an index beside it, so its end is one small write
/// whatever their number, and the cascade then works through the index.
/// </summary>
internal sealed partial class TaskGrain(
    [PersistentState("task", GrantSiloStorage.Name)] IPersistentState<TaskState> state,
    [PersistentState("task-index", GrantSiloStorage.Name)] IPersistentState<TaskIndexState> index,
    LifecycleServices services,
    IAccessPolicy policy,
    IAccessRulesSource accessRules,
    ILogger<TaskGrain> logger)
    : LifecycleGrain<TaskState>(state, services, logger), ITaskGrain, ITaskLifecycleGrain
{
    protected override string Kind => "task";

    // Once ended: the children and sessions its cascade has still to reach.
    protected override int PendingSteps => IsTerminal ? Index.Children.Count(c => !c.Reached) + Index.Sessions.Count : 0;

    private DurableIndex<TaskIndexState>? _indexStore;

    private DurableIndex<TaskIndexState> IndexStore => _indexStore ??= new DurableIndex<TaskIndexState>(index, Kind, () => Key, Logger);

    private TaskIndexState Index => index.State;

    // Children the running cascade has confirmed; marked in the index when its progress is written.
    private readonly HashSet<string> _reachedChildren = new(StringComparer.Ordinal);

    // Set while a terminal state is being written: ticks and cascades wait until it is durable.
    private bool _ending;

    // Set while a re-authorization is being written: decisions keep treating the task as paused
    // until the loosening is durable, so no allow ever rests on state that may be rolled back.
    private bool _reauthorizing;

    private bool IsTerminal => State.Status is GrantTaskStatus.Completed or GrantTaskStatus.Revoked or GrantTaskStatus.Expired;

    // Decision leases this task holds on its chain (see TaskGrain.Leases.cs).
    private readonly LeaseHolderCache _held = new(services.LeaseClock);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Exists && State.HasLegacySets)
        {
            await MoveLegacySetsAsync();
        }
        await base.OnActivateAsync(cancellationToken);
    }

    // State written before the index kept its sets in the record: move them to the index, durably, then
    // empty them in the record. Failing, the activation fails (and the next one tries again), so nothing is
    // ever answered from a task whose sets are half moved.
    private async Task MoveLegacySetsAsync()
    {
        var terminal = IsTerminal;
        foreach (var child in State.Children)
        {
            if (!Index.Children.Exists(c => c.TaskId == child))
            {
                Index.Children.Add(new TaskChild { TaskId = child, Reached = terminal && !State.PendingChildren.Contains(child) });
            }
        }
        Index.Sessions.UnionWith(terminal ? State.PendingSessions : State.Sessions);
        if (!await IndexStore.TryWriteAsync())
        {
            throw new InvalidOperationException($"Task '{ShownKey}' could not move its sets to its index; the next activation tries again.");
        }
        State.Children.Clear();
        State.Sessions.Clear();
        State.PendingChildren.Clear();
        State.PendingSessions.Clear();
        if (!await TryWriteAsync())
        {
            throw new InvalidOperationException($"Task '{ShownKey}' could not empty its moved sets; the next activation tries again.");
        }
    }

    public async Task<GrantResult<TaskInfo>> CreateAsync(CreateTaskRequest request, CancellationToken cancellationToken)
    {
        if (Exists)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskAlreadyExists, $"Task '{ShownKey}' already exists.", target: ShownKey);
        }
        // Task ids go into their agent's index: short, of a plain alphabet (the SDK's are t- and 32 hex digits).
        // The call filter refuses a malformed key first; checked here too, where a task comes into being.
        if (KeyError is { } malformed)
        {
            return malformed;
        }
        if (request is null)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.InvalidArgument, "A create-task request is required.");
        }
        var person = Canonical.Identifier(request.Person, "Person");
        // The orchestrator recorded is the caller that proved it is one, never a name it gave.
        var proven = CallerContext.ProvenName(request.Orchestrator, "The orchestrator");
        if (!proven.IsSuccess)
        {
            return proven.Error;
        }
        var orchestrator = Canonical.Identifier(proven.Value, "Orchestrator");
        var agent = Canonical.Identifier(request.Agent, "Agent workload id");
        foreach (var error in new[] { person.Error, orchestrator.Error, agent.Error })
        {
            if (error is not null)
            {
                return error;
            }
        }
        var scope = Scope.Validate(request.Scope);
        if (!scope.IsSuccess)
        {
            return scope.Error;
        }
        if (ValidateLifetime(request.Lifetime, request.CheckpointInterval) is { } invalid)
        {
            return invalid;
        }
        var purpose = Canonical.Text(request.Purpose, "purpose", Options.MaxPurposeLength);
        if (!purpose.IsSuccess)
        {
            return purpose.Error;
        }

        var agentGrain = GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(agent.Value);
        var registered = await agentGrain.GetActiveAsync();
        if (!registered.IsSuccess)
        {
            return registered.Error;
        }
        if (scope.Value.FindExcess(registered.Value.Ceiling) is { } excess)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.ScopeExceedsCeiling, $"The task's scope exceeds the ceiling of agent '{agent.Value}'.", permission: excess, target: agent.Value);
        }
        // No tracking, no task: the agent records the task durably (or refuses) before the task exists.
        var tracked = await agentGrain.RecordTaskAsync(Key);
        if (!tracked.IsSuccess)
        {
            return tracked.Error;
        }

        var now = Now;
        State.RootPerson = person.Value;
        State.Orchestrator = orchestrator.Value;
        State.Agent = agent.Value;
        State.RootTaskId = Key;
        State.Scope = scope.Value;
        State.CreatedAt = now;
        State.ExpiresAt = now + request.Lifetime;
        State.CheckpointInterval = request.CheckpointInterval;
        State.CheckpointDueAt = request.CheckpointInterval is { } interval ? now + interval : null;
        State.Purpose = purpose.Value;
        State.Status = GrantTaskStatus.Active;
        if (!await TryWriteAsync())
        {
            ForgetOnAgentIfNeverCreated(agent.Value);
            return Unavailable("the task");
        }
        GrantSiloMetrics.TasksCreated.Add(1, new KeyValuePair<string, object?>("kind", "root"));
        LogTaskCreated(Logger, Key, State.Agent, 0);
        await Audited.RecordAsync(AuditEventKind.TaskCreated, TaskLineage);
        await ScheduleAsync();
        return Describe(now);
    }

    public async Task<GrantResult<TaskInfo>> DelegateAsync(DelegationRequest request, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return NotFound();
        }
        if (request is null)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.InvalidArgument, "A delegation request is required.");
        }
        // Cheap, local checks first: bad input is refused before anything is asked of other grains.
        var childAgent = Canonical.Identifier(request.Agent, "Agent workload id");
        if (!childAgent.IsSuccess)
        {
            return childAgent.Error;
        }
        var scope = Scope.Validate(request.Scope);
        if (!scope.IsSuccess)
        {
            return scope.Error;
        }
        if (ValidateLifetime(request.Lifetime, request.CheckpointInterval) is { } invalid)
        {
            return invalid;
        }
        var purpose = Canonical.Text(request.Purpose, "purpose", Options.MaxPurposeLength);
        if (!purpose.IsSuccess)
        {
            return purpose.Error;
        }
        if (!CredentialToken.TryParse(request.ProofToken, out var proofId, out var secret))
        {
            return Rejected(GrantErrorCode.InvalidProof, "The proof token is malformed.");
        }
        if (!State.Scope.MayDelegate)
        {
            return Rejected(GrantErrorCode.DelegationForbidden, $"The scope of task '{ShownKey}' does not allow delegation.", permission: "delegation-depth>=1");
        }
        if (State.Depth + 1 > Options.MaxDelegationDepth)
        {
            return Rejected(GrantErrorCode.DepthLimitExceeded, $"Delegating from task '{ShownKey}' (depth {State.Depth}) would exceed the depth limit of {Options.MaxDelegationDepth}.");
        }
        // The child may delegate at most one hop less than the parent.
        if (scope.Value.FindExcess(State.Scope.WithDelegationDepth(State.Scope.DelegationDepth - 1)) is { } excess)
        {
            return Rejected(GrantErrorCode.ScopeExceedsParent, $"The requested scope is wider than task '{ShownKey}' allows.", permission: excess);
        }
        // A child never outlives its parent: a longer lifetime is capped to the parent's end (TaskInfo.ExpiresAt says so).
        var now = Now;
        var expiresAt = now + request.Lifetime < State.ExpiresAt ? now + request.Lifetime : State.ExpiresAt;

        // The caller proves it is this task's agent in a live session with a live credential of this task.
        var proof = await GrainFactory.GetGrainByKey<ICredentialLifecycleGrain>(proofId).VerifyProofPresentedAsync(secret, request.ProofPresentation ?? TokenPresentation.None);
        if (!proof.Valid || proof.TaskId != Key || proof.Agent != State.Agent)
        {
            return Rejected(GrantErrorCode.InvalidProof, proof.Valid ? $"The proof credential is not a credential of task '{ShownKey}'." : $"The proof credential is not valid: {proof.Detail}");
        }
        // A credential issued with may_act may hand its task to that one agent only. Enforced here, where every door
        // (DelegateAsync, the SDK's token exchange, POST /v1/tasks/{id}/delegations, /oauth2/token) arrives: a client's
        // own check of the token's claims binds only the clients that run it.
        if (proof.MayAct is { } mayAct && !string.Equals(mayAct, childAgent.Value, StringComparison.Ordinal))
        {
            return Rejected(GrantErrorCode.InvalidProof, "The proof credential's may_act names another agent; it cannot prove a delegation to this one.", target: childAgent.Value);
        }
        // A credential hands on no more than it holds: the child lies within the proof credential's scope, with
        // one hop less of delegation depth, as it lies within its parent task's. The proof bounds what, not how
        // long: credentials live minutes and tasks hours, so the child's lifetime is bounded by its parent task
        // (above), not by the proof credential's expiry.
        if (proof.Scope is not { } held)
        {
            return Rejected(GrantErrorCode.InvalidProof, "The proof credential did not say what it holds; nothing is delegated on it.");
        }
        if (!held.MayDelegate)
        {
            return Rejected(GrantErrorCode.DelegationForbidden, "The scope of the proof credential does not allow delegation; prove the delegation with a credential that may delegate.", permission: "delegation-depth>=1");
        }
        if (scope.Value.FindExcess(held.WithDelegationDepth(held.DelegationDepth - 1)) is { } beyondProof)
        {
            return Rejected(GrantErrorCode.ScopeExceedsParent, "The requested scope is wider than the proof credential holds; a credential hands on no more than it holds.", permission: beyondProof);
        }
        var chain = await CheckChainAsync();
        if (!chain.Usable)
        {
            return Rejected(GrantErrorCode.TaskNotUsable, $"{chain.Explain()} Nothing can be delegated below it meanwhile.");
        }
        var registered = await GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(childAgent.Value).GetActiveAsync();
        if (!registered.IsSuccess)
        {
            return registered.Error;
        }
        if (scope.Value.FindExcess(registered.Value.Ceiling) is { } overCeiling)
        {
            return Rejected(GrantErrorCode.ScopeExceedsCeiling, $"The requested scope exceeds the ceiling of agent '{childAgent.Value}'.", permission: overCeiling);
        }
        // Fan-out counts live children: at the limit, children that ended (or were never created) are dropped first.
        if (Index.Children.Count >= Options.MaxChildrenPerTask)
        {
            await CompactChildrenAsync();
            if (Index.Children.Count >= Options.MaxChildrenPerTask)
            {
                return Rejected(GrantErrorCode.FanOutLimitExceeded, $"Task '{ShownKey}' already has {Index.Children.Count} live children, the limit (GrantSilo:Lifecycle:MaxChildrenPerTask).");
            }
        }

        // Record the child before creating it, so a cascade can always reach it.
        var childId = NewTaskId();
        Index.Children.Add(new TaskChild { TaskId = childId });
        if (!await IndexStore.TryWriteAsync())
        {
            return Unavailable("the delegation");
        }
        var spec = new ChildTaskSpec
        {
            ParentTaskId = Key,
            RootTaskId = State.RootTaskId,
            Ancestors = [.. State.Ancestors, Key],
            AncestorAgents = [.. State.AncestorAgents, State.Agent],
            RootPerson = State.RootPerson,
            Orchestrator = State.Orchestrator,
            Agent = childAgent.Value,
            Scope = scope.Value,
            ExpiresAt = expiresAt,
            CheckpointInterval = request.CheckpointInterval,
            Purpose = purpose.Value,
            Depth = State.Depth + 1,
        };
        var child = await GrainFactory.GetGrainByKey<ITaskLifecycleGrain>(childId).InitializeChildAsync(spec);
        if (child.IsSuccess)
        {
            LogTaskDelegated(Logger, Key, childId, childAgent.Value, spec.Depth);
            await Audited.RecordAsync(AuditEventKind.TaskDelegated, r => TaskLineage(r) with
            {
                TaskChain = [.. State.Ancestors, Key, childId],
                TaskId = childId,
                Agent = childAgent.Value,
                CauseId = Key,
                Detail = $"Delegated by task {Key} (agent {State.Agent}) to agent {childAgent.Value} at depth {spec.Depth}; expires {expiresAt:O}.",
            });
        }
        else if (child.Error.Code != GrantErrorCode.Unavailable && !IsTerminal && Index.Children.RemoveAll(c => c.TaskId == childId) > 0)
        {
            // Refused outright (its agent not active or at its quota): no such child exists, so it takes no place.
            await IndexStore.TryWriteAsync();
        }
        return child;
    }

    public async Task<GrantResult<TaskInfo>> InitializeChildAsync(ChildTaskSpec spec)
    {
        if (Exists)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskAlreadyExists, $"Task '{ShownKey}' already exists.", target: ShownKey);
        }
        // Defence in depth: the key and the spec are checked here, not taken on the word of whoever sent them.
        if (KeyError is { } malformed)
        {
            return malformed;
        }
        var vetted = await VetChildSpecAsync(spec);
        if (!vetted.IsSuccess)
        {
            LogChildRefused(Logger, Key, vetted.Error.Code, vetted.Error.Permission);
            return vetted.Error;
        }
        spec = vetted.Value;
        // No tracking, no task (as for a root task).
        var tracked = await GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(spec.Agent).RecordTaskAsync(Key);
        if (!tracked.IsSuccess)
        {
            return tracked.Error;
        }
        var now = Now;
        State.RootPerson = spec.RootPerson;
        State.Orchestrator = spec.Orchestrator;
        State.Agent = spec.Agent;
        State.ParentTaskId = spec.ParentTaskId;
        State.RootTaskId = spec.RootTaskId;
        State.Ancestors = [.. spec.Ancestors];
        State.AncestorAgents = [.. spec.AncestorAgents];
        State.Depth = spec.Depth;
        State.Scope = spec.Scope;
        State.CreatedAt = now;
        State.ExpiresAt = spec.ExpiresAt;
        State.CheckpointInterval = spec.CheckpointInterval;
        State.CheckpointDueAt = spec.CheckpointInterval is { } interval ? now + interval : null;
        State.Purpose = spec.Purpose;
        State.Status = GrantTaskStatus.Active;
        if (!await TryWriteAsync())
        {
            ForgetOnAgentIfNeverCreated(spec.Agent);
            return Unavailable("the child task");
        }
        GrantSiloMetrics.TasksCreated.Add(1, new KeyValuePair<string, object?>("kind", "delegated"));
        await ScheduleAsync();
        return Describe(now);
    }

    public Task<GrantResult<TaskInfo>> GetAsync(CancellationToken cancellationToken) =>
        ReadDurableAsync(() => Exists ? Describe(Now) : NotFound());

    public async Task<GrantResult<TaskTreeNode>> GetTreeAsync(CancellationToken cancellationToken)
    {
        var read = await ReadDurableAsync(() => Exists ? Describe(Now) : NotFound());
        if (!read.IsSuccess)
        {
            return read.Error;
        }
        var info = read.Value;
        var children = await Task.WhenAll(ChildIds().Select(id => GrainFactory.GetGrainByKey<ITaskGrain>(id).GetTreeAsync()));
        return GrantResult<TaskTreeNode>.Ok(new TaskTreeNode
        {
            Task = info,
            Children = [.. children.Where(c => c.IsSuccess).Select(c => c.Value)],
        });
    }

    public async Task<GrantResult<TaskInfo>> ReauthorizeAsync(CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return NotFound();
        }
        var now = Now;
        var status = EffectiveStatus(now);
        if (status == GrantTaskStatus.Expired && !IsTerminal && !await EndAsync(GrantTaskStatus.Expired, "lifetime ended"))
        {
            return Unavailable("the task's expiry");
        }
        if (status != GrantTaskStatus.AwaitingReauthorization)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.InvalidState, $"Task '{ShownKey}' is {status}, not awaiting re-authorization.", target: ShownKey);
        }
        // A fresh decision: the agent must still be active and the scope still within its ceiling.
        var agent = await GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(State.Agent).GetActiveAsync();
        if (!agent.IsSuccess)
        {
            return agent.Error;
        }
        if (State.Scope.FindExcess(agent.Value.Ceiling) is { } excess)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.ScopeExceedsCeiling, $"Task '{ShownKey}' no longer lies within the ceiling of agent '{State.Agent}'.", permission: excess, target: ShownKey);
        }
        // Asked afresh, never from a lease.
        UpstreamHeld.Drop();
        var ancestors = (await GetUpstreamAsync()).Check;
        if (!ancestors.Usable)
        {
            return ancestors.Reason == DecisionReason.AgentNotActive && ancestors.BlockingTaskId == Key
                ? GrantResult<TaskInfo>.Fail(GrantErrorCode.AgentNotActive, $"An agent along the chain of task '{ShownKey}' is not active.", target: ShownKey)
                : GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskNotUsable, $"Task '{ShownKey}' cannot be re-authorized while an ancestor is not usable. {ancestors.Explain()}", target: Untrusted.Id(ancestors.BlockingTaskId));
        }
        // Policy drift: the scope must still be permitted by the active policy version.
        var vetted = await CheckScopeAgainstPolicyAsync(agent.Value, State.Scope, State.Depth, State.RootPerson, State.RootTaskId);
        if (!vetted.IsSuccess)
        {
            LogPolicyDrift(Logger, Key, vetted.Error.Permission, vetted.Error.Message);
            return vetted.Error;
        }
        now = Now;
        State.Status = GrantTaskStatus.Active;
        State.CheckpointDueAt = now + State.CheckpointInterval!.Value;
        State.PolicyVersionChecked = vetted.Value;
        State.StatusReason = null;
        _reauthorizing = true;
        var written = await TryWriteAsync();
        _reauthorizing = false;
        if (!written)
        {
            return Unavailable("the re-authorization");
        }
        LogTaskReauthorized(Logger, Key, State.CheckpointDueAt.Value);
        await Audited.RecordAsync(AuditEventKind.TaskReauthorized, r => TaskLineage(r) with { PolicyVersion = State.PolicyVersionChecked, Detail = $"Re-authorized against policy version {State.PolicyVersionChecked}; next checkpoint {State.CheckpointDueAt:O}." });
        await ScheduleAsync();
        return Describe(now);
    }

    public async Task<GrantResult<TaskInfo>> RevokeAsync(string reason, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return NotFound();
        }
        var text = Canonical.Reason(reason, "revoked");
        if (!text.IsSuccess)
        {
            return text.Error;
        }
        var status = EffectiveStatus(Now);
        if (status is GrantTaskStatus.Completed or GrantTaskStatus.Expired)
        {
            return await AlreadyEndedAsync(status, "revoked");
        }
        // Whether this call ends the task or finds it revoked, it answers only once the end is in force.
        if (!await EndAsync(GrantTaskStatus.Revoked, text.Value))
        {
            return Unavailable("the revocation");
        }
        return Describe(Now);
    }

    // An end request that finds the task ended another way: that end (an expiry perhaps not enacted yet) is
    // recorded and put in force like any end, and the answer says how and when the task ended.
    private async Task<GrantResult<TaskInfo>> AlreadyEndedAsync(GrantTaskStatus status, string asked)
    {
        if (!await EndAsync(status, status == GrantTaskStatus.Expired ? "lifetime ended" : State.StatusReason ?? status.ToString().ToLowerInvariant()))
        {
            return Unavailable("the task's end");
        }
        return GrantResult<TaskInfo>.Fail(
            GrantErrorCode.AlreadyEnded,
            $"Task '{ShownKey}' had already ended as {State.Status} at {State.EndedAt:O} ({State.StatusReason}); it was not {asked}. It is not usable either way, and its end is in force.",
            target: ShownKey);
    }

    public async Task<GrantResult<TaskInfo>> CompleteAsync(string? summary, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return NotFound();
        }
        var text = Canonical.Reason(summary, "completed", "summary");
        if (!text.IsSuccess)
        {
            return text.Error;
        }
        var status = EffectiveStatus(Now);
        if (status is GrantTaskStatus.Revoked or GrantTaskStatus.Expired)
        {
            return await AlreadyEndedAsync(status, "completed");
        }
        if (!await EndAsync(GrantTaskStatus.Completed, text.Value))
        {
            return Unavailable("the completion");
        }
        return Describe(Now);
    }

    public async Task EndFromAboveAsync(GrantTaskStatus cause, string reason)
    {
        if (!Exists)
        {
            return;
        }
        // Already ended (and durably so): the end that covered this task was put in force by whoever made it.
        if (IsTerminal && await DurableAsync() && IsTerminal)
        {
            return;
        }
        // A task whose own lifetime had run out first (while no silo ran, say) expired; it was not revoked.
        var expired = Now >= State.ExpiresAt;
        if (!await EndAsync(expired ? GrantTaskStatus.Expired : GrantTaskStatus.Revoked, expired ? "lifetime ended" : reason, cascadeInline: false, causeId: expired ? null : State.ParentTaskId))
        {
            throw new InvalidOperationException($"Task '{ShownKey}' could not durably record its end; the caller retries.");
        }
    }

    public async Task<GrantResult<TaskInfo>> AttachSessionAsync(string sessionId, string agent) =>
        await AttachAsync(sessionId, agent) is { } refused ? refused : Describe(Now);

    public async Task<GrantResult<TaskFacts>> AttachIssuingSessionAsync(string sessionId, string agent) =>
        await AttachAsync(sessionId, agent) is { } refused ? refused : Facts(null);

    // Null once the session is attached and the task (its whole chain) is usable; the refusal otherwise.
    private async Task<GrantError?> AttachAsync(string sessionId, string agent)
    {
        if (!Exists)
        {
            return NotFound().Error!;
        }
        if (agent != State.Agent)
        {
            return new GrantError(GrantErrorCode.TaskNotAssignedToAgent, $"Task '{ShownKey}' is not assigned to agent '{agent}'.", target: ShownKey);
        }
        var chain = await CheckChainAsync();
        if (!chain.Usable)
        {
            return new GrantError(GrantErrorCode.TaskNotUsable, chain.Explain(), target: Untrusted.Id(chain.BlockingTaskId));
        }
        // Recorded once per session, durably, before the session mints anything for this task.
        if (!Index.Sessions.Contains(sessionId))
        {
            if (Index.Sessions.Count >= Options.MaxLiveSessionsPerTask)
            {
                await CompactSessionsAsync();
                if (Index.Sessions.Count >= Options.MaxLiveSessionsPerTask)
                {
                    return Compaction.QuotaExceeded($"Task '{ShownKey}'", Options.MaxLiveSessionsPerTask, "sessions holding its credentials", nameof(Options.MaxLiveSessionsPerTask), ShownKey);
                }
                if (CheckSelf() is { Usable: false } changed)
                {
                    return new GrantError(GrantErrorCode.TaskNotUsable, $"Task '{ShownKey}' is not usable ({changed.Reason}).", target: ShownKey);
                }
            }
            Index.Sessions.Add(sessionId);
            if (!await IndexStore.TryWriteAsync())
            {
                return Unavailable("the session's link to the task");
            }
            if (IsTerminal)
            {
                // The task ended while the link was written: the session stays in the index, so the cascade reaches it.
                return new GrantError(GrantErrorCode.TaskNotUsable, $"Task '{ShownKey}' has ended.", target: ShownKey);
            }
        }
        return null;
    }

    public Task<TaskFacts> GetFactsAsync(string? childId) => Task.FromResult(Facts(childId));

    private TaskFacts Facts(string? childId) => new()
    {
        Exists = Exists,
        Self = CheckSelf(),
        Agent = State.Agent,
        Scope = State.Scope,
        ExpiresAt = State.ExpiresAt,
        Depth = State.Depth,
        RootPerson = State.RootPerson,
        RootTaskId = State.RootTaskId,
        Orchestrator = State.Orchestrator,
        Ancestors = [.. State.Ancestors],
        AncestorAgents = [.. State.AncestorAgents],
        ChildListed = childId is not null && Exists && Index.Children.Exists(c => c.TaskId == childId),
    };

    public async Task SessionEndedAsync(string sessionId)
    {
        // Once the task has ended, its cascade removes sessions as it reaches them.
        if (Exists && !IsTerminal && Index.Sessions.Remove(sessionId))
        {
            await IndexStore.TryWriteAsync();
        }
    }

    // Drops children that ended (or whose creation never finished) while this task lives.
    private async Task CompactChildrenAsync()
    {
        var ended = await Compaction.EndedAsync(ChildIds(), id => Compaction.TaskEndedAsync(GrainFactory, id));
        if (ended.Count > 0 && !IsTerminal)
        {
            var set = ended.ToHashSet(StringComparer.Ordinal);
            Index.Children.RemoveAll(c => set.Contains(c.TaskId));
            await IndexStore.TryWriteAsync();
        }
    }

    // Drops sessions that ended (or never existed) while this task lives.
    private async Task CompactSessionsAsync()
    {
        var ended = await Compaction.EndedAsync(Index.Sessions, id => Compaction.SessionEndedAsync(GrainFactory, id));
        if (ended.Count > 0 && !IsTerminal)
        {
            Index.Sessions.ExceptWith(ended);
            await IndexStore.TryWriteAsync();
        }
    }

    // If the task's record was not written (storage, read back, holds none), the agent forgets it again. A
    // write whose outcome is still unknown leaves it recorded: a task the agent tracks but that does not exist
    // is harmless, one that exists untracked is not.
    private void ForgetOnAgentIfNeverCreated(string agent)
    {
        if (!Exists && !Unsettled)
        {
            GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(agent).UntrackAsync("task", Key).Ignore();
        }
    }

    // This task's lineage on an audit record: its person, orchestrator, chain (root first, itself last) and agent.
    private AuditRecord TaskLineage(AuditRecord record) => record with
    {
        RootPerson = State.RootPerson,
        Orchestrator = State.Orchestrator,
        TaskChain = [.. State.Ancestors, Key],
        TaskId = Key,
        Agent = State.Agent,
    };

    private List<string> ChildIds() => [.. Index.Children.Select(c => c.TaskId)];

    private ChainCheck CheckSelf()
    {
        if (!Exists)
        {
            return ChainCheck.Missing(Key);
        }
        if (Unsettled)
        {
            return new ChainCheck { Usable = false, Reason = DecisionReason.Error, BlockingTaskId = Key, RootPerson = State.RootPerson, RootTaskId = State.RootTaskId, Depth = State.Depth, Agent = State.Agent, Ancestors = State.Ancestors, Orchestrator = State.Orchestrator };
        }
        var status = _reauthorizing ? GrantTaskStatus.AwaitingReauthorization : EffectiveStatus(Now);
        return new ChainCheck
        {
            Usable = status == GrantTaskStatus.Active,
            Reason = status switch
            {
                GrantTaskStatus.Active => DecisionReason.Allowed,
                GrantTaskStatus.AwaitingReauthorization => DecisionReason.TaskAwaitingReauthorization,
                GrantTaskStatus.Completed => DecisionReason.TaskCompleted,
                GrantTaskStatus.Expired => DecisionReason.TaskExpired,
                _ => DecisionReason.TaskRevoked,
            },
            BlockingTaskId = status == GrantTaskStatus.Active ? null : Key,
            RootPerson = State.RootPerson,
            RootTaskId = State.RootTaskId,
            Depth = State.Depth,
            Agent = State.Agent,
            Ancestors = State.Ancestors,
            Orchestrator = State.Orchestrator,
        };
    }

    protected override DateTimeOffset? NextDue(DateTimeOffset now)
    {
        if (IsTerminal)
        {
            return PendingSteps > 0 ? now + Options.CascadeRetryInterval : null;
        }
        if (State.Status == GrantTaskStatus.Active && State.CheckpointDueAt is { } checkpoint && checkpoint < State.ExpiresAt)
        {
            return checkpoint;
        }
        return State.ExpiresAt;
    }

    protected override async Task OnTickAsync()
    {
        if (_ending)
        {
            return;
        }
        var now = Now;
        if (!IsTerminal)
        {
            if (now >= State.ExpiresAt)
            {
                await EndAsync(GrantTaskStatus.Expired, "lifetime ended", cascadeInline: true);
                return;
            }
            if (State.Status == GrantTaskStatus.Active && State.CheckpointDueAt is { } due && now >= due)
            {
                State.Status = GrantTaskStatus.AwaitingReauthorization;
                State.StatusReason = await DescribeCheckpointAsync();
                if (await TryWriteAsync())
                {
                    LogTaskCheckpointReached(Logger, Key);
                    await Audited.RecordAsync(AuditEventKind.TaskCheckpointed, r => TaskLineage(r) with { Cause = "checkpoint reached: the task waits to be re-authorized" });
                }
            }
            return;
        }
        await RunTaskCascadeAsync(background: false);
    }

    // Every end of this task, and every answer to a request to end it, comes here. Terminal state is
    // written durably before anything else happens; the end is then put in force (every lease holder
    // told or outwaited) before it is acknowledged; then the cascade records the end on each child and
    // session. A failed step stays pending and the reminder retries it. A task already ended (by this
    // activation, an earlier one, or a write whose reply was lost) takes the same path to the answer.
    private async Task<bool> EndAsync(GrantTaskStatus status, string reason, bool cascadeInline = true, string? causeId = null)
    {
        var endedHere = false;
        if (!IsTerminal)
        {
            State.Status = status;
            State.StatusReason = reason;
            // An expiry ended the task when it happened, not when a tick (perhaps after a restart) enacted it.
            State.EndedAt = status == GrantTaskStatus.Expired ? State.ExpiresAt : Now;
            State.CascadeReason = status switch
            {
                GrantTaskStatus.Completed => $"ancestor task '{ShownKey}' completed",
                GrantTaskStatus.Expired => $"ancestor task '{ShownKey}' expired",
                _ => $"ancestor task '{ShownKey}' revoked: {reason}",
            };
            // The end is this small record alone; the index (children, sessions) is what the cascade then works through.
            _ending = true;
            var written = await TryWriteAsync();
            _ending = false;
            // Not written, but storage (read back) may show that it was: then the end stands.
            if (!written && (Unsettled || !IsTerminal))
            {
                return false;
            }
            endedHere = true;
            LogTaskEnded(Logger, Key, State.Status, PendingSteps);
            await Audited.RecordAsync(State.Status switch
            {
                GrantTaskStatus.Completed => AuditEventKind.TaskCompleted,
                GrantTaskStatus.Expired => AuditEventKind.TaskExpired,
                _ => AuditEventKind.TaskRevoked,
            }, r => TaskLineage(r) with { Cause = reason, CauseId = causeId });
            GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(State.Agent).UntrackAsync("task", Key).Ignore();
        }
        // In force everywhere before it is acknowledged: no descendant task or credential keeps relying
        // on this task being usable. The cascade below then records the end on each of them.
        UpstreamHeld.Drop();
        if (!await PutEndInForceAsync())
        {
            await ScheduleAsync();
            return false;
        }
        if (endedHere)
        {
            if (cascadeInline)
            {
                await RunTaskCascadeAsync(background: false);
            }
            else
            {
                // Return to the ancestor as soon as this task is durably ended; the subtree follows at once.
                this.RegisterGrainTimer(static (self, _) => self.RunTaskCascadeAsync(background: true), this, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { Interleave = true });
            }
        }
        await ScheduleAsync();
        return true;
    }

    // background: the first round of a task ended from above, which no caller waits for and which runs interleaved (so
    // this grain still answers while its steps wait for slots); retries and the round a caller waits for are not.
    private Task RunTaskCascadeAsync(bool background)
    {
        if (_ending)
        {
            return Task.CompletedTask;
        }
        // Children end because an ancestor ended; this task's own credentials because their task did.
        var reason = State.CascadeReason ?? "ancestor ended";
        var (cause, credentialReason) = State.Status switch
        {
            GrantTaskStatus.Completed => (DecisionReason.TaskCompleted, $"its task '{ShownKey}' was completed"),
            GrantTaskStatus.Expired => (DecisionReason.TaskExpired, $"its task '{ShownKey}' expired"),
            _ => (DecisionReason.TaskRevoked, $"its task '{ShownKey}' was revoked: {State.StatusReason}"),
        };
        var children = Index.Children.Where(c => !c.Reached).Select(c => c.TaskId).ToHashSet(StringComparer.Ordinal);
        return RunCascadeAsync(
            background,
            (children, async id =>
            {
                await GrainFactory.GetGrainByKey<ITaskLifecycleGrain>(id).EndFromAboveAsync(State.Status, reason);
                _reachedChildren.Add(id);
            }),
            (Index.Sessions, id => EndCredentialsIssuedInAsync(id, cause, credentialReason)));
    }

    // Ends this task's credentials from one session: the session lists them, this task ends each (the waits for
    // their ends are spread over the tasks of a tree, not queued in a session they share), and the session forgets them.
    private async Task EndCredentialsIssuedInAsync(string sessionId, DecisionReason cause, string reason)
    {
        var session = GrainFactory.GetGrainByKey<ISessionLifecycleGrain>(sessionId);
        var ids = await session.CredentialsOfTaskAsync(Key);
        if (ids.Length == 0)
        {
            return;
        }
        // Throws if any credential could not record its end: the session stays pending and the step is retried.
        await Task.WhenAll(ids.Select(id => GrainFactory.GetGrainByKey<ICredentialLifecycleGrain>(id).EndBecauseAsync(cause, reason)));
        await session.CredentialsEndedAsync(ids);
    }

    // Confirmed sessions have left the index already; confirmed children are marked (the tree keeps them).
    protected override Task<bool> WriteCascadeProgressAsync()
    {
        foreach (var child in Index.Children)
        {
            if (_reachedChildren.Contains(child.TaskId))
            {
                child.Reached = true;
            }
        }
        _reachedChildren.Clear();
        return IndexStore.TryWriteAsync();
    }

    private GrantTaskStatus EffectiveStatus(DateTimeOffset now)
    {
        if (IsTerminal)
        {
            return State.Status;
        }
        if (now >= State.ExpiresAt)
        {
            return GrantTaskStatus.Expired;
        }
        if (State.Status == GrantTaskStatus.AwaitingReauthorization || (State.CheckpointDueAt is { } due && now >= due))
        {
            return GrantTaskStatus.AwaitingReauthorization;
        }
        return GrantTaskStatus.Active;
    }

    // At a checkpoint, say whether the active policy still permits the scope, so people see drift
    // before they try to re-authorize. Re-authorization checks again; this is only the reason shown.
    private async Task<string> DescribeCheckpointAsync()
    {
        try
        {
            var agent = await GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(State.Agent).GetActiveAsync();
            if (!agent.IsSuccess)
            {
                return $"checkpoint reached; {agent.Error.Message}";
            }
            var vetted = await CheckScopeAgainstPolicyAsync(agent.Value, State.Scope, State.Depth, State.RootPerson, State.RootTaskId);
            if (!vetted.IsSuccess)
            {
                LogPolicyDrift(Logger, Key, vetted.Error.Permission, vetted.Error.Message);
                return $"checkpoint reached; {vetted.Error.Message}";
            }
            return "checkpoint reached; awaiting re-authorization (ReauthorizeTaskAsync) by the task's person or an orchestrator acting for them";
        }
        catch (Exception exception)
        {
            LogPolicyDrift(Logger, Key, null, exception.Message);
            return "checkpoint reached";
        }
    }

    // Whether the active policy still permits every permission of a scope on this task (see ScopePolicyCheck).
    private Task<GrantResult<long?>> CheckScopeAgainstPolicyAsync(AgentInfo agent, Scope scope, int depth, string rootPerson, string rootTaskId) =>
        new ScopePolicyCheck(policy).CheckAsync(new ScopeSubject(Key, ShownKey, agent, scope, depth, rootPerson, rootTaskId), Now, CancellationToken.None);

    private GrantError? ValidateLifetime(TimeSpan lifetime, TimeSpan? checkpoint)
    {
        if (lifetime <= TimeSpan.Zero || lifetime > Options.MaxTaskLifetime)
        {
            return new GrantError(GrantErrorCode.LifetimeInvalid, $"A task's lifetime must be positive and at most {Options.MaxTaskLifetime} ({GrantSiloOptions.SectionName}:{nameof(GrantSiloOptions.MaxTaskLifetime)}); it is {lifetime}.");
        }
        if (checkpoint is { } interval && (interval < Options.MinCheckpointInterval || interval > lifetime))
        {
            return new GrantError(GrantErrorCode.LifetimeInvalid, $"A checkpoint interval must be between {Options.MinCheckpointInterval} and the task's lifetime; it is {interval}.");
        }
        return null;
    }

    private GrantResult<TaskInfo> Rejected(GrantErrorCode code, string message, string? permission = null, string? target = null)
    {
        LogDelegationRejected(Logger, Key, code, permission);
        return GrantResult<TaskInfo>.Fail(code, message, permission, target ?? ShownKey);
    }

    private GrantResult<TaskInfo> NotFound() =>
        GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskNotFound, $"Task '{ShownKey}' does not exist.", target: ShownKey);

    internal static string NewTaskId() => "t-" + Guid.NewGuid().ToString("N");

    private TaskInfo Describe(DateTimeOffset now) => new()
    {
        TaskId = Key,
        RootPerson = State.RootPerson,
        Orchestrator = State.Orchestrator,
        Agent = State.Agent,
        ParentTaskId = State.ParentTaskId,
        RootTaskId = State.RootTaskId,
        Depth = State.Depth,
        Scope = State.Scope,
        CreatedAt = State.CreatedAt,
        ExpiresAt = State.ExpiresAt,
        CheckpointInterval = State.CheckpointInterval,
        CheckpointDueAt = State.CheckpointDueAt,
        Purpose = State.Purpose,
        Status = EffectiveStatus(now),
        StatusReason = State.StatusReason,
        EndedAt = State.EndedAt ?? (!IsTerminal && now >= State.ExpiresAt ? State.ExpiresAt : null),
        Children = ChildIds(),
        PendingCascade = PendingSteps,
        ObservedAt = now,
        PolicyVersionChecked = State.PolicyVersionChecked,
        AncestorAgents = State.AncestorAgents,
    };
}
