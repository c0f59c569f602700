using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Sessions;

/// <summary>
/// An agent's session: credentials are issued within it and end with it (on request, idle timeout,
/// maximum lifetime, or when the agent is suspended or retired).
/// </summary>
internal sealed partial class SessionGrain(
    [PersistentState("session", GrantSiloStorage.Name)] IPersistentState<SessionState> state,
    LifecycleServices services,
    ILogger<SessionGrain> logger)
    : LifecycleGrain<SessionState>(state, services, logger), ISessionGrain, ISessionLifecycleGrain
{
    private DateTimeOffset _persistedActivityAt;

    protected override string Kind => "session";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _persistedActivityAt = State.LastActivityAt;
        return base.OnActivateAsync(cancellationToken);
    }

    protected override int PendingSteps => State.PendingCredentials.Count;

    public async Task<GrantResult<SessionInfo>> OpenAsync(OpenSessionRequest request, CancellationToken cancellationToken)
    {
        if (Exists)
        {
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.InvalidState, $"Session '{Key}' already exists.", target: Key);
        }
        if (request is null)
        {
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.InvalidArgument, "An open-session request is required.");
        }
        var id = Canonical.Identifier(Key, "Session id");
        if (!id.IsSuccess)
        {
            return id.Error;
        }
        var agent = Canonical.Identifier(request.Agent, "Agent workload id");
        if (!agent.IsSuccess)
        {
            return agent.Error;
        }
        var idle = request.IdleTimeout ?? Options.DefaultSessionIdleTimeout;
        var max = request.MaxLifetime ?? Options.DefaultSessionMaxLifetime;
        if (idle <= TimeSpan.Zero || max <= TimeSpan.Zero || max > Options.MaxSessionLifetime || idle > max)
        {
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.LifetimeInvalid, $"A session's idle timeout must be positive and at most its maximum lifetime, which must be at most {Options.MaxSessionLifetime}; asked for idle {idle}, maximum {max}.");
        }
        var tracked = await GrainFactory.GetGrain<IAgentLifecycleGrain>(agent.Value).TrackSessionAsync(Key);
        if (!tracked.IsSuccess)
        {
            return tracked.Error;
        }
        var now = Now;
        State.Agent = agent.Value;
        State.StartedAt = now;
        State.IdleTimeout = idle;
        State.MaxLifetime = max;
        State.LastActivityAt = now;
        State.Status = SessionStatus.Active;
        if (!await TryWriteAsync())
        {
            return Unavailable("the session");
        }
        LogSessionOpened(Logger, Key, State.Agent);
        await ScheduleAsync();
        return Describe(now);
    }

    public Task<GrantResult<SessionInfo>> GetAsync(CancellationToken cancellationToken) =>
        ReadDurableAsync(() => Exists ? Describe(Now) : NotFound());

    public async Task<GrantResult<IssuedCredential>> IssueCredentialAsync(IssueCredentialRequest request, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.SessionNotFound, $"Session '{Key}' does not exist.", target: Key);
        }
        var now = Now;
        if (Unsettled)
        {
            return Unavailable("the session's state");
        }
        if (EffectiveStatus(now) is var status && status != SessionStatus.Active)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.SessionNotActive, $"Session '{Key}' is {status}.", target: Key);
        }
        if (request is null)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.InvalidArgument, "An issue-credential request is required.");
        }
        var taskId = Canonical.Identifier(request.TaskId, "Task id");
        if (!taskId.IsSuccess)
        {
            return taskId.Error;
        }
        Scope? requested = null;
        if (request.Scope is not null)
        {
            var validated = Scope.Validate(request.Scope);
            if (!validated.IsSuccess)
            {
                return validated.Error;
            }
            requested = validated.Value;
        }
        var lifetime = request.Lifetime ?? Options.MaxCredentialLifetime;
        if (lifetime <= TimeSpan.Zero || lifetime > Options.MaxCredentialLifetime)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.LifetimeInvalid, $"A credential's lifetime must be positive and at most {Options.MaxCredentialLifetime}; asked for {lifetime}.");
        }

        var credentialId = CredentialToken.NewCredentialId();
        var task = await GrainFactory.GetGrain<ITaskLifecycleGrain>(taskId.Value).AttachSessionAsync(Key, State.Agent);
        if (!task.IsSuccess)
        {
            return task.Error;
        }
        var scope = requested ?? task.Value.Scope;
        if (scope.FindExcess(task.Value.Scope) is { } excess)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.ScopeExceedsParent, $"The requested scope is wider than task '{taskId.Value}' allows.", permission: excess, target: taskId.Value);
        }

        // A credential never outlives its task or its session.
        var expiresAt = Min(now + lifetime, task.Value.ExpiresAt, State.StartedAt + State.MaxLifetime);
        var (token, hash) = CredentialToken.Mint(credentialId);
        State.Credentials[credentialId] = new SessionCredential(taskId.Value, expiresAt);
        State.LastActivityAt = now;
        if (!await TryWriteAsync())
        {
            return Unavailable("the credential");
        }
        var spec = new CredentialSpec
        {
            TaskId = taskId.Value,
            Agent = State.Agent,
            SessionId = Key,
            Scope = scope,
            IssuedAt = now,
            ExpiresAt = expiresAt,
            SecretHash = hash,
        };
        var created = await GrainFactory.GetGrain<ICredentialLifecycleGrain>(credentialId).InitializeAsync(spec);
        if (!created.IsSuccess)
        {
            return created.Error;
        }
        GrantSiloMetrics.CredentialsIssued.Add(1);
        await ScheduleAsync();
        return GrantResult<IssuedCredential>.Ok(new IssuedCredential
        {
            CredentialId = credentialId,
            Token = token,
            TaskId = spec.TaskId,
            Agent = spec.Agent,
            SessionId = Key,
            Scope = scope,
            IssuedAt = now,
            ExpiresAt = expiresAt,
        });
    }

    public async Task<GrantResult<SessionInfo>> EndAsync(string reason, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return NotFound();
        }
        var text = Canonical.Reason(reason, "ended");
        if (!text.IsSuccess)
        {
            return text.Error;
        }
        // Whether this call ends the session or finds it ended, it answers only once the end is in force.
        if (!await EndSessionAsync(SessionStatus.Ended, text.Value))
        {
            return Unavailable("the end of the session");
        }
        return Describe(Now);
    }

    public async Task EndFromAgentAsync(string reason)
    {
        if (!Exists || (State.Status != SessionStatus.Active && await DurableAsync() && State.Status != SessionStatus.Active))
        {
            return;
        }
        if (!await EndSessionAsync(SessionStatus.Ended, reason))
        {
            throw new InvalidOperationException($"Session '{Key}' could not durably record its end; the caller retries.");
        }
    }

    public async Task EndTaskCredentialsAsync(string taskId, string reason)
    {
        if (!Exists)
        {
            return;
        }
        var ids = State.Credentials.Where(c => c.Value.TaskId == taskId).Select(c => c.Key).ToArray();
        if (ids.Length == 0)
        {
            return;
        }
        // Throws if any credential could not record its end; the task keeps this session pending and retries.
        await Task.WhenAll(ids.Select(id => GrainFactory.GetGrain<ICredentialLifecycleGrain>(id).EndFromAboveAsync(reason)));
        foreach (var id in ids)
        {
            State.Credentials.Remove(id);
            State.PendingCredentials.Remove(id);
        }
        await TryWriteAsync();
    }

    public async Task CredentialEndedAsync(string credentialId)
    {
        if (Exists && State.Credentials.Remove(credentialId))
        {
            await TryWriteAsync();
        }
    }

    public Task<SessionCheck> CheckAsync()
    {
        if (!Exists)
        {
            return Task.FromResult(new SessionCheck(false, default));
        }
        var now = Now;
        var usable = !Unsettled && EffectiveStatus(now) == SessionStatus.Active;
        if (!usable)
        {
            return Task.FromResult(new SessionCheck(false, State.StartedAt));
        }
        // Activity keeps the session alive. It is written at most every quarter of the idle timeout,
        // so a reactivated session never judges itself idle by more than that.
        State.LastActivityAt = now;
        return now - _persistedActivityAt >= State.IdleTimeout / 4
            ? PersistActivityAsync(State.StartedAt)
            : Task.FromResult(new SessionCheck(true, State.StartedAt));
    }

    private async Task<SessionCheck> PersistActivityAsync(DateTimeOffset startedAt)
    {
        _persistedActivityAt = State.LastActivityAt;
        await TryWriteAsync();
        // The session may have ended, or its state been reloaded, while the activity was written.
        return new SessionCheck(!Unsettled && EffectiveStatus(Now) == SessionStatus.Active, startedAt);
    }

    public async Task<SessionLease> LeaseAsync(GrainId holder)
    {
        var check = await CheckAsync();
        if (!check.Usable || !Exists || Unsettled || State.Status != SessionStatus.Active)
        {
            return new SessionLease(false, check.StartedAt, default, default, default, TimeSpan.Zero);
        }
        // Granted in the same turn as the status it leases is read (the activity write above may have
        // interleaved with an end).
        var now = Now;
        if (EffectiveStatus(now) != SessionStatus.Active)
        {
            return new SessionLease(false, State.StartedAt, default, default, default, TimeSpan.Zero);
        }
        var until = Min(State.StartedAt + State.MaxLifetime, State.LastActivityAt + State.IdleTimeout);
        return new SessionLease(true, State.StartedAt, until, State.LastActivityAt, State.IdleTimeout, Leases.Grant(holder, Leases.Duration));
    }

    protected override DateTimeOffset? NextDue(DateTimeOffset now)
    {
        if (State.Status != SessionStatus.Active)
        {
            return PendingSteps > 0 ? now + Options.CascadeRetryInterval : null;
        }
        var due = Min(State.StartedAt + State.MaxLifetime, State.LastActivityAt + State.IdleTimeout);
        foreach (var credential in State.Credentials.Values)
        {
            due = Min(due, credential.ExpiresAt);
        }
        return due;
    }

    protected override async Task OnTickAsync()
    {
        var now = Now;
        if (State.Status == SessionStatus.Active)
        {
            if (now >= State.StartedAt + State.MaxLifetime)
            {
                await EndSessionAsync(SessionStatus.Expired, "maximum lifetime reached");
            }
            else if (now >= State.LastActivityAt + State.IdleTimeout)
            {
                await EndSessionAsync(SessionStatus.Expired, "idle timeout");
            }
            else
            {
                await ExpireCredentialsAsync(now);
            }
            return;
        }
        await RunSessionCascadeAsync();
    }

    // Enacts the expiry of credentials whose time has passed (they already deny: this is clean-up).
    private async Task ExpireCredentialsAsync(DateTimeOffset now)
    {
        var expired = State.Credentials.Where(c => c.Value.ExpiresAt <= now).Select(c => c.Key).ToArray();
        if (expired.Length == 0)
        {
            return;
        }
        await Task.WhenAll(expired.Select(id => GrainFactory.GetGrain<ICredentialLifecycleGrain>(id).EnactExpiryAsync()));
        foreach (var id in expired)
        {
            State.Credentials.Remove(id);
        }
        await TryWriteAsync();
    }

    // Every end of this session, and every answer to a request to end it, comes here: durable first,
    // then in force (every credential that leased the session's status told or outwaited), then the
    // cascade. A session already ended takes the same path to the answer.
    private async Task<bool> EndSessionAsync(SessionStatus status, string reason)
    {
        var endedHere = false;
        if (State.Status == SessionStatus.Active)
        {
            State.Status = status;
            State.StatusReason = reason;
            State.EndedAt = Now;
            State.PendingCredentials.UnionWith(State.Credentials.Keys);
            if (!await TryWriteAsync() && (Unsettled || State.Status == SessionStatus.Active))
            {
                return false;
            }
            endedHere = true;
            LogSessionEnded(Logger, Key, State.Status, State.StatusReason ?? reason);
            GrainFactory.GetGrain<IAgentLifecycleGrain>(State.Agent).UntrackAsync("session", Key).Ignore();
        }
        // In force everywhere before it is acknowledged: no credential keeps relying on this session.
        if (!await PutEndInForceAsync())
        {
            await ScheduleAsync();
            return false;
        }
        if (endedHere)
        {
            await RunSessionCascadeAsync();
        }
        await ScheduleAsync();
        return true;
    }

    private Task RunSessionCascadeAsync()
    {
        var reason = $"session '{Key}' {State.Status.ToString().ToLowerInvariant()}: {State.StatusReason}";
        return RunCascadeAsync((State.PendingCredentials, id => GrainFactory.GetGrain<ICredentialLifecycleGrain>(id).EndFromAboveAsync(reason)));
    }

    private SessionStatus EffectiveStatus(DateTimeOffset now)
    {
        if (State.Status != SessionStatus.Active)
        {
            return State.Status;
        }
        return now >= State.StartedAt + State.MaxLifetime || now >= State.LastActivityAt + State.IdleTimeout
            ? SessionStatus.Expired
            : SessionStatus.Active;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b, DateTimeOffset c) => Min(Min(a, b), c);

    private GrantResult<SessionInfo> NotFound() =>
        GrantResult<SessionInfo>.Fail(GrantErrorCode.SessionNotFound, $"Session '{Key}' does not exist.", target: Key);

    private SessionInfo Describe(DateTimeOffset now) => new()
    {
        SessionId = Key,
        Agent = State.Agent,
        StartedAt = State.StartedAt,
        IdleTimeout = State.IdleTimeout,
        MaxLifetime = State.MaxLifetime,
        LastActivityAt = State.LastActivityAt,
        Status = EffectiveStatus(now),
        StatusReason = State.StatusReason,
        LiveCredentials = State.Status == SessionStatus.Active ? State.Credentials.Count : 0,
        PendingCascade = PendingSteps,
    };

    [LoggerMessage(EventId = (int)LogEvents.SessionOpened, Level = LogLevel.Information, Message = "Session {SessionId} opened for agent {Agent}")]
    private static partial void LogSessionOpened(ILogger logger, string sessionId, string agent);

    [LoggerMessage(EventId = (int)LogEvents.SessionEnded, Level = LogLevel.Information, Message = "Session {SessionId} ended as {Status}: {Reason}")]
    private static partial void LogSessionEnded(ILogger logger, string sessionId, SessionStatus status, string reason);
}
