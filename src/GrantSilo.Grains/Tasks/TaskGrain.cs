using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tasks;

/// <summary>
/// A task: the unit a person's authority flows through. Holds its place in the delegation tree,
/// its scope and lifetime, and ends — durably first, then down the tree — on completion,
/// revocation, expiry, or when its agent or an ancestor ends.
/// </summary>
internal sealed partial class TaskGrain(
    [PersistentState("task", GrantSiloStorage.Name)] IPersistentState<TaskState> state,
    LifecycleServices services,
    IAccessPolicy policy,
    ILogger<TaskGrain> logger)
    : LifecycleGrain<TaskState>(state, services, logger), ITaskGrain, ITaskLifecycleGrain
{
    protected override string Kind => "task";

    protected override int PendingSteps => State.PendingChildren.Count + State.PendingSessions.Count;

    // Set while a terminal state is being written: ticks and cascades wait until it is durable.
    private bool _ending;

    // Set while a re-authorization is being written: decisions keep treating the task as paused
    // until the loosening is durable, so no allow ever rests on state that may be rolled back.
    private bool _reauthorizing;

    private bool IsTerminal => State.Status is GrantTaskStatus.Completed or GrantTaskStatus.Revoked or GrantTaskStatus.Expired;

    // What this task relies on above it (every ancestor and every agent along the chain, its own
    // included), under the leases they granted; dropped when any of them says it changed.
    private Leased<Upstream>? _upstream;

    // Counts invalidations, so an answer that was on its way while one arrived is never kept.
    private long _leaseEpoch;

    private sealed record Upstream(ChainCheck Check, AgentInfo? Agent, DateTimeOffset UsableUntil);

    public async Task<GrantResult<TaskInfo>> CreateAsync(CreateTaskRequest request, CancellationToken cancellationToken)
    {
        if (Exists)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskAlreadyExists, $"Task '{Key}' already exists.", target: Key);
        }
        var id = Canonical.Identifier(Key, "Task id");
        if (!id.IsSuccess || id.Value != Key)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.InvalidIdentifier, id.Error?.Message ?? "Task id is not in canonical form (NFC).", target: Key);
        }
        if (request is null)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.InvalidArgument, "A create-task request is required.");
        }
        var person = Canonical.Identifier(request.Person, "Person");
        var orchestrator = Canonical.Identifier(request.Orchestrator, "Orchestrator");
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
        if (ValidateLifetime(request.Lifetime, request.CheckpointInterval, request.Purpose) is { } invalid)
        {
            return invalid;
        }

        var registered = await GrainFactory.GetGrain<IAgentLifecycleGrain>(agent.Value).GetActiveAsync();
        if (!registered.IsSuccess)
        {
            return registered.Error;
        }
        if (scope.Value.FindExcess(registered.Value.Ceiling) is { } excess)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.ScopeExceedsCeiling, $"The task's scope exceeds the ceiling of agent '{agent.Value}'.", permission: excess, target: agent.Value);
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
        State.Purpose = request.Purpose;
        State.Status = GrantTaskStatus.Active;
        if (!await TryWriteAsync())
        {
            return Unavailable("the task");
        }
        GrainFactory.GetGrain<IAgentLifecycleGrain>(State.Agent).TrackTaskAsync(Key).Ignore();
        GrantSiloMetrics.TasksCreated.Add(1, new KeyValuePair<string, object?>("kind", "root"));
        LogTaskCreated(Logger, Key, State.Agent, 0);
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
        if (ValidateLifetime(request.Lifetime, request.CheckpointInterval, request.Purpose) is { } invalid)
        {
            return invalid;
        }
        if (!CredentialToken.TryParse(request.ProofToken, out var proofId, out var secret))
        {
            return Rejected(GrantErrorCode.InvalidProof, "The proof token is malformed.");
        }
        if (!State.Scope.MayDelegate)
        {
            return Rejected(GrantErrorCode.DelegationForbidden, $"The scope of task '{Key}' does not allow delegation.", permission: "delegation-depth>=1");
        }
        if (State.Depth + 1 > Options.MaxDelegationDepth)
        {
            return Rejected(GrantErrorCode.DepthLimitExceeded, $"Delegating from task '{Key}' (depth {State.Depth}) would exceed the depth limit of {Options.MaxDelegationDepth}.");
        }
        if (State.Children.Count >= Options.MaxChildrenPerTask)
        {
            return Rejected(GrantErrorCode.FanOutLimitExceeded, $"Task '{Key}' already has {State.Children.Count} children, the limit.");
        }
        // The child may delegate at most one hop less than the parent.
        if (scope.Value.FindExcess(State.Scope.WithDelegationDepth(State.Scope.DelegationDepth - 1)) is { } excess)
        {
            return Rejected(GrantErrorCode.ScopeExceedsParent, $"The requested scope is wider than task '{Key}' allows.", permission: excess);
        }
        var now = Now;
        var expiresAt = now + request.Lifetime;
        if (expiresAt > State.ExpiresAt)
        {
            return Rejected(GrantErrorCode.LifetimeExceedsParent, $"The child would end at {expiresAt:O}, after task '{Key}' ends at {State.ExpiresAt:O}.");
        }

        // The caller proves it is this task's agent in a live session with a live credential of this task.
        var proof = await GrainFactory.GetGrain<ICredentialLifecycleGrain>(proofId).VerifyProofAsync(secret);
        if (!proof.Valid || proof.TaskId != Key || proof.Agent != State.Agent)
        {
            return Rejected(GrantErrorCode.InvalidProof, proof.Valid ? $"The proof credential is not a credential of task '{Key}'." : $"The proof credential is not valid: {proof.Detail}");
        }
        var chain = await CheckChainAsync();
        if (!chain.Usable)
        {
            return Rejected(GrantErrorCode.TaskNotUsable, $"Task '{chain.BlockingTaskId}' is not usable ({chain.Reason}); nothing can be delegated below it.");
        }
        var registered = await GrainFactory.GetGrain<IAgentLifecycleGrain>(childAgent.Value).GetActiveAsync();
        if (!registered.IsSuccess)
        {
            return registered.Error;
        }
        if (scope.Value.FindExcess(registered.Value.Ceiling) is { } overCeiling)
        {
            return Rejected(GrantErrorCode.ScopeExceedsCeiling, $"The requested scope exceeds the ceiling of agent '{childAgent.Value}'.", permission: overCeiling);
        }

        // Record the child before creating it, so a cascade can always reach it.
        var childId = NewTaskId();
        State.Children.Add(childId);
        if (!await TryWriteAsync())
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
            Purpose = request.Purpose,
            Depth = State.Depth + 1,
        };
        var child = await GrainFactory.GetGrain<ITaskLifecycleGrain>(childId).InitializeChildAsync(spec);
        if (child.IsSuccess)
        {
            LogTaskDelegated(Logger, Key, childId, childAgent.Value, spec.Depth);
        }
        return child;
    }

    public async Task<GrantResult<TaskInfo>> InitializeChildAsync(ChildTaskSpec spec)
    {
        if (Exists)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskAlreadyExists, $"Task '{Key}' already exists.", target: Key);
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
            return Unavailable("the child task");
        }
        GrainFactory.GetGrain<IAgentLifecycleGrain>(State.Agent).TrackTaskAsync(Key).Ignore();
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
        var children = await Task.WhenAll(State.Children.ToArray().Select(id => GrainFactory.GetGrain<ITaskGrain>(id).GetTreeAsync()));
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
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.InvalidState, $"Task '{Key}' is {status}, not awaiting re-authorization.", target: Key);
        }
        // A fresh decision: the agent must still be active and the scope still within its ceiling.
        var agent = await GrainFactory.GetGrain<IAgentLifecycleGrain>(State.Agent).GetActiveAsync();
        if (!agent.IsSuccess)
        {
            return agent.Error;
        }
        if (State.Scope.FindExcess(agent.Value.Ceiling) is { } excess)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.ScopeExceedsCeiling, $"Task '{Key}' no longer lies within the ceiling of agent '{State.Agent}'.", permission: excess, target: Key);
        }
        // Asked afresh, never from a lease.
        _upstream = null;
        var ancestors = (await GetUpstreamAsync()).Check;
        if (!ancestors.Usable)
        {
            return ancestors.Reason == DecisionReason.AgentNotActive && ancestors.BlockingTaskId == Key
                ? GrantResult<TaskInfo>.Fail(GrantErrorCode.AgentNotActive, $"An agent along the chain of task '{Key}' is not active.", target: Key)
                : GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskNotUsable, $"Ancestor task '{ancestors.BlockingTaskId}' is not usable ({ancestors.Reason}).", target: ancestors.BlockingTaskId);
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
        // Whether this call ends the task or finds it ended, it answers only once the end is in force.
        if (!await EndAsync(GrantTaskStatus.Revoked, text.Value))
        {
            return Unavailable("the revocation");
        }
        return Describe(Now);
    }

    public async Task<GrantResult<TaskInfo>> CompleteAsync(string? summary, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return NotFound();
        }
        var status = EffectiveStatus(Now);
        if (status is GrantTaskStatus.Revoked or GrantTaskStatus.Expired)
        {
            if (!await EndAsync(status, "lifetime ended"))
            {
                return Unavailable("the task's end");
            }
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.InvalidState, $"Task '{Key}' is {status}; it cannot be completed.", target: Key);
        }
        var text = Canonical.Reason(summary, "completed");
        if (!text.IsSuccess)
        {
            return text.Error;
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
        if (!await EndAsync(GrantTaskStatus.Revoked, reason, cascadeInline: false))
        {
            throw new InvalidOperationException($"Task '{Key}' could not durably record its end; the caller retries.");
        }
    }

    public async Task<GrantResult<TaskInfo>> AttachSessionAsync(string sessionId, string agent)
    {
        if (!Exists)
        {
            return NotFound();
        }
        if (agent != State.Agent)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskNotAssignedToAgent, $"Task '{Key}' is not assigned to agent '{agent}'.", target: Key);
        }
        var chain = await CheckChainAsync();
        if (!chain.Usable)
        {
            return GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskNotUsable, $"Task '{chain.BlockingTaskId}' is not usable ({chain.Reason}).", target: chain.BlockingTaskId);
        }
        // Recorded once per session, durably, before the session mints anything for this task.
        if (State.Sessions.Add(sessionId))
        {
            if (!await TryWriteAsync())
            {
                return Unavailable("the session's link to the task");
            }
            if (IsTerminal)
            {
                // The task ended while the link was written: its cascade must reach this session too.
                State.PendingSessions.Add(sessionId);
                return GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskNotUsable, $"Task '{Key}' has ended.", target: Key);
            }
        }
        return Describe(Now);
    }

    private ChainCheck CheckSelf()
    {
        if (!Exists)
        {
            return ChainCheck.Missing(Key);
        }
        if (Unsettled)
        {
            return new ChainCheck { Usable = false, Reason = DecisionReason.Error, BlockingTaskId = Key, RootPerson = State.RootPerson, RootTaskId = State.RootTaskId, Depth = State.Depth, Agent = State.Agent };
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
        };
    }

    // Until when this task's own status stays usable without a state change: its expiry, or its
    // next checkpoint if that comes first.
    private DateTimeOffset SelfUsableUntil() =>
        State.CheckpointDueAt is { } due && due < State.ExpiresAt ? due : State.ExpiresAt;

    public Task<TaskLease> LeaseSelfAsync(GrainId holder)
    {
        var self = CheckSelf();
        return Task.FromResult(self.Usable
            ? new TaskLease { Check = self, UsableUntil = SelfUsableUntil(), Lease = Leases.Grant(holder, Leases.Duration) }
            : new TaskLease { Check = self });
    }

    public async Task<TaskLease> LeaseChainAsync(GrainId holder)
    {
        var self = CheckSelf();
        if (!self.Usable)
        {
            return new TaskLease { Check = self };
        }
        var upstream = await GetUpstreamAsync();
        // Read again, in the same turn as the grant: this task may have changed while its chain was asked.
        self = CheckSelf();
        if (!self.Usable || !upstream.Check.Usable)
        {
            return new TaskLease { Check = self.Usable ? Blocked(self, upstream.Check) : self };
        }
        var cap = _upstream is { } cached ? cached.Remaining(LeaseClock) : TimeSpan.Zero;
        var until = SelfUsableUntil();
        return new TaskLease
        {
            Check = self,
            Agent = upstream.Agent,
            UsableUntil = upstream.UsableUntil < until ? upstream.UsableUntil : until,
            Lease = Leases.Grant(holder, cap),
        };
    }

    public async Task InvalidateLeasesAsync()
    {
        _leaseEpoch++;
        _upstream = null;
        await Leases.RevokeAllAsync(GrainFactory, Logger);
    }

    /// <summary>This task's status, every ancestor's, and the status of every agent along the chain (its own included).</summary>
    private async Task<ChainCheck> CheckChainAsync()
    {
        var self = CheckSelf();
        if (!self.Usable)
        {
            return self;
        }
        var upstream = await GetUpstreamAsync();
        self = CheckSelf();
        return !self.Usable ? self : upstream.Check.Usable ? self : Blocked(self, upstream.Check);
    }

    private static ChainCheck Blocked(ChainCheck self, ChainCheck upstream) =>
        upstream with { RootPerson = self.RootPerson, RootTaskId = self.RootTaskId, Depth = self.Depth, Agent = self.Agent };

    // Every ancestor and every agent along the chain, asked in parallel unless a lease still covers
    // them. An answer that arrives after an invalidation is asked again (twice at most, then fail closed).
    private async Task<Upstream> GetUpstreamAsync()
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (_upstream is { } cached && cached.IsValid(LeaseClock) && Now < cached.Value.UsableUntil)
            {
                return cached.Value;
            }
            var epoch = _leaseEpoch;
            var askedAt = LeaseClock.GetTimestamp();
            var (upstream, lease) = await AskUpstreamAsync();
            if (epoch != _leaseEpoch)
            {
                continue;
            }
            _upstream = upstream.Check.Usable ? Leased<Upstream>.From(upstream, lease, askedAt, LeaseClock) : null;
            return upstream;
        }
        return new Upstream(new ChainCheck { Usable = false, Reason = DecisionReason.Error, BlockingTaskId = Key }, null, default);
    }

    private async Task<(Upstream Upstream, TimeSpan Lease)> AskUpstreamAsync()
    {
        var self = this.GetGrainId();
        var agents = new HashSet<string>(State.AncestorAgents, StringComparer.Ordinal) { State.Agent };
        var taskLeases = Task.WhenAll(State.Ancestors.Select(id => GrainFactory.GetGrain<ITaskLifecycleGrain>(id).LeaseSelfAsync(self)));
        var agentLeases = Task.WhenAll(agents.Select(id => GrainFactory.GetGrain<IAgentLifecycleGrain>(id).LeaseAsync(self)));
        var lease = Leases.Duration;
        var until = DateTimeOffset.MaxValue;
        foreach (var ancestor in await taskLeases)
        {
            if (!ancestor.Check.Usable)
            {
                return (new Upstream(ancestor.Check, null, default), TimeSpan.Zero);
            }
            lease = ancestor.Lease < lease ? ancestor.Lease : lease;
            until = ancestor.UsableUntil < until ? ancestor.UsableUntil : until;
        }
        AgentInfo? own = null;
        foreach (var agent in await agentLeases)
        {
            if (!agent.Agent.IsSuccess)
            {
                return (new Upstream(new ChainCheck { Usable = false, Reason = DecisionReason.AgentNotActive, BlockingTaskId = Key, Agent = agent.Agent.Error.Target ?? "" }, null, default), TimeSpan.Zero);
            }
            lease = agent.Lease < lease ? agent.Lease : lease;
            if (agent.Agent.Value.WorkloadId == State.Agent)
            {
                own = agent.Agent.Value;
            }
        }
        return (new Upstream(new ChainCheck { Usable = true, Reason = DecisionReason.Allowed }, own, until), lease);
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
                }
            }
            return;
        }
        await RunTaskCascadeAsync();
    }

    // Every end of this task, and every answer to a request to end it, comes here. Terminal state is
    // written durably before anything else happens; the end is then put in force (every lease holder
    // told or outwaited) before it is acknowledged; then the cascade records the end on each child and
    // session. A failed step stays pending and the reminder retries it. A task already ended (by this
    // activation, an earlier one, or a write whose reply was lost) takes the same path to the answer.
    private async Task<bool> EndAsync(GrantTaskStatus status, string reason, bool cascadeInline = true)
    {
        var endedHere = false;
        if (!IsTerminal)
        {
            State.Status = status;
            State.StatusReason = reason;
            State.EndedAt = Now;
            State.CascadeReason = status switch
            {
                GrantTaskStatus.Completed => $"ancestor task '{Key}' completed",
                GrantTaskStatus.Expired => $"ancestor task '{Key}' expired",
                _ => $"ancestor task '{Key}' revoked: {reason}",
            };
            State.PendingChildren.UnionWith(State.Children);
            State.PendingSessions.UnionWith(State.Sessions);
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
            GrainFactory.GetGrain<IAgentLifecycleGrain>(State.Agent).UntrackAsync("task", Key).Ignore();
        }
        // In force everywhere before it is acknowledged: no descendant task or credential keeps relying
        // on this task being usable. The cascade below then records the end on each of them.
        _upstream = null;
        if (!await PutEndInForceAsync())
        {
            await ScheduleAsync();
            return false;
        }
        if (endedHere)
        {
            if (cascadeInline)
            {
                await RunTaskCascadeAsync();
            }
            else
            {
                // Return to the ancestor as soon as this task is durably ended; the subtree follows at once.
                this.RegisterGrainTimer(static (self, _) => self.RunTaskCascadeAsync(), this, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { Interleave = true });
            }
        }
        await ScheduleAsync();
        return true;
    }

    private Task RunTaskCascadeAsync()
    {
        if (_ending)
        {
            return Task.CompletedTask;
        }
        var reason = State.CascadeReason ?? "ancestor ended";
        return RunCascadeAsync(
            (State.PendingChildren, id => GrainFactory.GetGrain<ITaskLifecycleGrain>(id).EndFromAboveAsync(State.Status, reason)),
            (State.PendingSessions, id => GrainFactory.GetGrain<ISessionLifecycleGrain>(id).EndTaskCredentialsAsync(Key, reason)));
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
            var agent = await GrainFactory.GetGrain<IAgentLifecycleGrain>(State.Agent).GetActiveAsync();
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
            return "checkpoint reached";
        }
        catch (Exception exception)
        {
            LogPolicyDrift(Logger, Key, null, exception.Message);
            return "checkpoint reached";
        }
    }

    /// <summary>
    /// Checks every permission of a scope against the active policy with representative requests:
    /// the task's agent as principal, the permission's action (<c>*</c> as <c>Action::"*"</c>), and a
    /// resource of its type at its pattern's prefix. A permission is still permitted when the policy
    /// allows (or allows with approval) it at some classification up to the scope's highest, tried
    /// from that highest down; a policy that forbids only part of it (restricted exports, say) still
    /// guards each decision. Returns the version checked, or a <see cref="GrantErrorCode.PolicyForbidsScope"/>
    /// error naming the first permission the policy no longer permits at all. The purpose text is not
    /// part of the check.
    /// </summary>
    private async Task<GrantResult<long?>> CheckScopeAgainstPolicyAsync(AgentInfo agent, Scope scope, int depth, string rootPerson, string rootTaskId)
    {
        var now = Now;
        long? version = null;
        foreach (var permission in scope.Permissions)
        {
            PolicyVerdict? refused = null;
            var permitted = false;
            for (var classification = scope.MaxClassification; classification >= DataClassification.Public && !permitted; classification--)
            {
                var verdict = await policy.EvaluateAsync(new AccessFacts
                {
                    CredentialId = "",
                    TaskId = Key,
                    RootTaskId = rootTaskId,
                    Agent = agent.WorkloadId,
                    RootPerson = rootPerson,
                    DelegationDepth = depth,
                    Action = permission.Action,
                    Resource = new ResourceRef
                    {
                        Type = permission.ResourceType,
                        Path = permission.Pattern.Prefix.Length == 0 ? "*" : permission.Pattern.Prefix,
                        Classification = classification,
                    },
                    Now = now,
                    SessionStartedAt = now,
                    CredentialIssuedAt = now,
                    AgentOwner = agent.Owner,
                    AgentAttributes = agent.Attributes,
                    AgentGroups = agent.Groups,
                }, CancellationToken.None);
                if (verdict.Unavailable)
                {
                    return GrantResult<long?>.Fail(GrantErrorCode.Unavailable, $"The active policy could not be confirmed, so the scope of task '{Key}' could not be checked; retry. ({verdict.Detail})");
                }
                version = verdict.PolicyVersion;
                permitted = verdict.Allowed;
                refused ??= verdict.Allowed ? null : verdict;
            }
            if (!permitted)
            {
                return GrantResult<long?>.Fail(new GrantError(
                    GrantErrorCode.PolicyForbidsScope,
                    $"Policy version {version} no longer permits '{permission}' at any classification up to {scope.MaxClassification}: {refused?.Detail} Revoke the task, or publish a policy that permits it.",
                    permission: permission.ToString(),
                    target: Key));
            }
        }
        return GrantResult<long?>.Ok(version);
    }

    private GrantError? ValidateLifetime(TimeSpan lifetime, TimeSpan? checkpoint, string? purpose)
    {
        if (lifetime <= TimeSpan.Zero || lifetime > Options.MaxTaskLifetime)
        {
            return new GrantError(GrantErrorCode.LifetimeInvalid, $"A task's lifetime must be positive and at most {Options.MaxTaskLifetime}; it is {lifetime}.");
        }
        if (checkpoint is { } interval && (interval < Options.MinCheckpointInterval || interval > lifetime))
        {
            return new GrantError(GrantErrorCode.LifetimeInvalid, $"A checkpoint interval must be between {Options.MinCheckpointInterval} and the task's lifetime; it is {interval}.");
        }
        if (purpose is not null && purpose.Length > Options.MaxPurposeLength)
        {
            return new GrantError(GrantErrorCode.InvalidArgument, $"The purpose text is longer than {Options.MaxPurposeLength} characters.");
        }
        return null;
    }

    private GrantResult<TaskInfo> Rejected(GrantErrorCode code, string message, string? permission = null)
    {
        LogDelegationRejected(Logger, Key, code, permission);
        return GrantResult<TaskInfo>.Fail(code, message, permission, Key);
    }

    private GrantResult<TaskInfo> NotFound() =>
        GrantResult<TaskInfo>.Fail(GrantErrorCode.TaskNotFound, $"Task '{Key}' does not exist.", target: Key);

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
        EndedAt = State.EndedAt,
        Children = [.. State.Children],
        PendingCascade = PendingSteps,
        ObservedAt = now,
        PolicyVersionChecked = State.PolicyVersionChecked,
    };
}
