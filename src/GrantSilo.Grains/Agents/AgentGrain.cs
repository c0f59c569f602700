using GrantSilo.Grains.Access;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Indexes;
using GrantSilo.Grains.Leases;
using GrantSilo.Grains.Policies;
using GrantSilo.Grains.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Agents;

/// <summary>
/// An agent under its workload identity: its owner, its ceiling scope, its status, and the live
/// tasks and sessions to end when it is suspended or retired. The record is small; the tasks and
/// sessions live in an index beside it, so a suspension is one small write whatever their number.
/// </summary>
internal sealed partial class AgentGrain(
    [PersistentState("agent", GrantSiloStorage.Name)] IPersistentState<AgentState> state,
    [PersistentState("agent-index", GrantSiloStorage.Name)] IPersistentState<AgentIndexState> index,
    IAccessRulesSource accessRules,
    LifecycleServices services,
    ILogger<AgentGrain> logger)
    : LifecycleGrain<AgentState>(state, services, logger), IAgentGrain, IAgentLifecycleGrain
{
    protected override string Kind => "agent";

    // Once suspended or retired: the tasks and sessions its cascade has still to end.
    protected override int PendingSteps => State.Status != AgentStatus.Active ? Index.Tasks.Count + Index.Sessions.Count : 0;

    private DurableIndex<AgentIndexState>? _indexStore;

    private DurableIndex<AgentIndexState> IndexStore => _indexStore ??= new DurableIndex<AgentIndexState>(index, Kind, () => Key, Logger);

    private AgentIndexState Index => index.State;

    private readonly CompactionSchedule _tasksCompaction = new();
    private readonly CompactionSchedule _sessionsCompaction = new();

    // Every write of the index goes here: one that failed reads the index back, which may list again what was removed.
    private async Task<bool> WriteIndexAsync()
    {
        if (await IndexStore.TryWriteAsync())
        {
            return true;
        }
        _tasksCompaction.Owe();
        _sessionsCompaction.Owe();
        return false;
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Exists && State.HasLegacySets)
        {
            await MoveLegacySetsAsync();
        }
        await base.OnActivateAsync(cancellationToken);
    }

    // State written before the index kept its sets in the record: move them (as TaskGrain does).
    private async Task MoveLegacySetsAsync()
    {
        var active = State.Status == AgentStatus.Active;
        Index.Tasks.UnionWith(active ? State.Tasks : State.PendingTasks);
        Index.Sessions.UnionWith(active ? State.Sessions : State.PendingSessions);
        if (!await WriteIndexAsync())
        {
            throw new InvalidOperationException($"Agent '{ShownKey}' could not move its sets to its index; the next activation tries again.");
        }
        State.Tasks.Clear();
        State.Sessions.Clear();
        State.PendingTasks.Clear();
        State.PendingSessions.Clear();
        if (!await TryWriteAsync())
        {
            throw new InvalidOperationException($"Agent '{ShownKey}' could not empty its moved sets; the next activation tries again.");
        }
    }

    public async Task<GrantResult<AgentInfo>> RegisterAsync(AgentRegistration registration, CancellationToken cancellationToken)
    {
        // The call filter refuses a malformed key first; checked here too, where an agent comes into being.
        if (KeyError is { } malformed)
        {
            return malformed;
        }
        if (Key.Length > WorkloadId.MaxRegisteredLength && !Exists)
        {
            // Its durable wake-up (a reminder keyed by the grain's id) could not be kept on Azure Tables.
            return GrantResult<AgentInfo>.Fail(GrantErrorCode.InvalidIdentifier, $"A new agent's workload id is at most {WorkloadId.MaxRegisteredLength} characters (this one has {Key.Length}).", target: ShownKey);
        }
        if (registration is null)
        {
            return GrantResult<AgentInfo>.Fail(GrantErrorCode.InvalidArgument, "An agent registration is required.");
        }
        var owner = Canonical.Identifier(registration.Owner, "Owner");
        if (!owner.IsSuccess)
        {
            return owner.Error;
        }
        var ceiling = Scope.Validate(registration.Ceiling);
        if (!ceiling.IsSuccess)
        {
            return ceiling.Error;
        }
        var displayName = Canonical.Text(registration.DisplayName, "display name", 256);
        if (!displayName.IsSuccess)
        {
            return displayName.Error;
        }
        var attributes = AttributeRules.ValidateAgent(registration.Attributes);
        if (!attributes.IsSuccess)
        {
            return attributes.Error;
        }
        var groups = AttributeRules.ValidateGroups(registration.Groups);
        if (!groups.IsSuccess)
        {
            return groups.Error;
        }
        var attributeMap = attributes.Value ?? new Dictionary<string, string>();
        if (Exists)
        {
            // Registering the same agent again is idempotent; anything else is a conflict.
            return State.Status != AgentStatus.Retired && State.Owner == owner.Value && State.Ceiling.Equals(ceiling.Value)
                && State.Groups.SequenceEqual(groups.Value, StringComparer.Ordinal)
                && State.Attributes.Count == attributeMap.Count && State.Attributes.All(a => attributeMap.TryGetValue(a.Key, out var v) && v == a.Value)
                ? Describe()
                : GrantResult<AgentInfo>.Fail(GrantErrorCode.AgentAlreadyExists, $"Agent '{ShownKey}' is already registered ({State.Status}) with a different owner, ceiling, attributes or groups; retired ids are never reused.", target: ShownKey);
        }
        var now = Now;
        State.Owner = owner.Value;
        State.Ceiling = ceiling.Value;
        State.DisplayName = displayName.Value;
        State.Attributes = new Dictionary<string, string>(attributeMap, StringComparer.Ordinal);
        State.Groups = [.. groups.Value];
        State.Status = AgentStatus.Active;
        State.RegisteredAt = now;
        State.StatusChangedAt = now;
        if (!await TryWriteAsync())
        {
            return Unavailable("the agent");
        }
        LogAgentRegistered(Logger, Key, State.Owner);
        await Audited.RecordAsync(AuditEventKind.AgentRegistered, r => r with { Agent = Key, Subject = Key, Detail = $"Owner {State.Owner}." });
        return Describe();
    }

    public Task<GrantResult<AgentInfo>> GetAsync(CancellationToken cancellationToken) => ReadDurableAsync(() => Exists ? Describe() : NotFound());

    public Task<GrantResult<AgentInfo>> SuspendAsync(string reason, CancellationToken cancellationToken) => EndAsync(AgentStatus.Suspended, reason);

    public Task<GrantResult<AgentInfo>> RetireAsync(string reason, CancellationToken cancellationToken) => EndAsync(AgentStatus.Retired, reason);

    public async Task<GrantResult<AgentInfo>> ResumeAsync(string reason, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return NotFound();
        }
        var text = Canonical.Reason(reason, "resumed");
        if (!text.IsSuccess)
        {
            return text.Error;
        }
        if (State.Status == AgentStatus.Suspended && PendingSteps > 0)
        {
            // What ended on suspension stays ended: resume only once every session and task is ended.
            return GrantResult<AgentInfo>.Fail(GrantErrorCode.InvalidState, $"Agent '{ShownKey}' still has {PendingSteps} sessions or tasks to end; it can be resumed once the suspension's cascade completes.", target: ShownKey);
        }
        if (State.Status != AgentStatus.Suspended)
        {
            return State.Status == AgentStatus.Active
                ? Describe()
                : GrantResult<AgentInfo>.Fail(GrantErrorCode.InvalidState, $"Agent '{ShownKey}' is retired; it cannot be resumed.", target: ShownKey);
        }
        State.Status = AgentStatus.Active;
        State.StatusChangedAt = Now;
        State.StatusReason = text.Value;
        if (!await TryWriteAsync())
        {
            return Unavailable("the resumption");
        }
        LogAgentStatusChanged(Logger, Key, State.Status, text.Value);
        await Audited.RecordAsync(AuditEventKind.AgentResumed, r => r with { Agent = Key, Subject = Key, Cause = text.Value });
        return Describe();
    }

    public Task<GrantResult<AgentInfo>> GetActiveAsync() => Task.FromResult(GetActiveResult());

    private GrantResult<AgentInfo> GetActiveResult()
    {
        if (!Exists)
        {
            return NotFound();
        }
        if (Unsettled)
        {
            return GrantResult<AgentInfo>.Fail(GrantErrorCode.AgentNotActive, $"The status of agent '{ShownKey}' cannot be confirmed right now.", target: ShownKey);
        }
        return State.Status == AgentStatus.Active
            ? Describe()
            : GrantResult<AgentInfo>.Fail(GrantErrorCode.AgentNotActive, $"Agent '{ShownKey}' is {State.Status}.", target: ShownKey);
    }

    public Task<AgentLease> LeaseAsync(GrainId holder)
    {
        var active = GetActiveResult();
        // Only an active agent is leased: a refusal is good for the one decision that asked.
        var lease = active.IsSuccess ? Leases.Grant(holder, Leases.Duration) : TimeSpan.Zero;
        return Task.FromResult(new AgentLease(active, lease));
    }

    public async Task<GrantResult<AgentInfo>> RecordTaskAsync(string taskId)
    {
        var active = GetActiveResult();
        if (!active.IsSuccess || Index.Tasks.Contains(taskId))
        {
            return active;
        }
        if (Index.Tasks.Count >= Options.MaxLiveTasksPerAgent)
        {
            await CompactAsync(Index.Tasks, _tasksCompaction, id => Compaction.TaskEndedAsync(GrainFactory, id));
            if (Index.Tasks.Count >= Options.MaxLiveTasksPerAgent)
            {
                LogQuotaReached(Logger, Key, nameof(Options.MaxLiveTasksPerAgent));
                return Compaction.QuotaExceeded($"Agent '{ShownKey}'", Options.MaxLiveTasksPerAgent, "tasks", nameof(Options.MaxLiveTasksPerAgent), ShownKey);
            }
        }
        Index.Tasks.Add(taskId);
        if (!await WriteIndexAsync())
        {
            return Unavailable("the task's record on its agent");
        }
        // Non-interleaved, so no suspension ran meanwhile; read again anyway, as the answer the task relies on.
        return GetActiveResult();
    }

    public async Task<GrantResult<SessionInfo>> OpenSessionAsync(OpenSessionRequest request, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.AgentNotFound, $"No agent is registered as '{ShownKey}'.", target: ShownKey);
        }
        if (request is null)
        {
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.InvalidArgument, "An open-session request is required.");
        }
        var named = Canonical.Identifier(request.Agent, "Agent workload id");
        if (!named.IsSuccess)
        {
            return named.Error;
        }
        if (named.Value != Key)
        {
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.InvalidArgument, $"The request opens a session for agent '{named.Value}', not '{ShownKey}'; open it on that agent.", target: ShownKey);
        }
        var idle = request.IdleTimeout ?? Options.DefaultSessionIdleTimeout;
        var max = request.MaxLifetime ?? Options.DefaultSessionMaxLifetime;
        // Requests above the configured maximum are refused; bounds that come from elsewhere (the maximum
        // lifetime, for the idle timeout) cap, and the session reports the effective values.
        if (max <= TimeSpan.Zero || max > Options.MaxSessionLifetime)
        {
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.LifetimeInvalid, $"A session's maximum lifetime must be positive and at most {Options.MaxSessionLifetime} ({GrantSiloOptions.SectionName}:{nameof(GrantSiloOptions.MaxSessionLifetime)}); asked for {max}.");
        }
        if (idle <= TimeSpan.Zero)
        {
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.LifetimeInvalid, $"A session's idle timeout must be positive; asked for {idle}.");
        }
        // An idle timeout longer than the maximum lifetime could never fire first.
        idle = idle < max ? idle : max;
        var active = GetActiveResult();
        if (!active.IsSuccess)
        {
            return active.Error;
        }
        if (Index.Sessions.Count >= Options.MaxLiveSessionsPerAgent)
        {
            await CompactAsync(Index.Sessions, _sessionsCompaction, id => Compaction.SessionEndedAsync(GrainFactory, id));
            if (Index.Sessions.Count >= Options.MaxLiveSessionsPerAgent)
            {
                LogQuotaReached(Logger, Key, nameof(Options.MaxLiveSessionsPerAgent));
                return Compaction.QuotaExceeded($"Agent '{ShownKey}'", Options.MaxLiveSessionsPerAgent, "sessions", nameof(Options.MaxLiveSessionsPerAgent), ShownKey);
            }
        }
        // GrantSilo chooses the id, and records it here before the session exists, so a suspension reaches it.
        var sessionId = IndexedIds.NewSessionId();
        Index.Sessions.Add(sessionId);
        if (!await WriteIndexAsync())
        {
            return Unavailable("the session");
        }
        var opened = await GrainFactory.GetGrainByKey<ISessionLifecycleGrain>(sessionId).InitializeAsync(new SessionSpec { Agent = Key, IdleTimeout = idle, MaxLifetime = max });
        if (!opened.IsSuccess && opened.Error.Code != GrantErrorCode.Unavailable && Index.Sessions.Remove(sessionId))
        {
            // Refused outright, so it does not exist. (Unavailable may mean it does: it stays recorded.)
            await WriteIndexAsync();
        }
        return opened;
    }

    // agent.read lets a caller list the agent's tasks and sessions, but each is shown only when the caller could read it
    // one by one (task.read, session.read): the reads below are the cluster's own calls, which no rule checks.
    public async Task<GrantResult<Page<TaskInfo>>> ListTasksAsync(string? continuationToken, int? pageSize, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return GrantResult<Page<TaskInfo>>.Fail(GrantErrorCode.AgentNotFound, $"No agent is registered as '{ShownKey}'.", target: ShownKey);
        }
        if (await CallerReads.ForCurrentCallerAsync<TaskInfo>(accessRules, CallerOperations.TaskRead, TargetFacts.Of) is not { } readable)
        {
            return CallerReads.Unconfirmed($"Listing the tasks of agent '{ShownKey}'");
        }
        return await Listing.ReadPageAsync(
            [.. Index.Tasks],
            continuationToken,
            pageSize,
            id => GrainFactory.GetGrainByKey<ITaskGrain>(id).GetAsync(),
            task => !task.IsTerminal && readable(task),
            GrantErrorCode.TaskNotFound);
    }

    public async Task<GrantResult<Page<SessionInfo>>> ListSessionsAsync(string? continuationToken, int? pageSize, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return GrantResult<Page<SessionInfo>>.Fail(GrantErrorCode.AgentNotFound, $"No agent is registered as '{ShownKey}'.", target: ShownKey);
        }
        if (await CallerReads.ForCurrentCallerAsync<SessionInfo>(accessRules, CallerOperations.SessionRead, TargetFacts.Of) is not { } readable)
        {
            return CallerReads.Unconfirmed($"Listing the sessions of agent '{ShownKey}'");
        }
        return await Listing.LiveSessionsAsync(GrainFactory, Index.Sessions, continuationToken, pageSize, readable);
    }

    public Task UntrackAsync(string kind, string id)
    {
        if (!Exists)
        {
            return Task.CompletedTask;
        }
        var set = kind == "task" ? Index.Tasks : Index.Sessions;
        if (kind != "task")
        {
            Index.CredentialAllowances.Remove(id);
        }
        if (set.Remove(id))
        {
            // The task or session has ended durably: losing this removal to a crash leaves an entry that ends again
            // as a no-op and that the quota's compaction drops. A tree of n tasks ending under this agent writes its
            // index a few times, not n times.
            WriteIndexSoon();
        }
        return Task.CompletedTask;
    }

    // How many more a session's share grows by at most at once: a busy session asks its agent once per this many
    // issuances, not once per issuance. A share at most doubles what its session holds (a session with none gets one), so
    // many quiet sessions never tie up the limit in shares they do not use; and it takes at most a quarter of what is left,
    // so near the limit shares grow one by one.
    private const int AllowanceStep = 64;

    private readonly CompactionSchedule _allowancesReclaim = new();

    public async Task<GrantResult<int>> AllowCredentialsAsync(string sessionId, int live)
    {
        if (!Exists)
        {
            return GrantResult<int>.Fail(GrantErrorCode.AgentNotFound, $"No agent is registered as '{ShownKey}'.", target: ShownKey);
        }
        if (!Index.Sessions.Contains(sessionId))
        {
            // Ended (its note reached this agent), so it issues nothing more: its share is gone with it.
            Index.CredentialAllowances.Remove(sessionId);
            return GrantResult<int>.Fail(GrantErrorCode.SessionNotActive, $"Session '{Untrusted.Id(sessionId)}' is not a live session of agent '{ShownKey}'.", target: sessionId);
        }
        live = Math.Max(0, live);
        var limit = Options.MaxLiveCredentialsPerAgent;
        var others = OtherAllowances(sessionId);
        if (others + live + 1 > limit)
        {
            // Shares of sessions that ended without their note reaching this agent go first, then what the others hold
            // beyond their credentials not yet expired.
            await CompactAsync(Index.Sessions, _sessionsCompaction, id => Compaction.SessionEndedAsync(GrainFactory, id));
            await ReclaimAllowancesAsync(sessionId);
            others = OtherAllowances(sessionId);
        }
        if (others + live + 1 > limit)
        {
            LogQuotaReached(Logger, Key, nameof(Options.MaxLiveCredentialsPerAgent));
            return GrantResult<int>.Fail(Compaction.QuotaExceeded($"Agent '{ShownKey}'", limit, "credentials", nameof(Options.MaxLiveCredentialsPerAgent), ShownKey));
        }
        var allowed = live + Math.Clamp(Math.Min(live, (limit - others - live) / 4), 1, AllowanceStep);
        Index.CredentialAllowances[sessionId] = allowed;
        // Written before the session may use it: after a restart the shares are what was written, never less.
        if (!await WriteIndexAsync())
        {
            return Unavailable("the agent's credential allowance");
        }
        return allowed;
    }

    private int OtherAllowances(string sessionId)
    {
        var sum = 0;
        List<string>? gone = null;
        foreach (var (session, allowed) in Index.CredentialAllowances)
        {
            if (!Index.Sessions.Contains(session))
            {
                (gone ??= []).Add(session);
            }
            else if (session != sessionId)
            {
                sum += allowed;
            }
        }
        foreach (var session in gone ?? [])
        {
            Index.CredentialAllowances.Remove(session);
        }
        return sum;
    }

    // Asks every other session with a share to shrink it to what it holds (interleaved on the session and calling nothing,
    // so a session waiting on this agent answers all the same). At most once a second on the grant clock, and at once
    // after loading: a caller refused at the limit must not send a call to every session per attempt. Shrunk shares are
    // written soon: lost to a crash, a share stays larger than what its session holds, which only refuses sooner.
    private async Task ReclaimAllowancesAsync(string asking)
    {
        if (!_allowancesReclaim.Due(Now, TimeSpan.FromSeconds(1)))
        {
            return;
        }
        _allowancesReclaim.Ran(Now);
        var asked = Index.CredentialAllowances.Where(e => e.Key != asking && e.Value > 0).Select(e => e.Key).ToList();
        var held = await Task.WhenAll(asked.Select(async session =>
        {
            try
            {
                return await GrainFactory.GetGrainByKey<ISessionLifecycleGrain>(session).GiveBackCredentialAllowanceAsync();
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Not reached: its share stays as it is.
                return int.MaxValue;
            }
        }));
        var shrunk = false;
        for (var i = 0; i < asked.Count; i++)
        {
            if (Index.CredentialAllowances.TryGetValue(asked[i], out var allowed) && held[i] < allowed)
            {
                Index.CredentialAllowances[asked[i]] = held[i];
                shrunk = true;
            }
        }
        if (shrunk)
        {
            WriteIndexSoon();
        }
    }

    protected override bool DefersIndexWrites => true;

    protected override Task WriteDeferredIndexAsync() => WriteIndexAsync();

    // At a quota, drops the entries that ended without the note reaching this agent (while it is active): when the
    // index may list such entries, and otherwise at most once per retry interval, not on every refused attempt.
    private async Task CompactAsync(HashSet<string> set, CompactionSchedule schedule, Func<string, Task<bool>> hasEnded)
    {
        if (!schedule.Due(Now, Options.CascadeRetryInterval))
        {
            return;
        }
        schedule.Ran(Now);
        var ended = await Compaction.EndedAsync(set, hasEnded);
        if (ended.Count > 0 && State.Status == AgentStatus.Active)
        {
            set.ExceptWith(ended);
            await WriteIndexAsync();
        }
    }

    protected override DateTimeOffset? NextDue(DateTimeOffset now) =>
        PendingSteps > 0 ? now + Options.CascadeRetryInterval : null;

    protected override Task OnTickAsync() => RunAgentCascadeAsync();

    // Every suspension or retirement, and every answer to a request for one, comes here: durable
    // first, then in force (every task that leased the agent's status told or outwaited), then the
    // cascade. An agent already suspended or retired takes the same path to the answer.
    private async Task<GrantResult<AgentInfo>> EndAsync(AgentStatus status, string reason)
    {
        if (!Exists)
        {
            return NotFound();
        }
        var text = Canonical.Reason(reason, status.ToString().ToLowerInvariant());
        if (!text.IsSuccess)
        {
            return text.Error;
        }
        var endedHere = false;
        if (State.Status == AgentStatus.Active || (status == AgentStatus.Retired && State.Status == AgentStatus.Suspended))
        {
            State.Status = status;
            State.StatusReason = text.Value;
            State.StatusChangedAt = Now;
            // The suspension is this small record alone; the index is what the cascade then ends.
            if (!await TryWriteAsync() && (Unsettled || State.Status != status))
            {
                return Unavailable("the agent's new status");
            }
            endedHere = true;
            LogAgentStatusChanged(Logger, Key, status, State.StatusReason);
            await Audited.RecordAsync(status == AgentStatus.Retired ? AuditEventKind.AgentRetired : AuditEventKind.AgentSuspended, r => r with { Agent = Key, Subject = Key, Cause = State.StatusReason });
        }
        // In force everywhere before it is acknowledged: no task keeps relying on this agent being active.
        if (!await PutEndInForceAsync())
        {
            await ScheduleAsync();
            return Unavailable("the agent's new status");
        }
        if (endedHere)
        {
            await RunAgentCascadeAsync();
        }
        await ScheduleAsync();
        return State.Status == status
            ? Describe()
            : GrantResult<AgentInfo>.Fail(GrantErrorCode.InvalidState, $"Agent '{ShownKey}' is retired.", target: ShownKey);
    }

    private Task RunAgentCascadeAsync()
    {
        var reason = $"agent '{ShownKey}' {State.Status.ToString().ToLowerInvariant()}: {State.StatusReason}";
        return RunCascadeAsync(
            (Index.Sessions, id => GrainFactory.GetGrainByKey<ISessionLifecycleGrain>(id).EndFromAgentAsync(reason)),
            (Index.Tasks, id => GrainFactory.GetGrainByKey<ITaskLifecycleGrain>(id).EndFromAboveAsync(GrantTaskStatus.Revoked, reason)));
    }

    // Confirmed steps have left the index sets: write the index.
    protected override Task<bool> WriteCascadeProgressAsync() => WriteIndexAsync();

    private GrantResult<AgentInfo> NotFound() =>
        GrantResult<AgentInfo>.Fail(GrantErrorCode.AgentNotFound, $"No agent is registered as '{ShownKey}'.", target: ShownKey);

    private GrantResult<AgentInfo> Describe() => new AgentInfo
    {
        WorkloadId = Key,
        Owner = State.Owner,
        Ceiling = State.Ceiling,
        Status = State.Status,
        RegisteredAt = State.RegisteredAt,
        StatusChangedAt = State.StatusChangedAt,
        StatusReason = State.StatusReason,
        DisplayName = State.DisplayName,
        LiveTasks = State.Status == AgentStatus.Active ? Index.Tasks.Count : 0,
        LiveSessions = State.Status == AgentStatus.Active ? Index.Sessions.Count : 0,
        PendingCascade = PendingSteps,
        Attributes = new Dictionary<string, string>(State.Attributes, StringComparer.Ordinal),
        Groups = [.. State.Groups],
    };

    [LoggerMessage(EventId = (int)LogEvents.AgentRegistered, Level = LogLevel.Information, Message = "Agent {WorkloadId} registered for owner {Owner}")]
    private static partial void LogAgentRegistered(ILogger logger, string workloadId, string owner);

    [LoggerMessage(EventId = (int)LogEvents.QuotaReached, Level = LogLevel.Warning, Message = "Agent {WorkloadId} reached its quota {Setting}; new work is refused until some ends")]
    private static partial void LogQuotaReached(ILogger logger, string workloadId, string setting);

    [LoggerMessage(EventId = (int)LogEvents.AgentStatusChanged, Level = LogLevel.Information, Message = "Agent {WorkloadId} is now {Status}: {Reason}")]
    private static partial void LogAgentStatusChanged(ILogger logger, string workloadId, AgentStatus status, string? reason);
}
