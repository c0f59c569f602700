using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using GrantSilo.Grains.Policies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Agents;

/// <summary>
/// An agent under its workload identity: its owner, its ceiling scope, its status, and the live
/// tasks and sessions to end when it is suspended or retired.
/// </summary>
internal sealed partial class AgentGrain(
    [PersistentState("agent", GrantSiloStorage.Name)] IPersistentState<AgentState> state,
    LifecycleServices services,
    ILogger<AgentGrain> logger)
    : LifecycleGrain<AgentState>(state, services, logger), IAgentGrain, IAgentLifecycleGrain
{
    protected override string Kind => "agent";

    protected override int PendingSteps => State.PendingTasks.Count + State.PendingSessions.Count;

    public async Task<GrantResult<AgentInfo>> RegisterAsync(AgentRegistration registration, CancellationToken cancellationToken)
    {
        var id = WorkloadId.Validate(Key);
        if (!id.IsSuccess)
        {
            return id.Error;
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
        if (registration.DisplayName is { Length: > 256 })
        {
            return GrantResult<AgentInfo>.Fail(GrantErrorCode.InvalidArgument, "The display name is longer than 256 characters.");
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
                : GrantResult<AgentInfo>.Fail(GrantErrorCode.AgentAlreadyExists, $"Agent '{Key}' is already registered ({State.Status}) with a different owner, ceiling, attributes or groups; retired ids are never reused.", target: Key);
        }
        var now = Now;
        State.Owner = owner.Value;
        State.Ceiling = ceiling.Value;
        State.DisplayName = registration.DisplayName;
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
            return GrantResult<AgentInfo>.Fail(GrantErrorCode.InvalidState, $"Agent '{Key}' still has {PendingSteps} sessions or tasks to end; it can be resumed once the suspension's cascade completes.", target: Key);
        }
        if (State.Status != AgentStatus.Suspended)
        {
            return State.Status == AgentStatus.Active
                ? Describe()
                : GrantResult<AgentInfo>.Fail(GrantErrorCode.InvalidState, $"Agent '{Key}' is retired; it cannot be resumed.", target: Key);
        }
        State.Status = AgentStatus.Active;
        State.StatusChangedAt = Now;
        State.StatusReason = text.Value;
        if (!await TryWriteAsync())
        {
            return Unavailable("the resumption");
        }
        LogAgentStatusChanged(Logger, Key, State.Status, text.Value);
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
            return GrantResult<AgentInfo>.Fail(GrantErrorCode.AgentNotActive, $"The status of agent '{Key}' cannot be confirmed right now.", target: Key);
        }
        return State.Status == AgentStatus.Active
            ? Describe()
            : GrantResult<AgentInfo>.Fail(GrantErrorCode.AgentNotActive, $"Agent '{Key}' is {State.Status}.", target: Key);
    }

    public Task<AgentLease> LeaseAsync(GrainId holder)
    {
        var active = GetActiveResult();
        // Only an active agent is leased: a refusal is good for the one decision that asked.
        var lease = active.IsSuccess ? Leases.Grant(holder, Leases.Duration) : TimeSpan.Zero;
        return Task.FromResult(new AgentLease(active, lease));
    }

    public async Task TrackTaskAsync(string taskId)
    {
        if (!Exists)
        {
            return;
        }
        if (State.Status != AgentStatus.Active)
        {
            // The task was created while this agent was being suspended: end it now.
            await GrainFactory.GetGrain<ITaskLifecycleGrain>(taskId).EndFromAboveAsync(GrantTaskStatus.Revoked, $"agent '{Key}' is {State.Status}");
            return;
        }
        if (State.Tasks.Add(taskId))
        {
            await TryWriteAsync();
        }
    }

    public async Task<GrantResult<AgentInfo>> TrackSessionAsync(string sessionId)
    {
        var active = await GetActiveAsync();
        if (!active.IsSuccess)
        {
            return active;
        }
        State.Sessions.Add(sessionId);
        if (!await TryWriteAsync())
        {
            return Unavailable("the session");
        }
        // Suspended while the session was recorded: the suspension's cascade (or its retry) ends it.
        return GetActiveResult();
    }

    public async Task UntrackAsync(string kind, string id)
    {
        if (!Exists)
        {
            return;
        }
        var set = kind == "task" ? State.Tasks : State.Sessions;
        if (set.Remove(id))
        {
            await TryWriteAsync();
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
            State.PendingTasks.UnionWith(State.Tasks);
            State.PendingSessions.UnionWith(State.Sessions);
            if (!await TryWriteAsync() && (Unsettled || State.Status != status))
            {
                return Unavailable("the agent's new status");
            }
            endedHere = true;
            LogAgentStatusChanged(Logger, Key, status, State.StatusReason);
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
            : GrantResult<AgentInfo>.Fail(GrantErrorCode.InvalidState, $"Agent '{Key}' is retired.", target: Key);
    }

    private Task RunAgentCascadeAsync()
    {
        var reason = $"agent '{Key}' {State.Status.ToString().ToLowerInvariant()}: {State.StatusReason}";
        return RunCascadeAsync(
            (State.PendingSessions, id => GrainFactory.GetGrain<ISessionLifecycleGrain>(id).EndFromAgentAsync(reason)),
            (State.PendingTasks, id => GrainFactory.GetGrain<ITaskLifecycleGrain>(id).EndFromAboveAsync(GrantTaskStatus.Revoked, reason)));
    }

    private GrantResult<AgentInfo> NotFound() =>
        GrantResult<AgentInfo>.Fail(GrantErrorCode.AgentNotFound, $"No agent is registered as '{Key}'.", target: Key);

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
        LiveTasks = State.Status == AgentStatus.Active ? State.Tasks.Count : 0,
        LiveSessions = State.Status == AgentStatus.Active ? State.Sessions.Count : 0,
        PendingCascade = PendingSteps,
        Attributes = new Dictionary<string, string>(State.Attributes, StringComparer.Ordinal),
        Groups = [.. State.Groups],
    };

    [LoggerMessage(EventId = (int)LogEvents.AgentRegistered, Level = LogLevel.Information, Message = "Agent {WorkloadId} registered for owner {Owner}")]
    private static partial void LogAgentRegistered(ILogger logger, string workloadId, string owner);

    [LoggerMessage(EventId = (int)LogEvents.AgentStatusChanged, Level = LogLevel.Information, Message = "Agent {WorkloadId} is now {Status}: {Reason}")]
    private static partial void LogAgentStatusChanged(ILogger logger, string workloadId, AgentStatus status, string? reason);
}
