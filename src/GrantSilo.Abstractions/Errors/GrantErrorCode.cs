namespace GrantSilo;

/// <summary>
/// What went wrong with a request, as a code a program can switch on. Values are stable: they are
/// persisted in audit records and serialized between silos and clients.
/// </summary>
public enum GrantErrorCode
{
    /// <summary>An argument was missing, empty or malformed.</summary>
    InvalidArgument = 1,
    /// <summary>An identifier (agent, person, task, session) is empty, too long, or holds forbidden characters.</summary>
    InvalidIdentifier = 2,
    /// <summary>A scope or permission could not be parsed or holds forbidden characters.</summary>
    InvalidScope = 3,
    /// <summary>A scope has more permissions, or a permission is longer, than the limits allow.</summary>
    ScopeTooLarge = 4,
    /// <summary>A requested permission or limit is not within the parent task's (or the task's) scope.</summary>
    ScopeExceedsParent = 5,
    /// <summary>A requested permission or limit is not within the agent's ceiling scope.</summary>
    ScopeExceedsCeiling = 6,
    /// <summary>
    /// No longer returned: a lifetime that would end after its parent task (or task, or session) is capped to
    /// it and the effective expiry returned. Kept so the value keeps its meaning in stored records.
    /// </summary>
    LifetimeExceedsParent = 7,
    /// <summary>The requested lifetime is zero, negative, or longer than the configured maximum (the message names the setting).</summary>
    LifetimeInvalid = 8,
    /// <summary>The parent task's scope does not allow delegation.</summary>
    DelegationForbidden = 9,
    /// <summary>The delegation chain would be deeper than the configured limit.</summary>
    DepthLimitExceeded = 10,
    /// <summary>The parent task already has the maximum number of children.</summary>
    FanOutLimitExceeded = 11,
    /// <summary>No agent is registered under that workload id.</summary>
    AgentNotFound = 12,
    /// <summary>An agent is already registered under that workload id with different settings.</summary>
    AgentAlreadyExists = 13,
    /// <summary>The agent is suspended or retired.</summary>
    AgentNotActive = 14,
    /// <summary>No task exists with that id.</summary>
    TaskNotFound = 15,
    /// <summary>A task already exists with that id.</summary>
    TaskAlreadyExists = 16,
    /// <summary>The task (or one of its ancestors) is not usable now: ended, expired or awaiting re-authorization.</summary>
    TaskNotUsable = 17,
    /// <summary>The task is not assigned to the calling agent.</summary>
    TaskNotAssignedToAgent = 18,
    /// <summary>No session exists with that id.</summary>
    SessionNotFound = 19,
    /// <summary>The session has ended, expired or gone idle.</summary>
    SessionNotActive = 20,
    /// <summary>No credential exists with that id.</summary>
    CredentialNotFound = 21,
    /// <summary>The proof credential is malformed, forged, not live, or not a credential of the parent task.</summary>
    InvalidProof = 22,
    /// <summary>The operation does not apply to the object's current state (for example completing a revoked task).</summary>
    InvalidState = 23,
    /// <summary>GrantSilo could not complete the operation (storage or cluster failure); nothing was changed or it is safe to retry.</summary>
    Unavailable = 24,
    /// <summary>Policy text could not be parsed; <see cref="GrantError.Position"/> says where and <see cref="GrantError.DetailCode"/> says what (the Cedar parse error code).</summary>
    PolicyInvalid = 25,
    /// <summary>The active policy no longer permits a permission of the task's scope; <see cref="GrantError.Permission"/> names it.</summary>
    PolicyForbidsScope = 26,
    /// <summary>No approval exists with that id.</summary>
    ApprovalNotFound = 27,
    /// <summary>The approval was already decided, used, or has expired.</summary>
    ApprovalNotPending = 28,
    /// <summary>The approver may not decide this approval (for example the agent approving its own request).</summary>
    ApproverNotAllowed = 29,
    /// <summary>
    /// A Cedar schema could not be parsed (<see cref="GrantError.Position"/> and <see cref="GrantError.DetailCode"/> say
    /// where and what), drops a declaration GrantSilo's decisions rely on, or would make the active policy set invalid.
    /// </summary>
    SchemaInvalid = 30,
    /// <summary>A published policy set exceeds a size or cost limit; the message names the limit and its setting.</summary>
    PolicyTooCostly = 31,
    /// <summary>
    /// A configured limit on live objects is reached (tasks or sessions of an agent, sessions of a task, credentials
    /// of a session, approval subscriptions, pending approvals, listed cascades); the message names the limit and its
    /// setting. Ended objects do not count: end some, or raise the setting.
    /// </summary>
    QuotaExceeded = 32,
    /// <summary>
    /// A request to end something (revoke or complete a task, revoke a credential, end a session) found it
    /// already ended another way — a task completed or expired, a credential or session expired — and
    /// changed nothing. The message says how and when it ended. It is not usable either way, its end is in
    /// force, and calling again is safe (an end request that finds the same end already made succeeds).
    /// </summary>
    AlreadyEnded = 33,
    /// <summary>No record with the id asked for is in the audit log (docs/audit.md).</summary>
    AuditRecordNotFound = 34,

    /// <summary>
    /// The call carried no caller token, or one that does not verify (signature, issuer, audience, lifetime,
    /// trust domain). Nothing was done. The message says which check failed, never the token.
    /// </summary>
    Unauthenticated = 40,

    /// <summary>
    /// The caller is authenticated but may not do this: the message names what is missing, a role or a
    /// relation to the target. A caller who may not read a target is told the same whether it exists or not.
    /// </summary>
    Forbidden = 41,

    /// <summary>
    /// The caller made more calls than its rate allows (through a silo's gateway: <c>GrantSilo:Callers:PermitsPerSecond</c>
    /// and <c>Burst</c>). Nothing was done; <see cref="GrantError.RetryAfter"/> says when to retry.
    /// </summary>
    RateLimited = 42,
}
