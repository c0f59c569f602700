using GrantSilo.Grains.Access;
using GrantSilo.Grains.Agents;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Indexes;
using GrantSilo.Grains.Keys;
using GrantSilo.Grains.Leases;
using GrantSilo.Grains.Tokens;
using GrantSilo.Identity.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Sessions;

/// <summary>
/// An agent's session: credentials are issued within it and end with it (on request, idle timeout,
/// maximum lifetime, or when the agent is suspended or retired). Opened by its agent, which chooses
/// its id. The record is small; the credentials live in an index beside it, so its end is one small
/// write whatever their number.
/// </summary>
internal sealed partial class SessionGrain(
    [PersistentState("session", GrantSiloStorage.Name)] IPersistentState<SessionState> state,
    [PersistentState("session-index", GrantSiloStorage.Name)] IPersistentState<SessionIndexState> index,
    [PersistentState("session-index-recent", GrantSiloStorage.Name)] IPersistentState<SessionIndexState> recentIndex,
    LifecycleServices services,
    CredentialSigner signer,
    CredentialRecords credentialRecords,
    ILogger<SessionGrain> logger)
    : LifecycleGrain<SessionState>(state, services, logger), ISessionGrain, ISessionLifecycleGrain
{
    private DateTimeOffset _persistedActivityAt;

    protected override string Kind => "session";

    private SessionCredentialIndex? _credentials;

    // The live credentials, in two durable parts so an issuance never rewrites them all.
    private SessionCredentialIndex Credentials => _credentials ??= new SessionCredentialIndex(index, recentIndex, Kind, () => Key, Logger);

    // Credentials indexed whose records are being written (ScanCredentials interleaves with issuance).
    private readonly HashSet<string> _creating = new(StringComparer.Ordinal);

    // How many live credentials this session may hold: its share of its agent's MaxLiveCredentialsPerAgent, as the agent
    // last answered (the agent keeps it durably; after a reactivation the session starts at none and asks again).
    private int _credentialAllowance;

    // Whether an issuance is under way (issuances take turns: at most one at a time).
    private bool _issuing;

    // Credentials the running cascade has confirmed ended; removed from the index when its progress is written.
    private readonly HashSet<string> _endedCredentials = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _persistedActivityAt = State.LastActivityAt;
        if (Exists && State.HasLegacySets)
        {
            await MoveLegacySetsAsync();
        }
        await base.OnActivateAsync(cancellationToken);
    }

    // State written before the index kept its credentials in the record: move them (as TaskGrain does).
    private async Task MoveLegacySetsAsync()
    {
        var active = State.Status == SessionStatus.Active;
        foreach (var (id, credential) in State.Credentials)
        {
            if (active || State.PendingCredentials.Contains(id))
            {
                Credentials.AddSettled(id, credential);
            }
        }
        if (!await Credentials.TryWriteAsync())
        {
            throw new InvalidOperationException($"Session '{ShownKey}' could not move its credentials to its index; the next activation tries again.");
        }
        State.Credentials.Clear();
        State.PendingCredentials.Clear();
        if (!await TryWriteAsync())
        {
            throw new InvalidOperationException($"Session '{ShownKey}' could not empty its moved credentials; the next activation tries again.");
        }
    }

    // Once ended: the credentials its cascade has still to end.
    protected override int PendingSteps => State.Status != SessionStatus.Active ? Credentials.Count : 0;

    public async Task<GrantResult<SessionInfo>> InitializeAsync(SessionSpec spec)
    {
        if (Exists)
        {
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.InvalidState, $"Session '{ShownKey}' already exists.", target: ShownKey);
        }
        // The call filter refuses a malformed key first; checked here too, where a session comes into being.
        if (KeyError is { } malformed)
        {
            return malformed;
        }
        var now = Now;
        State.Agent = spec.Agent;
        State.StartedAt = now;
        State.IdleTimeout = spec.IdleTimeout;
        State.MaxLifetime = spec.MaxLifetime;
        State.LastActivityAt = now;
        State.Status = SessionStatus.Active;
        _persistedActivityAt = now;
        if (!await TryWriteAsync())
        {
            return Unavailable("the session");
        }
        LogSessionOpened(Logger, Key, State.Agent);
        await Audited.RecordAsync(AuditEventKind.SessionOpened, r => r with { Agent = State.Agent, SessionId = Key, Detail = $"Idle timeout {State.IdleTimeout}; maximum lifetime {State.MaxLifetime}." });
        await ScheduleAsync();
        return Describe(now);
    }

    public Task<GrantResult<SessionInfo>> GetAsync(CancellationToken cancellationToken) =>
        ReadDurableAsync(() => Exists ? Describe(Now) : NotFound());

    public async Task<GrantResult<IssuedCredential>> IssueCredentialAsync(IssueCredentialRequest request, CancellationToken cancellationToken)
    {
        _issuing = true;
        try
        {
            return await IssueAsync(request, cancellationToken);
        }
        finally
        {
            _issuing = false;
        }
    }

    private async Task<GrantResult<IssuedCredential>> IssueAsync(IssueCredentialRequest request, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.SessionNotFound, $"Session '{ShownKey}' does not exist.", target: ShownKey);
        }
        var now = Now;
        if (Unsettled)
        {
            return Unavailable("the session's state");
        }
        if (EffectiveStatus(now) is var status && status != SessionStatus.Active)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.SessionNotActive, $"Session '{ShownKey}' is {status}.", target: ShownKey);
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
        if (request.Resource is { } resource && !TokenOptions.IsResourceIndicator(resource))
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.InvalidArgument, "The resource must be an RFC 8707 resource indicator: an absolute URI without a fragment, at most 2048 characters.", target: "resource");
        }
        if (request.DpopKeyThumbprint is { } jkt && !JwkThumbprint.IsWellFormed(jkt))
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.InvalidArgument, "The DPoP key thumbprint must be an RFC 7638 SHA-256 thumbprint in base64url (43 characters).", target: "dpopKeyThumbprint");
        }
        string? mayAct = null;
        if (request.MayAct is not null)
        {
            var actor = WorkloadId.Validate(request.MayAct);
            if (!actor.IsSuccess)
            {
                return actor.Error;
            }
            mayAct = actor.Value;
        }
        var lifetime = request.Lifetime ?? Options.MaxCredentialLifetime;
        if (lifetime <= TimeSpan.Zero || lifetime > Options.MaxCredentialLifetime)
        {
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.LifetimeInvalid, $"A credential's lifetime must be positive and at most {Options.MaxCredentialLifetime} ({GrantSiloOptions.SectionName}:{nameof(GrantSiloOptions.MaxCredentialLifetime)}); asked for {lifetime}.");
        }
        if (Credentials.Reaches(Options.MaxLiveCredentialsPerSession))
        {
            // Expired credentials deny already and no longer count: enact their expiry first; then drop entries of
            // credentials that ended without their removal reaching storage (a crash, a failed write).
            await ExpireCredentialsAsync(now);
            if (Credentials.Reaches(Options.MaxLiveCredentialsPerSession))
            {
                await DropEndedCredentialsAsync();
            }
            if (Credentials.Reaches(Options.MaxLiveCredentialsPerSession))
            {
                return Compaction.QuotaExceeded($"Session '{ShownKey}'", Options.MaxLiveCredentialsPerSession, "credentials", nameof(Options.MaxLiveCredentialsPerSession), ShownKey);
            }
        }
        if (Credentials.Count >= _credentialAllowance && await AllowOneMoreAsync(now) is { } refused)
        {
            return refused;
        }

        var credentialId = CredentialToken.NewCredentialId();
        var task = await GrainFactory.GetGrainByKey<ITaskLifecycleGrain>(taskId.Value).AttachIssuingSessionAsync(Key, State.Agent);
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
        string token;
        try
        {
            token = await signer.SignAsync(new CredentialClaims
            {
                Issuer = signer.Issuer,
                Subject = State.Agent,
                Audience = request.Resource ?? signer.DefaultAudience,
                CredentialId = credentialId,
                ClientId = State.Agent,
                Permissions = [.. scope.Permissions.Select(p => p.ToString())],
                IssuedAt = now,
                NotBefore = now,
                ExpiresAt = expiresAt,
                TaskId = taskId.Value,
                RootPerson = task.Value.RootPerson,
                MaxClassification = scope.MaxClassification.ToString().ToLowerInvariant(),
                // The delegation chain, nearest first: the agents of the ancestor tasks, then the orchestrator.
                Actors = [.. task.Value.AncestorAgents.Reverse(), task.Value.Orchestrator],
                ConfirmationThumbprint = request.DpopKeyThumbprint,
                MayAct = mayAct,
            }, cancellationToken);
        }
        catch (KeyEncryptionException unavailable)
        {
            LogSigningKeyUnavailable(Logger, unavailable.Message);
            return GrantResult<IssuedCredential>.Fail(GrantErrorCode.Unavailable, "GrantSilo's signing keys cannot be used on this silo, so no credential was issued; the silo's log says why.");
        }
        var hash = CredentialToken.StoredHash(token);
        // The credential's record, written by this session straight into the credential grain's own storage: the grain
        // activates from it on first use. Everything a new credential must satisfy was checked above, in this turn: the
        // task (attached just now) is usable and assigned to this session's agent, the scope is within the task's, and the
        // credential ends no later than its task and this session.
        var record = new CredentialState
        {
            TaskId = taskId.Value,
            Agent = State.Agent,
            SessionId = Key,
            Scope = scope,
            IssuedAt = now,
            ExpiresAt = expiresAt,
            SecretHash = hash,
            Status = CredentialStatus.Active,
            TaskAncestors = [.. task.Value.Ancestors],
            RootPerson = task.Value.RootPerson,
            Orchestrator = task.Value.Orchestrator,
            ConfirmationThumbprint = request.DpopKeyThumbprint,
            Audience = request.Resource,
            MayAct = mayAct,
        };
        // Indexed durably before the credential exists, so the session's end always reaches it.
        Credentials.Add(credentialId, new SessionCredential(taskId.Value, expiresAt));
        State.LastActivityAt = now;
        // Until its record is written, a scan (which interleaves) neither lists it nor activates its grain.
        _creating.Add(credentialId);
        try
        {
            if (!await Credentials.TryWriteAsync())
            {
                return Unavailable("the credential");
            }
            if (now - _persistedActivityAt >= State.IdleTimeout / 4)
            {
                // Issuing is activity: recorded as often as decisions record it.
                _persistedActivityAt = now;
                await TryWriteAsync();
            }
            try
            {
                await credentialRecords.CreateAsync(credentialId, record);
            }
            catch (Exception exception)
            {
                // No token leaves: the record may or may not exist, but no one holds its secret, and the index entry
                // written before it ends it with this session either way.
                LogCredentialNotCreated(Logger, exception, Key, credentialId);
                return Unavailable("the credential");
            }
        }
        finally
        {
            _creating.Remove(credentialId);
        }
        LogCredentialIssued(Logger, credentialId, record.TaskId, record.Agent, record.ExpiresAt);
        await Audited.RecordAsync(AuditEventKind.CredentialIssued, r => CredentialGrain.Lineage(r, credentialId, record) with
        {
            Detail = $"Issued in session {Key}; expires {record.ExpiresAt:O}; scope {record.Scope}.",
        });
        GrantSiloMetrics.CredentialsIssued.Add(1);
        await ScheduleAsync();
        return GrantResult<IssuedCredential>.Ok(new IssuedCredential
        {
            CredentialId = credentialId,
            Token = token,
            TaskId = record.TaskId,
            Agent = record.Agent,
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
        if (EffectiveStatus(Now) == SessionStatus.Expired)
        {
            // It had already expired (perhaps not yet enacted): record that, put it in force, and say so.
            var (why, _) = Expiry();
            if (!await EndSessionAsync(SessionStatus.Expired, why))
            {
                return Unavailable("the end of the session");
            }
            return GrantResult<SessionInfo>.Fail(GrantErrorCode.AlreadyEnded, $"Session '{ShownKey}' had already expired at {State.EndedAt:O} ({State.StatusReason}); it was not ended again. Its credentials are not usable either way.", target: ShownKey);
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
        // One that had expired first (while no silo ran, say) stays expired, as of when it expired.
        var ended = EffectiveStatus(Now) == SessionStatus.Expired
            ? await EndSessionAsync(SessionStatus.Expired, Expiry().Reason)
            : await EndSessionAsync(SessionStatus.Ended, reason);
        if (!ended)
        {
            throw new InvalidOperationException($"Session '{ShownKey}' could not durably record its end; the caller retries.");
        }
    }

    public Task EndTaskCredentialsAsync(string taskId, string reason) => EndCredentialsOfTaskAsync(taskId, null, reason);

    public Task EndCredentialsOfTaskAsync(string taskId, DecisionReason cause, string reason) => EndCredentialsOfTaskAsync(taskId, (DecisionReason?)cause, reason);

    private async Task EndCredentialsOfTaskAsync(string taskId, DecisionReason? cause, string reason)
    {
        if (!Exists)
        {
            return;
        }
        var ids = Credentials.OfTask(taskId);
        if (ids.Count == 0)
        {
            return;
        }
        // Throws if any credential could not record its end; the task keeps this session pending and retries.
        await Task.WhenAll(ids.Select(id => cause is { } known
            ? GrainFactory.GetGrainByKey<ICredentialLifecycleGrain>(id).EndBecauseAsync(known, reason)
            : GrainFactory.GetGrainByKey<ICredentialLifecycleGrain>(id).EndFromAboveAsync(reason)));
        ForgetEnded(ids);
    }

    public Task<string[]> CredentialsOfTaskAsync(string taskId) =>
        Task.FromResult(Exists ? [.. Credentials.OfTask(taskId)] : Array.Empty<string>());

    public Task CredentialsEndedAsync(string[] credentialIds)
    {
        ForgetEnded(credentialIds ?? []);
        return Task.CompletedTask;
    }

    // Credentials whose ends are durable in their own records leave the index; that is written once for the calls
    // queued together (a tree ending through this session asks once per task), not once per call.
    private void ForgetEnded(IEnumerable<string?> ids)
    {
        var removed = false;
        foreach (var id in ids)
        {
            removed |= id is not null && Credentials.Remove(id);
        }
        if (removed)
        {
            WriteIndexSoon();
        }
    }

    protected override bool DefersIndexWrites => true;

    // Writes only the parts changed since their last write: none when a write since has carried the removals.
    protected override Task WriteDeferredIndexAsync() => Credentials.TryWriteAsync();

    public async Task CredentialEndedAsync(string credentialId)
    {
        if (Exists && Credentials.Remove(credentialId))
        {
            await Credentials.TryWriteAsync();
        }
    }

    public async Task<GrantResult<Page<CredentialInfo>>> ListCredentialsAsync(string? continuationToken, int? pageSize, CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return GrantResult<Page<CredentialInfo>>.Fail(GrantErrorCode.SessionNotFound, $"Session '{ShownKey}' does not exist.", target: ShownKey);
        }
        return await Listing.ReadPageAsync(
            // A credential being issued is not listed (this interleaves with the issuance) until its record is written.
            Credentials.Ids().Where(id => !_creating.Contains(id)),
            continuationToken,
            pageSize,
            id => GrainFactory.GetGrainByKey<ICredentialGrain>(id).GetAsync(),
            credential => credential.Status == CredentialStatus.Active,
            GrantErrorCode.CredentialNotFound);
    }

    public async Task<GrantResult<CredentialScan>> ScanCredentialsAsync(string? taskId, string? afterId, int max)
    {
        if (!Exists)
        {
            return GrantResult<CredentialScan>.Fail(GrantErrorCode.SessionNotFound, $"Session '{ShownKey}' does not exist.", target: ShownKey);
        }
        // A credential being issued (this scan interleaves with the issuance) is not listed, nor its grain activated
        // before the session has written its record.
        var (slice, more) = PageToken.Slice(Credentials.Entries.Where(c => (taskId is null || c.Value.TaskId == taskId) && !_creating.Contains(c.Key)).Select(c => c.Key).ToList(), afterId, Math.Clamp(max, 1, Page.MaxSize));
        var answers = await Task.WhenAll(slice.Select(id => GrainFactory.GetGrainByKey<ICredentialGrain>(id).GetAsync()));
        var items = new List<CredentialInfo>();
        foreach (var answer in answers)
        {
            if (answer.IsSuccess && answer.Value.Status == CredentialStatus.Active)
            {
                items.Add(answer.Value);
            }
            else if (!answer.IsSuccess && answer.Error.Code != GrantErrorCode.CredentialNotFound)
            {
                return answer.Error;
            }
        }
        return new CredentialScan { Items = items, LastScanned = slice.Count > 0 ? slice[^1] : null, More = more, Scanned = slice.Count };
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
        // Kept as credentials come and go: an issuance does not look at every credential.
        return Credentials.EarliestExpiry() is { } expiry ? Min(due, expiry) : due;
    }

    protected override async Task OnTickAsync()
    {
        var now = Now;
        if (State.Status == SessionStatus.Active)
        {
            if (Expiry() is var (why, at) && now >= at)
            {
                await EndSessionAsync(SessionStatus.Expired, why);
            }
            else
            {
                await ExpireCredentialsAsync(now);
            }
            return;
        }
        await RunSessionCascadeAsync();
    }

    // At the quota: forgets the credentials that have ended (each asked; an unknown answer keeps counting), as the
    // index's compaction schedule allows (at once after loading or a failed write, otherwise once per retry interval),
    // not on every refused attempt.
    private async Task DropEndedCredentialsAsync()
    {
        if (!Credentials.QuotaCompaction.Due(Now, Options.CascadeRetryInterval))
        {
            return;
        }
        Credentials.QuotaCompaction.Ran(Now);
        var ended = await Compaction.EndedAsync(Credentials.Ids(), id => Compaction.CredentialEndedAsync(GrainFactory, id));
        ForgetEnded(ended);
    }

    // Asks the agent for a larger share of its live credentials (null when given). Expired credentials no longer count;
    // refused, the credentials that ended without their removal reaching storage are dropped and the agent asked again.
    private async Task<GrantError?> AllowOneMoreAsync(DateTimeOffset now)
    {
        await ExpireCredentialsAsync(now);
        var agent = GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(State.Agent);
        var allowed = await agent.AllowCredentialsAsync(Key, Credentials.Count);
        if (allowed.Error is { Code: GrantErrorCode.QuotaExceeded })
        {
            var held = Credentials.Count;
            await DropEndedCredentialsAsync();
            if (Credentials.Count < held)
            {
                allowed = await agent.AllowCredentialsAsync(Key, Credentials.Count);
            }
        }
        if (!allowed.IsSuccess)
        {
            return allowed.Error;
        }
        _credentialAllowance = allowed.Value;
        return null;
    }

    public Task<int> GiveBackCredentialAllowanceAsync()
    {
        if (!Exists)
        {
            return Task.FromResult(0);
        }
        // An issuance under way (past its check, its credential not yet indexed) keeps its place. Expired credentials
        // hold none: one is issued here only while the index, which still counts them until their expiry is enacted,
        // holds fewer than the share, so the share always covers every credential not yet expired.
        var now = Now;
        var held = Credentials.Entries.Count(e => e.Value.ExpiresAt > now) + (_issuing ? 1 : 0);
        _credentialAllowance = Math.Min(_credentialAllowance, held);
        return Task.FromResult(held);
    }

    // Enacts the expiry of credentials whose time has passed (they already deny: this is clean-up).
    private async Task ExpireCredentialsAsync(DateTimeOffset now)
    {
        var expired = Credentials.Entries.Where(c => c.Value.ExpiresAt <= now).Select(c => c.Key).ToArray();
        if (expired.Length == 0)
        {
            return;
        }
        await Task.WhenAll(expired.Select(id => GrainFactory.GetGrainByKey<ICredentialLifecycleGrain>(id).EnactExpiryAsync()));
        foreach (var id in expired)
        {
            Credentials.Remove(id);
        }
        await Credentials.TryWriteAsync();
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
            // An expiry ended the session when it happened, not when a tick (perhaps after a restart) enacted it.
            State.EndedAt = status == SessionStatus.Expired ? Expiry().At : Now;
            // The end is this small record alone; the index (credentials) is what the cascade then ends.
            if (!await TryWriteAsync() && (Unsettled || State.Status == SessionStatus.Active))
            {
                return false;
            }
            endedHere = true;
            LogSessionEnded(Logger, Key, State.Status, State.StatusReason ?? reason);
            await Audited.RecordAsync(AuditEventKind.SessionEnded, r => r with { Agent = State.Agent, SessionId = Key, Cause = State.StatusReason ?? reason, Detail = $"Session {State.Status}." });
            GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(State.Agent).UntrackAsync("session", Key).Ignore();
            // An ended session no longer counts as a live session of the tasks it holds credentials for.
            foreach (var taskId in Credentials.Entries.Select(c => c.Value.TaskId).Distinct(StringComparer.Ordinal).ToArray())
            {
                GrainFactory.GetGrainByKey<ITaskLifecycleGrain>(taskId).SessionEndedAsync(Key).Ignore();
            }
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
        var reason = $"its session '{ShownKey}' {State.Status.ToString().ToLowerInvariant()}: {State.StatusReason}";
        return RunCascadeAsync((Credentials.Ids().ToHashSet(StringComparer.Ordinal), async id =>
        {
            await GrainFactory.GetGrainByKey<ICredentialLifecycleGrain>(id).EndBecauseAsync(DecisionReason.SessionNotActive, reason);
            _endedCredentials.Add(id);
        }));
    }

    // Confirmed credentials leave the index.
    protected override Task<bool> WriteCascadeProgressAsync()
    {
        foreach (var id in _endedCredentials)
        {
            Credentials.Remove(id);
        }
        _endedCredentials.Clear();
        return Credentials.TryWriteAsync();
    }

    // When and why the session expires (or expired): at its maximum lifetime or after its idle timeout, whichever comes first.
    private (string Reason, DateTimeOffset At) Expiry()
    {
        var max = State.StartedAt + State.MaxLifetime;
        var idle = State.LastActivityAt + State.IdleTimeout;
        return idle < max ? ("idle timeout", idle) : ("maximum lifetime reached", max);
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
        GrantResult<SessionInfo>.Fail(GrantErrorCode.SessionNotFound, $"Session '{ShownKey}' does not exist.", target: ShownKey);

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
        LiveCredentials = State.Status == SessionStatus.Active ? Credentials.Count : 0,
        PendingCascade = PendingSteps,
        EndedAt = State.EndedAt ?? (State.Status == SessionStatus.Active && now >= Expiry().At ? Expiry().At : null),
    };

    [LoggerMessage(EventId = (int)LogEvents.SessionOpened, Level = LogLevel.Debug, Message = "Session {SessionId} opened for agent {Agent}")]
    private static partial void LogSessionOpened(ILogger logger, string sessionId, string agent);

    [LoggerMessage(EventId = (int)LogEvents.SessionEnded, Level = LogLevel.Debug, Message = "Session {SessionId} ended as {Status}: {Reason}")]
    private static partial void LogSessionEnded(ILogger logger, string sessionId, SessionStatus status, string reason);

    [LoggerMessage(EventId = (int)LogEvents.SigningKeyUnavailable, Level = LogLevel.Error, Message = "No credential was issued: the signing key cannot be used ({Reason})")]
    private static partial void LogSigningKeyUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = (int)LogEvents.CredentialIssued, Level = LogLevel.Debug, Message = "Credential {CredentialId} issued for task {TaskId} to agent {Agent}, expires {ExpiresAt}")]
    private static partial void LogCredentialIssued(ILogger logger, string credentialId, string taskId, string agent, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = (int)LogEvents.CredentialNotCreated, Level = LogLevel.Warning, Message = "Session {SessionId} could not durably create credential {CredentialId}; no token was issued")]
    private static partial void LogCredentialNotCreated(ILogger logger, Exception exception, string sessionId, string credentialId);
}
