using GrantSilo.Grains.Access;
using GrantSilo.Grains.Approvals;
using GrantSilo.Grains.Audit;
using GrantSilo.Grains.Catalog;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using GrantSilo.Grains.Policies;
using GrantSilo.Identity.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Credentials;

/// <summary>
/// A short-lived, task-bound credential and the decision point for actions taken with it. Every
/// decision re-checks the secret, the credential's status and expiry, its scope, its session, its
/// agent and its whole task chain against the clock; any error is a deny.
/// </summary>
internal sealed partial class CredentialGrain(
    [PersistentState(CredentialGrain.StateName, GrantSiloStorage.Name)] IPersistentState<CredentialState> state,
    LifecycleServices services,
    IAccessPolicy policy,
    IResourceCatalogSource catalogs,
    DpopProofVerifier dpop,
    ILogger<CredentialGrain> logger)
    : LifecycleGrain<CredentialState>(state, services, logger), ICredentialGrain, ICredentialLifecycleGrain
{
    /// <summary>The name of its state in storage (its issuing session writes the first version: <see cref="CredentialRecords"/>).</summary>
    internal const string StateName = "credential";

    protected override string Kind => "credential";

    protected override int PendingSteps => 0;

    // The session's reminder enacts this credential's expiry if this activation's timer does not.
    protected override bool UsesReminder => false;

    // A credential relies on leases; it never grants them.
    protected override bool GrantsLeases => false;

    // Live: active, unexpired, and known to be so (no write of unknown outcome pending a read-back).
    private bool IsLive(DateTimeOffset now) => !Unsettled && State.Status == CredentialStatus.Active && now < State.ExpiresAt;

    // The task chain's and the session's answers, under the leases they granted: a warm credential
    // decides without asking anyone, and every source tells it before a change is acknowledged.
    private readonly LeaseHolderCache _held = new(services.LeaseClock);
    private HeldAnswer<TaskLease>? _chainLease;
    private HeldAnswer<SessionLease>? _sessionLease;

    private HeldAnswer<TaskLease> ChainLease => _chainLease ??= _held.Hold<TaskLease>();

    private HeldAnswer<SessionLease> SessionLeaseHeld => _sessionLease ??= _held.Hold<SessionLease>();

    // The keyed hash (for the audit) of the token whose secret this credential holds, once a decision has checked it.
    private string? _tokenHash;

    // This credential's lineage on an audit record.
    private AuditRecord CredentialLineage(AuditRecord record) => Lineage(record, Key, State);

    /// <summary>Credential <paramref name="credentialId"/>'s lineage, from its record, on an audit record (its issuing session's too).</summary>
    internal static AuditRecord Lineage(AuditRecord record, string credentialId, CredentialState credential) => record with
    {
        RootPerson = credential.RootPerson is { Length: > 0 } person ? person : null,
        Orchestrator = credential.Orchestrator is { Length: > 0 } orchestrator ? orchestrator : null,
        TaskChain = [.. credential.TaskAncestors, credential.TaskId],
        TaskId = credential.TaskId,
        Agent = credential.Agent,
        SessionId = credential.SessionId,
        CredentialId = credentialId,
    };

    public Task InvalidateLeasesAsync()
    {
        _held.Invalidate();
        return Task.CompletedTask;
    }

    public Task<Decision> AuthorizeAsync(byte[] secret, string action, ResourceRef resource, CallerProof? caller, CancellationToken cancellationToken) =>
        AuthorizeCoreAsync(secret, action, resource, approvalId: null, presentation: null);

    public Task<Decision> AuthorizeWithApprovalAsync(byte[] secret, string action, ResourceRef resource, string approvalId, CallerProof? caller, CancellationToken cancellationToken) =>
        AuthorizeCoreAsync(secret, action, resource, approvalId ?? "", presentation: null);

    public Task<Decision> AuthorizePresentedAsync(byte[] secret, string action, ResourceRef resource, TokenPresentation presentation, string? approvalId, CallerProof? caller, CancellationToken cancellationToken) =>
        AuthorizeCoreAsync(secret, action, resource, approvalId, presentation ?? TokenPresentation.None);

    private async Task<Decision> AuthorizeCoreAsync(byte[] secret, string action, ResourceRef resource, string? approvalId, TokenPresentation? presentation)
    {
        Decision decision;
        ChainCheck? chain = null;
        var decided = false;
        try
        {
            (decision, chain) = await DecideAsync(secret, action, resource, approvalId, presentation);
            decided = true;
        }
        catch (Exception exception)
        {
            LogDecisionFailed(Logger, exception, Key);
            decision = Deny(DecisionReason.Error, "GrantSilo could not complete the decision; failing closed.");
        }
        // Every decision that got past the secret check was made with this credential's one token: its keyed hash is made once.
        var tokenHash = secret is null ? null
            : decided && decision.Reason != DecisionReason.UnknownCredential ? _tokenHash ??= AuditKeys.TokenHash(secret)
            : AuditKeys.TokenHash(secret);
        var record = DecisionRecords.For(AuditIds.New(Time), Now, decision, Key, tokenHash, action, resource, chain, Exists ? State.SessionId : null, CallerContext.Current);
        decision = decision with { DecisionId = record.Id };
        try
        {
            await Audit.RecordAsync(record, CancellationToken.None);
        }
        catch (AuditUnavailableException exception)
        {
            // An allow is only returned once its audit record is durable.
            LogDecisionNotAudited(Logger, Key, exception.Message);
            decision = Deny(DecisionReason.AuditUnavailable, $"The decision could not be audited ({exception.Message}); failing closed. GrantSilo recovers by itself when the audit store returns: retry.") with { DecisionId = record.Id };
        }
        catch (Exception exception)
        {
            LogDecisionFailed(Logger, exception, Key);
            decision = Deny(DecisionReason.Error, "The decision could not be audited; failing closed.") with { DecisionId = record.Id };
        }
        GrantSiloMetrics.RecordDecision(decision);
        return decision;
    }

    private async ValueTask<(Decision Decision, ChainCheck? Chain)> DecideAsync(byte[] secret, string action, ResourceRef resource, string? approvalId, TokenPresentation? presentation)
    {
        // An unknown id and a wrong secret get one answer, so a caller cannot learn which ids exist (the
        // hash is computed either way); the log, at Debug, tells them apart.
        var matches = CredentialToken.Verify(secret ?? [], Exists ? State.SecretHash : NoSecretHash);
        if (!Exists || !matches)
        {
            LogTokenRefused(Logger, ShownKey, Exists ? "wrong secret" : "unknown credential id");
            return (Deny(DecisionReason.UnknownCredential, "No credential matches the token."), null);
        }
        // A bearer token for no resource in particular (the common case) pays nothing here.
        if ((State.ConfirmationThumbprint is not null || State.Audience is not null) && await CheckPresentationAsync(secret!, presentation) is { } refused)
        {
            return (refused, null);
        }
        // The resource's labels come from the catalog confirmed on this silo (fail closed without one), read
        // before the clock, so an await here (a lapsed confirmation) never leaves the decision's instant stale.
        if (await catalogs.GetConfirmedCatalogAsync() is not { } catalog)
        {
            return (Deny(DecisionReason.Error, "This silo cannot confirm the active resource catalog with the policy store; failing closed."), null);
        }
        var now = Now;
        if (Unsettled)
        {
            return (Deny(DecisionReason.Error, "The credential's state cannot be confirmed right now; failing closed."), null);
        }
        if (State.Status == CredentialStatus.Revoked)
        {
            return (DenyEnded(), null);
        }
        if (!IsLive(now))
        {
            return (Deny(DecisionReason.CredentialExpired, $"The credential expired at {State.ExpiresAt:O}."), null);
        }
        // The request itself, against the credential's own scope, its resource labelled: no clock, no grain, no policy.
        var request = RequestCheck.Check(State.Scope, action, resource, approvalId, catalog);
        if (request.Refusal is { } refusal)
        {
            return (Labelled(Deny(refusal, request.Detail), request.Labels), null);
        }
        var (decided, decidedFor) = await DecideLabelledAsync(action, request.Resource, approvalId, now);
        return (Labelled(decided, request.Labels), decidedFor);
    }

    // How the token was presented, against what it was issued for: the resource the asker serves must be the token's
    // audience, and a token bound to a key needs a DPoP proof by that key for the request it came on (method, URL, this
    // token, recent, never seen before on this silo: the credential's activation checks every proof of its token).
    private async ValueTask<Decision?> CheckPresentationAsync(byte[] secret, TokenPresentation? presentation, bool audience = true)
    {
        if (audience && State.Audience is { } issuedFor && !string.Equals(presentation?.Audience, issuedFor, StringComparison.Ordinal))
        {
            LogPresentationRefused(Logger, Key, presentation?.Audience is null ? "no audience stated" : "another audience");
            return Deny(DecisionReason.AudienceMismatch, presentation?.Audience is null
                ? "The credential was issued for one resource: the asker must say which resource it serves (its audience), and only that resource may accept it."
                : "The credential was issued for another resource than the one asking.");
        }
        if (State.ConfirmationThumbprint is not { } jkt)
        {
            return null;
        }
        if (presentation?.DpopProof is not { } proof)
        {
            LogPresentationRefused(Logger, Key, "bound token without a DPoP proof");
            return Deny(DecisionReason.DpopProofInvalid, "The credential is bound to a key: it is accepted only with a DPoP proof by that key, passed with the request's method and URL.");
        }
        if (presentation.Method is not { Length: > 0 and <= 16 } method || !method.All(char.IsAsciiLetterUpper)
            || !Uri.TryCreate(presentation.Url, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
        {
            LogPresentationRefused(Logger, Key, "no method or URL for the DPoP proof");
            return Deny(DecisionReason.DpopProofInvalid, "A DPoP proof is checked against the method and the absolute http(s) URL of the request it came on: give both.");
        }
        // The bound key goes to the verifier, which refuses a proof by any other key before it takes a place in the silo's
        // replay memory (proofs by throwaway keys would otherwise fill it, and a full memory refuses every proof).
        var (verified, refusal) = await dpop.VerifyAsync(proof, method, url, secret, expectedKeyThumbprint: jkt);
        if (verified is null)
        {
            LogPresentationRefused(Logger, Key, refusal!.Description);
            return Deny(refusal.Error == DpopRefusal.UseNonce ? DecisionReason.DpopNonceRequired : DecisionReason.DpopProofInvalid, refusal.Description);
        }
        return null;
    }

    // Says which catalog version labelled the resource, and that an unknown resource was treated as the most restrictive.
    private static Decision Labelled(Decision decision, LabelledResource? labels)
    {
        if (labels is not { } l)
        {
            return decision;
        }
        if (l.Known || (decision.Detail?.Contains("not in the resource catalog", StringComparison.Ordinal) ?? false))
        {
            return decision with { CatalogVersion = l.CatalogVersion };
        }
        return decision with
        {
            CatalogVersion = l.CatalogVersion,
            Detail = string.IsNullOrEmpty(decision.Detail) ? l.UnknownNote : $"{decision.Detail} {l.UnknownNote}",
        };
    }

    // The decision on a well-formed request within scope, its resource labelled by the catalog.
    private async ValueTask<(Decision Decision, ChainCheck? Chain)> DecideLabelledAsync(string action, ResourceRef canonicalResource, string? approvalId, DateTimeOffset now)
    {
        // The rest of the world: the task chain (with every agent along it) and the session, from
        // their leases when these still run, asked in parallel otherwise. A decision that overlaps an
        // invalidation is decided again, so no allow ever rests on an answer a source has taken back.
        for (var attempt = 0; ; attempt++)
        {
            var epoch = _held.Epoch;
            var leases = GetLeasesAsync(now);
            // Whether this activation could have run anything else (a revocation, an expiry tick) meanwhile.
            var interleaved = !leases.IsCompleted;
            var (chainLease, session) = await leases;
            var chain = chainLease.Check;
            if (chain.Reason == DecisionReason.AgentNotActive)
            {
                return (Deny(DecisionReason.AgentNotActive, $"Agent '{chain.Agent}' along the chain of task '{State.TaskId}' is not active."), chain);
            }
            if (!session.Usable)
            {
                return (Deny(DecisionReason.SessionNotActive, $"Session '{State.SessionId}' has ended, expired or gone idle."), chain);
            }
            if (!chain.Usable)
            {
                return (Deny(chain.Reason, chain.Explain()), chain);
            }
            if (chainLease.Agent is not { } agent)
            {
                return (Deny(DecisionReason.Error, "The task chain did not name its agent; failing closed."), chain);
            }

            var evaluation = policy.EvaluateAsync(new AccessFacts
            {
                CredentialId = Key,
                TaskId = State.TaskId,
                RootTaskId = chain.RootTaskId,
                Agent = State.Agent,
                RootPerson = chain.RootPerson,
                DelegationDepth = chain.Depth,
                Action = action,
                Resource = canonicalResource,
                Now = now,
                SessionStartedAt = session.StartedAt,
                CredentialIssuedAt = State.IssuedAt,
                AgentOwner = agent.Owner,
                AgentAttributes = agent.Attributes,
                AgentGroups = agent.Groups,
                AgentKey = agent,
            }, CancellationToken.None);
            interleaved |= !evaluation.IsCompleted;
            var verdict = await evaluation;
            if (!verdict.Allowed)
            {
                return (Deny(verdict.Unavailable ? DecisionReason.Error : DecisionReason.PolicyDenied, verdict.Detail ?? "Policy denied the request.") with
                {
                    PolicyVersion = verdict.PolicyVersion,
                    DeterminingPolicies = verdict.DeterminingPolicies,
                }, chain);
            }

            // A silo that may have been declared dead must not answer from memory.
            if (SiloLeaseLapsed() is { } lapsed)
            {
                return (lapsed, chain);
            }

            // The credential may have been revoked or expired while the others were asked (when nothing
            // was awaited, nothing else ran and the decision still stands at the instant it began).
            if (interleaved)
            {
                now = Now;
            }
            if (!IsLive(now))
            {
                return (DenyEndedMeanwhile(), chain);
            }
            if (epoch != _held.Epoch)
            {
                if (attempt < 2)
                {
                    continue;
                }
                return (Deny(DecisionReason.Error, "The task chain or session kept changing while the request was decided; failing closed."), chain);
            }
            if (!verdict.RequiresApproval)
            {
                return (Allow(verdict, now, approvalId: null), chain);
            }
            return await StepUpThenAllowAsync(action, canonicalResource, approvalId, verdict, chain);
        }
    }

    private Decision? SiloLeaseLapsed() =>
        SiloLease.IsValid(out var problem)
            ? null
            : Deny(DecisionReason.Error, $"This silo cannot confirm it is a live cluster member ({problem}); failing closed.");

    private Decision Allow(PolicyVerdict verdict, DateTimeOffset now, string? approvalId) => new()
    {
        Kind = DecisionKind.Allow,
        Reason = DecisionReason.Allowed,
        CredentialId = Key,
        TaskId = State.TaskId,
        Agent = State.Agent,
        DecidedAt = now,
        PolicyVersion = verdict.PolicyVersion,
        DeterminingPolicies = verdict.DeterminingPolicies,
        ApprovalId = approvalId,
    };

    // The chain and session answers for a decision at the given instant: from their leases while
    // these run (and, for the session, while the activity it last saw is recent enough to keep it
    // alive), asked otherwise. An answer that arrives after an invalidation is asked again (twice at
    // most, then fail closed).
    private ValueTask<(TaskLease Chain, SessionLease Session)> GetLeasesAsync(DateTimeOffset now)
    {
        // The hot path of a warm credential: both answers held, nothing to ask and nothing allocated.
        var leaseNow = LeaseClock.GetTimestamp();
        if (ChainLease.TryGet(leaseNow, out var chain) && ChainUsable(chain, now)
            && SessionLeaseHeld.TryGet(leaseNow, out var session) && SessionUsable(session, now))
        {
            return ValueTask.FromResult((chain, session));
        }
        return AskLeasesAsync(now);
    }

    // A held chain answer still stands until the chain's earliest deadline; a held session answer until its
    // deadline, and while the activity it last saw is recent enough to keep the session alive.
    private static bool ChainUsable(TaskLease chain, DateTimeOffset now) => now < chain.UsableUntil;

    private static bool SessionUsable(SessionLease session, DateTimeOffset now) =>
        now < session.UsableUntil && now - session.ActivityAt < session.IdleTimeout / 8;

    private async ValueTask<(TaskLease Chain, SessionLease Session)> AskLeasesAsync(DateTimeOffset now)
    {
        var (answered, leases) = await _held.AskAsync(
            async () =>
            {
                // One read of the lease clock serves both leases (a clock read is not free on every host).
                var leaseNow = LeaseClock.GetTimestamp();
                var chainHeld = ChainLease.TryGet(leaseNow, out var chain) && ChainUsable(chain, now);
                var sessionHeld = SessionLeaseHeld.TryGet(leaseNow, out var session) && SessionUsable(session, now);
                if (chainHeld && sessionHeld)
                {
                    return (Chain: chain, Session: session, AskedChain: false, AskedSession: false);
                }
                var holder = this.GetGrainId();
                var chainTask = chainHeld ? Task.FromResult(chain) : GrainFactory.GetGrainByKey<ITaskLifecycleGrain>(State.TaskId).LeaseChainAsync(holder);
                var sessionTask = sessionHeld ? Task.FromResult(session) : GrainFactory.GetGrainByKey<ISessionLifecycleGrain>(State.SessionId).LeaseAsync(holder);
                await Task.WhenAll(chainTask, sessionTask);
                return (Chain: await chainTask, Session: await sessionTask, AskedChain: !chainHeld, AskedSession: !sessionHeld);
            },
            (answer, askedAt) =>
            {
                if (answer.AskedChain)
                {
                    HoldIfUsable(ChainLease, answer.Chain, answer.Chain.Check.Usable, answer.Chain.Lease, askedAt);
                }
                if (answer.AskedSession)
                {
                    HoldIfUsable(SessionLeaseHeld, answer.Session, answer.Session.Usable, answer.Session.Lease, askedAt);
                }
            });
        return answered
            ? (leases.Chain, leases.Session)
            : (new TaskLease { Check = new ChainCheck { Usable = false, Reason = DecisionReason.Error, BlockingTaskId = State.TaskId } }, default);
    }

    private static void HoldIfUsable<T>(HeldAnswer<T> held, T answer, bool usable, TimeSpan lease, long askedAt)
    {
        if (usable)
        {
            held.Keep(answer, lease, askedAt);
        }
        else
        {
            held.Drop();
        }
    }

    public Task<ProofCheck> VerifyProofAsync(byte[] secret) => VerifyProofPresentedAsync(secret, TokenPresentation.None);

    public Task<ProofCheck> VerifyProofPresentedAsync(byte[] secret, TokenPresentation presentation)
    {
        if (!Exists || secret is null || !CredentialToken.Verify(secret, State.SecretHash))
        {
            return Task.FromResult(new ProofCheck { Valid = false, Detail = "unknown credential or wrong secret" });
        }
        if (!IsLive(Now))
        {
            return Task.FromResult(new ProofCheck { Valid = false, Detail = $"the credential is {State.Status}{(State.Status == CredentialStatus.Active ? " but expired" : "")}" });
        }
        return VerifySessionAsync();

        async Task<ProofCheck> VerifySessionAsync()
        {
            // A proof names no resource: only the key binding applies to it.
            if (State.ConfirmationThumbprint is not null && await CheckPresentationAsync(secret, presentation, audience: false) is { } refused)
            {
                return new ProofCheck { Valid = false, Detail = refused.Detail };
            }
            var session = await GrainFactory.GetGrainByKey<ISessionLifecycleGrain>(State.SessionId).CheckAsync();
            return session.Usable
                ? new ProofCheck { Valid = true, TaskId = State.TaskId, Agent = State.Agent, Scope = State.Scope, ExpiresAt = State.ExpiresAt, MayAct = State.MayAct }
                : new ProofCheck { Valid = false, Detail = $"session '{State.SessionId}' is not active" };
        }
    }

    public Task<GrantResult<CredentialInfo>> GetAsync(CancellationToken cancellationToken) =>
        ReadDurableAsync(() => Exists ? Describe(Now) : NotFound());

    public Task<TokenIntrospection> IntrospectAsync(byte[] secret, CancellationToken cancellationToken) =>
        IntrospectPresentedAsync(secret, TokenPresentation.None, cancellationToken);

    public async Task<TokenIntrospection> IntrospectPresentedAsync(byte[] secret, TokenPresentation presentation, CancellationToken cancellationToken)
    {
        // A wrong secret learns exactly what an unknown credential would: nothing.
        if (!Exists || secret is null || !CredentialToken.Verify(secret, State.SecretHash))
        {
            return TokenIntrospection.Unknown(DecisionReason.UnknownCredential, Now);
        }
        try
        {
            // Whoever presents a bound token without its proof, or a token at another resource, learns nothing about it either.
            if ((State.ConfirmationThumbprint is not null || State.Audience is not null) && await CheckPresentationAsync(secret, presentation) is { } refused)
            {
                return TokenIntrospection.Unknown(refused.Reason, Now);
            }
            return await IntrospectLiveAsync();
        }
        catch (Exception exception)
        {
            LogDecisionFailed(Logger, exception, Key);
            return Introspection(DecisionReason.Error);
        }
    }

    // The same checks a decision makes before policy: the credential, its session, its task chain and every
    // agent along it (from their leases while these run).
    private async Task<TokenIntrospection> IntrospectLiveAsync()
    {
        var now = Now;
        if (Unsettled)
        {
            return Introspection(DecisionReason.Error);
        }
        if (State.Status == CredentialStatus.Revoked)
        {
            return Introspection(DecisionReason.CredentialRevoked);
        }
        if (!IsLive(now))
        {
            return Introspection(DecisionReason.CredentialExpired);
        }
        var (chainLease, session) = await GetLeasesAsync(now);
        var chain = chainLease.Check;
        if (chain.Reason == DecisionReason.AgentNotActive)
        {
            return Introspection(DecisionReason.AgentNotActive);
        }
        if (!session.Usable)
        {
            return Introspection(DecisionReason.SessionNotActive);
        }
        if (!chain.Usable)
        {
            return Introspection(chain.Reason);
        }
        if (SiloLeaseLapsed() is not null)
        {
            return Introspection(DecisionReason.Error);
        }
        // The credential itself may have ended while the others were asked.
        if (!IsLive(Now))
        {
            return Introspection(State.Status == CredentialStatus.Revoked ? DecisionReason.CredentialRevoked : DecisionReason.CredentialExpired);
        }
        return Introspection(DecisionReason.Allowed);
    }

    private TokenIntrospection Introspection(DecisionReason reason) => new()
    {
        Active = reason == DecisionReason.Allowed,
        Reason = reason,
        CredentialId = Key,
        TaskId = State.TaskId,
        Agent = State.Agent,
        SessionId = State.SessionId,
        Scope = State.Scope,
        IssuedAt = State.IssuedAt,
        ExpiresAt = State.ExpiresAt,
        ObservedAt = Now,
    };

    public async Task<GrantResult<CredentialInfo>> RevokeAsync(string reason, CancellationToken cancellationToken)
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
        // One that had already expired (perhaps not yet enacted) stays expired: it was never revoked.
        var expired = State.Status == CredentialStatus.Expired || (State.Status == CredentialStatus.Active && Now >= State.ExpiresAt);
        if (State.Status == CredentialStatus.Active)
        {
            if (!await EndCredentialAsync(expired ? CredentialStatus.Expired : CredentialStatus.Revoked, expired ? "lifetime ended" : text.Value))
            {
                return Unavailable("the revocation");
            }
            GrainFactory.GetGrainByKey<ISessionLifecycleGrain>(State.SessionId).CredentialEndedAsync(Key).Ignore();
        }
        // Found already ended, or just ended: answered only once the end is durable and this silo a live member.
        if (!await PutEndInForceAsync())
        {
            return Unavailable("the revocation");
        }
        if (expired)
        {
            return GrantResult<CredentialInfo>.Fail(GrantErrorCode.AlreadyEnded, $"Credential '{ShownKey}' had already expired at {State.ExpiresAt:O}; it was not revoked. It is not usable either way.", target: ShownKey);
        }
        return Describe(Now);
    }

    public Task EndFromAboveAsync(string reason) => EndFromAboveAsync(null, reason);

    public Task EndBecauseAsync(DecisionReason cause, string reason) => EndFromAboveAsync(cause, reason);

    private async Task EndFromAboveAsync(DecisionReason? cause, string reason)
    {
        // A credential id recorded by a session whose creation never finished: nothing to end. Storage is read again
        // first: the session writes the record, so this activation may predate it.
        if (!await ExistsInStorageAsync() || (State.Status != CredentialStatus.Active && await DurableAsync() && State.Status != CredentialStatus.Active))
        {
            return;
        }
        // One whose own lifetime had run out first (while no silo ran, say) expired; it was not revoked.
        var ended = Now >= State.ExpiresAt
            ? await EndCredentialAsync(CredentialStatus.Expired, "lifetime ended")
            : await EndCredentialAsync(CredentialStatus.Revoked, reason, cause);
        if (!ended)
        {
            throw new InvalidOperationException($"Credential '{ShownKey}' could not durably record its end; the caller retries.");
        }
    }

    public Task EnactExpiryAsync() => TickAsync();

    protected override DateTimeOffset? NextDue(DateTimeOffset now) =>
        State.Status == CredentialStatus.Active ? State.ExpiresAt : null;

    protected override async Task OnTickAsync()
    {
        if (State.Status == CredentialStatus.Active && Now >= State.ExpiresAt && await EndCredentialAsync(CredentialStatus.Expired, "lifetime ended"))
        {
            GrainFactory.GetGrainByKey<ISessionLifecycleGrain>(State.SessionId).CredentialEndedAsync(Key).Ignore();
        }
    }

    private async Task<bool> EndCredentialAsync(CredentialStatus status, string reason, DecisionReason? cause = null)
    {
        State.Status = status;
        State.StatusReason = reason;
        State.EndCause = cause;
        // An expiry ended the credential when it happened, not when a tick (perhaps after a restart) enacted it.
        State.EndedAt = status == CredentialStatus.Expired ? State.ExpiresAt : Now;
        // Not written, but storage (read back) may show that it was: then the end stands.
        if (!await TryWriteAsync() && (Unsettled || State.Status == CredentialStatus.Active))
        {
            return false;
        }
        LogCredentialEnded(Logger, Key, status, reason);
        await Audited.RecordAsync(status == CredentialStatus.Expired ? AuditEventKind.CredentialExpired : AuditEventKind.CredentialRevoked, r => CredentialLineage(r) with
        {
            Cause = reason,
            CauseId = cause switch
            {
                DecisionReason.SessionNotActive => State.SessionId,
                DecisionReason.TaskRevoked or DecisionReason.TaskCompleted or DecisionReason.TaskExpired => State.TaskId,
                _ => null,
            },
        });
        await ScheduleAsync();
        return true;
    }

    private Decision DenyEndedMeanwhile() =>
        State.Status == CredentialStatus.Revoked
            ? DenyEnded()
            : Deny(DecisionReason.CredentialExpired, "The credential ended while the request was being decided.");

    // A revoked credential is denied for what ended it: its own revocation, or its task's or session's end.
    private Decision DenyEnded() =>
        State.EndCause is { } cause
            ? Deny(cause, $"The credential ended: {State.StatusReason}.")
            : Deny(DecisionReason.CredentialRevoked, $"The credential was revoked: {State.StatusReason}");

    // Compared against when no credential exists, so an unknown id costs what a wrong secret costs.
    private static readonly byte[] NoSecretHash = new byte[32];

    // Whoever holds a wrong secret learns nothing about the credential's task or agent.
    private Decision Deny(DecisionReason reason, string detail)
    {
        // Nor does whoever presents a token without its key or at another resource (a thief, say).
        var reveal = Exists && reason is not (DecisionReason.InvalidSecret or DecisionReason.UnknownCredential
            or DecisionReason.DpopProofInvalid or DecisionReason.DpopNonceRequired or DecisionReason.AudienceMismatch);
        return new()
        {
            Kind = DecisionKind.Deny,
            Reason = reason,
            Detail = detail,
            CredentialId = Key,
            TaskId = reveal ? State.TaskId : null,
            Agent = reveal ? State.Agent : null,
            DecidedAt = Now,
        };
    }

    private GrantResult<CredentialInfo> NotFound() =>
        GrantResult<CredentialInfo>.Fail(GrantErrorCode.CredentialNotFound, $"Credential '{ShownKey}' does not exist.", target: ShownKey);

    private CredentialInfo Describe(DateTimeOffset now) => new()
    {
        CredentialId = Key,
        TaskId = State.TaskId,
        Agent = State.Agent,
        SessionId = State.SessionId,
        Scope = State.Scope,
        IssuedAt = State.IssuedAt,
        ExpiresAt = State.ExpiresAt,
        Status = State.Status == CredentialStatus.Active && now >= State.ExpiresAt ? CredentialStatus.Expired : State.Status,
        StatusReason = State.StatusReason,
        ObservedAt = now,
        EndedAt = State.EndedAt ?? (State.Status == CredentialStatus.Active && now >= State.ExpiresAt ? State.ExpiresAt : null),
        Audience = State.Audience,
        KeyThumbprint = State.ConfirmationThumbprint,
    };

    [LoggerMessage(EventId = (int)LogEvents.CredentialEnded, Level = LogLevel.Debug, Message = "Credential {CredentialId} ended as {Status}: {Reason}")]
    private static partial void LogCredentialEnded(ILogger logger, string credentialId, CredentialStatus status, string reason);

    [LoggerMessage(EventId = (int)LogEvents.TokenRefused, Level = LogLevel.Debug, Message = "Token for credential {CredentialId} refused: {Why}")]
    private static partial void LogTokenRefused(ILogger logger, string credentialId, string why);

    [LoggerMessage(EventId = (int)LogEvents.TokenPresentationRefused, Level = LogLevel.Information, Message = "Token for credential {CredentialId} refused as presented: {Why}")]
    private static partial void LogPresentationRefused(ILogger logger, string credentialId, string why);

    [LoggerMessage(EventId = (int)LogEvents.DecisionNotAudited, Level = LogLevel.Error, Message = "Decision on credential {CredentialId} could not be audited ({Problem}); denied")]
    private static partial void LogDecisionNotAudited(ILogger logger, string credentialId, string problem);

    [LoggerMessage(EventId = (int)LogEvents.DecisionFailed, Level = LogLevel.Error, Message = "Decision on credential {CredentialId} failed; denied")]
    private static partial void LogDecisionFailed(ILogger logger, Exception exception, string credentialId);
}
