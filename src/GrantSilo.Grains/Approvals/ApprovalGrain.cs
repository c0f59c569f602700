using GrantSilo.Grains.Access;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Policies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Approvals;

/// <summary>
/// A step-up approval: exactly one (credential, action, resource) awaiting a person, with a deadline
/// on the grant clock. Approved approvals are used at most once; a pending or unused approval past its
/// deadline is expired, which is a deny. The deadline is checked on every call; the timer and reminder
/// only enact it (and tell approvers).
/// </summary>
internal sealed partial class ApprovalGrain(
    [PersistentState("approval", GrantSiloStorage.Name)] IPersistentState<ApprovalState> state,
    LifecycleServices services,
    IOptions<GrantSiloPolicyOptions> policyOptions,
    ILogger<ApprovalGrain> logger)
    : LifecycleGrain<ApprovalState>(state, services, logger), IApprovalGrain, IApprovalLifecycleGrain
{
    protected override bool GrantsLeases => false;

    private const int MaxNoteLength = 1024;

    protected override string Kind => "approval";

    protected override int PendingSteps => 0;

    public async Task<GrantResult<ApprovalInfo>> CreateAsync(ApprovalSpec spec)
    {
        if (Exists)
        {
            return GrantResult<ApprovalInfo>.Fail(GrantErrorCode.InvalidState, $"Approval '{ShownKey}' already exists.", target: ShownKey);
        }
        // The call filter refuses a malformed key first; checked here too, where an approval comes into being.
        if (KeyError is { } malformed)
        {
            return malformed;
        }
        var now = Now;
        State.CredentialId = spec.CredentialId;
        State.TaskId = spec.TaskId;
        State.Agent = spec.Agent;
        State.RootPerson = spec.RootPerson;
        State.Action = spec.Action;
        State.Resource = spec.Resource;
        State.PolicyVersion = spec.PolicyVersion;
        State.ApprovalPolicies = [.. spec.ApprovalPolicies];
        State.RequestedAt = now;
        State.ExpiresAt = now + policyOptions.Value.ApprovalLifetime;
        State.Status = ApprovalStatus.Pending;
        var info = Describe(now);
        // Listed for approvers before it exists: when the hub's list is full, no approval is created (the
        // request is denied), so nothing waits for a decision nobody can see.
        switch (await Hub.AdmitAsync(info))
        {
            case ApprovalAdmission.Admitted:
                break;
            case ApprovalAdmission.AgentFull:
                return GrantResult<ApprovalInfo>.Fail(GrantErrorCode.QuotaExceeded, $"Agent '{Untrusted.Id(State.Agent)}' already has {Options.MaxPendingApprovalsPerAgent} approvals waiting for a decision, its limit; decide some, or raise GrantSilo:Lifecycle:{nameof(Options.MaxPendingApprovalsPerAgent)}.", target: ShownKey);
            default:
                return GrantResult<ApprovalInfo>.Fail(GrantErrorCode.QuotaExceeded, $"{Options.MaxPendingApprovals} approvals already wait for a decision, the limit; decide some, or raise GrantSilo:Lifecycle:{nameof(Options.MaxPendingApprovals)}.", target: ShownKey);
        }
        if (!await TryWriteAsync())
        {
            Hub.WithdrawAsync(Key).Ignore();
            return Unavailable("the approval request");
        }
        LogApprovalRequested(Logger, Key, State.CredentialId, State.Action, State.Resource.Type, State.ExpiresAt);
        await Audited.RecordAsync(AuditEventKind.ApprovalRequested, r => ApprovalLineage(r) with { Detail = $"Step-up required by {string.Join(", ", State.ApprovalPolicies)}; decide by {State.ExpiresAt:O}." });
        Hub.RequestedAsync(info).Ignore();
        await ScheduleAsync();
        return info;
    }

    public Task<GrantResult<ApprovalInfo>> GetAsync(CancellationToken cancellationToken) => ReadDurableAsync(() => Exists ? Describe(Now) : NotFound());

    public Task<GrantResult<ApprovalInfo>> ApproveAsync(string approver, string? comment, CancellationToken cancellationToken) => DecideAsync(ApprovalStatus.Approved, approver, comment);

    public Task<GrantResult<ApprovalInfo>> DenyAsync(string approver, string? reason, CancellationToken cancellationToken) => DecideAsync(ApprovalStatus.Denied, approver, reason);

    private async Task<GrantResult<ApprovalInfo>> DecideAsync(ApprovalStatus decision, string approver, string? note)
    {
        if (!Exists)
        {
            return NotFound();
        }
        // The approver is who the caller proved to be; a different name is refused, never recorded.
        var proven = CallerContext.ProvenName(approver, "The approver");
        if (!proven.IsSuccess)
        {
            return proven.Error;
        }
        var who = Canonical.Identifier(proven.Value, "Approver");
        if (!who.IsSuccess)
        {
            return who.Error;
        }
        var text = Canonical.Text(note, decision == ApprovalStatus.Approved ? "comment" : "reason", MaxNoteLength);
        if (!text.IsSuccess)
        {
            return text.Error;
        }
        if (who.Value == State.Agent)
        {
            return GrantResult<ApprovalInfo>.Fail(GrantErrorCode.ApproverNotAllowed, $"Agent '{State.Agent}' may not decide its own approval; a person must.", target: ShownKey);
        }
        if (Unsettled)
        {
            return Unavailable("the approval decision");
        }
        var now = Now;
        var status = EffectiveStatus(now);
        if (status != ApprovalStatus.Pending)
        {
            if (status == ApprovalStatus.Expired && State.Status != ApprovalStatus.Expired)
            {
                await TickAsync();
            }
            return GrantResult<ApprovalInfo>.Fail(GrantErrorCode.ApprovalNotPending, $"Approval '{ShownKey}' is {status}; it can no longer be decided.", target: ShownKey);
        }
        State.Status = decision;
        State.DecidedBy = who.Value;
        State.DecidedByIssuer = CallerContext.Current?.Issuer;
        State.DecidedBySubject = CallerContext.Current?.Subject;
        State.DecidedAt = now;
        State.Note = text.Value;
        if (!await TryWriteAsync())
        {
            return Unavailable("the approval decision");
        }
        LogApprovalDecided(Logger, Key, decision, who.Value);
        await Audited.RecordAsync(decision == ApprovalStatus.Approved ? AuditEventKind.ApprovalGranted : AuditEventKind.ApprovalDenied, r => ApprovalLineage(r) with { CallerName = who.Value, Cause = State.Note });
        var info = Describe(now);
        Hub.ResolvedAsync(info).Ignore();
        await ScheduleAsync();
        return info;
    }

    public async Task<ApprovalCheck> ConsumeAsync(string credentialId, string action, ResourceRef resource)
    {
        if (!Exists)
        {
            return new ApprovalCheck(DecisionReason.ApprovalInvalid, $"No approval '{ShownKey}' exists.");
        }
        // The approval is for exactly one request; presenting it for another neither uses nor spoils it.
        if (State.CredentialId != credentialId || State.Action != action || !State.Resource.SameAs(resource))
        {
            return new ApprovalCheck(DecisionReason.ApprovalInvalid, $"Approval '{ShownKey}' was granted for another credential, action or resource.");
        }
        if (Unsettled)
        {
            return new ApprovalCheck(DecisionReason.Error, $"The state of approval '{ShownKey}' cannot be confirmed right now; failing closed.");
        }
        var now = Now;
        switch (EffectiveStatus(now))
        {
            case ApprovalStatus.Pending:
                return new ApprovalCheck(DecisionReason.ApprovalPending, $"Approval '{ShownKey}' has not been decided yet; it expires at {State.ExpiresAt:O}.");
            case ApprovalStatus.Denied:
                return new ApprovalCheck(DecisionReason.ApprovalDenied, $"Approval '{ShownKey}' was denied by {State.DecidedBy}.");
            case ApprovalStatus.Expired:
                return new ApprovalCheck(DecisionReason.ApprovalExpired, $"Approval '{ShownKey}' expired at {State.ExpiresAt:O}.");
            case ApprovalStatus.Used:
                return new ApprovalCheck(DecisionReason.ApprovalInvalid, $"Approval '{ShownKey}' was already used at {State.UsedAt:O}; approvals are single-use.");
        }
        State.Status = ApprovalStatus.Used;
        State.UsedAt = now;
        // Never rolled back to Approved: a use whose write outcome is unknown may have committed.
        if (!await TryWriteAsync())
        {
            return new ApprovalCheck(DecisionReason.Error, $"The use of approval '{ShownKey}' could not be recorded; failing closed.");
        }
        LogApprovalUsed(Logger, Key, credentialId);
        Hub.ResolvedAsync(Describe(now)).Ignore();
        await ScheduleAsync();
        return new ApprovalCheck(DecisionReason.Allowed, $"Approved by {State.DecidedBy}.");
    }

    protected override DateTimeOffset? NextDue(DateTimeOffset now) =>
        State.Status is ApprovalStatus.Pending or ApprovalStatus.Approved ? State.ExpiresAt : null;

    protected override async Task OnTickAsync()
    {
        var now = Now;
        if (State.Status is ApprovalStatus.Pending or ApprovalStatus.Approved && now >= State.ExpiresAt)
        {
            State.Status = ApprovalStatus.Expired;
            if (!await TryWriteAsync())
            {
                return;
            }
            LogApprovalDecided(Logger, Key, ApprovalStatus.Expired, "timeout");
            await Audited.RecordAsync(AuditEventKind.ApprovalTimedOut, r => ApprovalLineage(r) with { Cause = "nobody decided or used it before its deadline: a deny" });
            Hub.ResolvedAsync(Describe(now)).Ignore();
        }
    }

    // This approval's lineage on an audit record: the exact credential, action and resource it is for.
    private AuditRecord ApprovalLineage(AuditRecord record) => record with
    {
        RootPerson = State.RootPerson,
        TaskId = State.TaskId,
        TaskChain = [State.TaskId],
        Agent = State.Agent,
        CredentialId = State.CredentialId,
        Action = State.Action,
        ResourceType = State.Resource.Type,
        ResourcePath = State.Resource.Path,
        PolicyVersion = State.PolicyVersion,
        DeterminingPolicies = State.ApprovalPolicies,
        ApprovalId = Key,
    };

    private IApprovalHubNotifyGrain Hub => GrainFactory.GetGrain<IApprovalHubNotifyGrain>(0);

    private ApprovalStatus EffectiveStatus(DateTimeOffset now) =>
        State.Status is ApprovalStatus.Pending or ApprovalStatus.Approved && now >= State.ExpiresAt ? ApprovalStatus.Expired : State.Status;

    private GrantResult<ApprovalInfo> NotFound() =>
        GrantResult<ApprovalInfo>.Fail(GrantErrorCode.ApprovalNotFound, $"Approval '{ShownKey}' does not exist.", target: ShownKey);

    internal static string NewApprovalId() => "ap-" + Guid.NewGuid().ToString("N");

    private ApprovalInfo Describe(DateTimeOffset now) => new()
    {
        ApprovalId = Key,
        CredentialId = State.CredentialId,
        TaskId = State.TaskId,
        Agent = State.Agent,
        RootPerson = State.RootPerson,
        Action = State.Action,
        Resource = State.Resource,
        PolicyVersion = State.PolicyVersion,
        ApprovalPolicies = [.. State.ApprovalPolicies],
        RequestedAt = State.RequestedAt,
        ExpiresAt = State.ExpiresAt,
        Status = EffectiveStatus(now),
        DecidedBy = State.DecidedBy,
        DecidedByIssuer = State.DecidedByIssuer,
        DecidedBySubject = State.DecidedBySubject,
        DecidedAt = State.DecidedAt,
        Note = State.Note,
        UsedAt = State.UsedAt,
        ObservedAt = now,
    };

    [LoggerMessage(EventId = (int)LogEvents.ApprovalRequested, Level = LogLevel.Debug, Message = "Approval {ApprovalId} requested for credential {CredentialId}: {Action} on a {ResourceType} resource, expires {ExpiresAt}")]
    private static partial void LogApprovalRequested(ILogger logger, string approvalId, string credentialId, string action, string resourceType, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = (int)LogEvents.ApprovalDecided, Level = LogLevel.Debug, Message = "Approval {ApprovalId} is now {Status} ({By})")]
    private static partial void LogApprovalDecided(ILogger logger, string approvalId, ApprovalStatus status, string by);

    [LoggerMessage(EventId = (int)LogEvents.ApprovalUsed, Level = LogLevel.Debug, Message = "Approval {ApprovalId} used by credential {CredentialId}")]
    private static partial void LogApprovalUsed(ILogger logger, string approvalId, string credentialId);
}
