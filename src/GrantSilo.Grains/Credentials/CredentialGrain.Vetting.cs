using GrantSilo.Grains.Access;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Indexes;

namespace GrantSilo.Grains.Credentials;

// Defence in depth for a new credential: its spec arrives over an internal interface, and is checked here as if
// anyone could have sent it. A credential is never wider than its task, never outlives it, belongs to the task's
// agent, and was issued by a live session of that agent that indexed it for that task.
internal sealed partial class CredentialGrain
{
    private const int SecretHashLength = 32;

    /// <summary>
    /// True when the spec carries the issuing session's keyed word (<see cref="CredentialSpec.IssuerProof"/>) for this
    /// credential and its task: only a silo can make it (a client has not the cluster's key), and the session makes it for
    /// its own issuance alone.
    /// </summary>
    private bool IssuedBySession(CredentialSpec? spec) =>
        spec is { IssuedUnder: not null, IssuerProof: { } proof, SessionId: { } sessionId, TaskId: { } taskId }
        && IndexedIds.IsCompact(sessionId)
        && clusterKey.IsIssuedBy(proof, sessionId, Key, taskId);

    /// <summary>
    /// The spec with its scope in canonical form, or the refusal. <paramref name="fromSession"/>: the issuing session
    /// itself sent it (<see cref="IssuedBySession"/>), so its word on itself and on the task it has just attached to
    /// is taken; anyone else's spec is checked with the task and the session.
    /// </summary>
    private async Task<GrantResult<CredentialSpec>> VetSpecAsync(CredentialSpec? spec, bool fromSession)
    {
        if (spec is null)
        {
            return Refused(GrantErrorCode.InvalidArgument, "A credential spec is required.");
        }
        if (!IndexedIds.IsCompact(spec.TaskId) || !IndexedIds.IsCompact(spec.SessionId))
        {
            return Refused(GrantErrorCode.InvalidIdentifier, "The credential's task or session id is not an id.");
        }
        if (spec.SecretHash is not { Length: SecretHashLength })
        {
            return Refused(GrantErrorCode.InvalidArgument, $"A credential's secret hash is {SecretHashLength} bytes (SHA-256).");
        }
        var scope = Scope.Validate(spec.Scope);
        if (!scope.IsSuccess)
        {
            return scope.Error;
        }
        var now = Now;
        // The issuing session's clock may differ a little from this silo's (GrantSiloTime.SpecClockSkew).
        if (spec.ExpiresAt <= spec.IssuedAt || spec.ExpiresAt - spec.IssuedAt > Options.MaxCredentialLifetime
            || spec.IssuedAt > now + GrantSiloTime.SpecClockSkew || spec.ExpiresAt - now > Options.MaxCredentialLifetime + GrantSiloTime.SpecClockSkew)
        {
            return Refused(GrantErrorCode.LifetimeInvalid, $"A credential's lifetime must be positive and at most {Options.MaxCredentialLifetime} ({GrantSiloOptions.SectionName}:{nameof(GrantSiloOptions.MaxCredentialLifetime)}); this one is issued {spec.IssuedAt:O} and expires {spec.ExpiresAt:O}.");
        }

        TaskFacts task;
        CredentialVoucher? session = null;
        if (fromSession)
        {
            // The session is issuing (so it is live), indexed this credential before this call (so its end reaches it),
            // and read these facts from the task in the same issuance. Asking either again would only ask the session
            // about itself; a task that ends meanwhile reaches this credential through the session's index, and every
            // decision checks the task chain anyway.
            task = spec.IssuedUnder!;
        }
        else
        {
            // Its task and its session are asked, in parallel; both interleave, so a session busy creating this
            // credential answers.
            var taskFacts = GrainFactory.GetGrain<ITaskLifecycleGrain>(spec.TaskId).GetFactsAsync(null);
            var voucher = GrainFactory.GetGrain<ISessionLifecycleGrain>(spec.SessionId).VouchForAsync(Key);
            await Task.WhenAll(taskFacts, voucher);
            task = await taskFacts;
            session = await voucher;
        }

        _issuedUnder = task;
        if (!task.Exists)
        {
            return Refused(GrantErrorCode.TaskNotFound, $"Task '{Untrusted.Id(spec.TaskId)}' does not exist.");
        }
        if (!task.Self.Usable)
        {
            return Refused(GrantErrorCode.TaskNotUsable, task.Self.Explain());
        }
        if (spec.Agent != task.Agent)
        {
            return Refused(GrantErrorCode.TaskNotAssignedToAgent, $"Task '{Untrusted.Id(spec.TaskId)}' is not assigned to agent '{Untrusted.Id(spec.Agent)}'.");
        }
        if (scope.Value.FindExcess(task.Scope) is { } excess)
        {
            return Refused(GrantErrorCode.ScopeExceedsParent, $"The credential's scope is wider than task '{Untrusted.Id(spec.TaskId)}' allows.", excess);
        }
        if (spec.ExpiresAt > task.ExpiresAt)
        {
            return Refused(GrantErrorCode.LifetimeInvalid, $"A credential ends no later than its task '{Untrusted.Id(spec.TaskId)}' ({task.ExpiresAt:O}); this one would end at {spec.ExpiresAt:O}.");
        }
        if (session is null)
        {
            return spec with { Scope = scope.Value, IssuedUnder = null, IssuerProof = null };
        }
        if (!session.Usable)
        {
            return Refused(GrantErrorCode.SessionNotActive, $"Session '{Untrusted.Id(spec.SessionId)}' is not active.");
        }
        // The session recorded this credential, for this task and no later expiry, before creating it: a
        // credential no session indexed would escape the session's end.
        if (session.Agent != task.Agent || session.Indexed is not { } indexed || indexed.TaskId != spec.TaskId || spec.ExpiresAt > indexed.ExpiresAt)
        {
            return Refused(GrantErrorCode.InvalidArgument, $"Session '{Untrusted.Id(spec.SessionId)}' of agent '{Untrusted.Id(session.Agent)}' did not issue credential '{ShownKey}' for task '{Untrusted.Id(spec.TaskId)}' until {spec.ExpiresAt:O}.");
        }
        return spec with { Scope = scope.Value, IssuedUnder = null, IssuerProof = null };

        GrantResult<CredentialSpec> Refused(GrantErrorCode code, string message, string? permission = null) =>
            GrantResult<CredentialSpec>.Fail(code, message, permission, ShownKey);
    }
}
