namespace GrantSilo;

/// <summary>What an audit record is about (docs/audit.md). Values are stored: never renumber one.</summary>
public enum AuditEventKind
{
    /// <summary>Unset; never stored.</summary>
    None = 0,
    /// <summary>An authorization decision: allow, deny or step-up.</summary>
    Decision = 1,
    /// <summary>
    /// A decision whose record was made durable only after its caller had been denied for want of it
    /// (<see cref="DecisionReason.AuditUnavailable"/>): names the decision id and says the allow was never returned.
    /// </summary>
    DecisionWithdrawn = 2,
    AgentRegistered = 10,
    AgentSuspended = 11,
    AgentResumed = 12,
    AgentRetired = 13,
    TaskCreated = 20,
    TaskDelegated = 21,
    TaskCheckpointed = 22,
    TaskReauthorized = 23,
    TaskCompleted = 24,
    TaskRevoked = 25,
    TaskExpired = 26,
    SessionOpened = 30,
    SessionEnded = 31,
    CredentialIssued = 40,
    CredentialRevoked = 41,
    CredentialExpired = 42,
    ApprovalRequested = 50,
    ApprovalGranted = 51,
    ApprovalDenied = 52,
    ApprovalTimedOut = 53,
    PolicyPublished = 60,
    SchemaPublished = 61,
    CatalogPublished = 62,
    AccessRulesPublished = 63,
    /// <summary>A caller was refused at the door: unauthenticated, or forbidden by the access rules.</summary>
    CallerRefused = 70,
    /// <summary>A signed checkpoint over its stream up to the record before it.</summary>
    Checkpoint = 90,
    /// <summary>A stream was reopened after an unclean stop; says what an unfinished (never acknowledged) write left behind.</summary>
    StreamReopened = 91,
    /// <summary>
    /// Records the full queue refused (so were never written) since the last such record: how many of each kind, and
    /// between when. Written as soon as the queue has room again, so the log says what it is missing.
    /// </summary>
    RecordsDropped = 92,
    /// <summary>
    /// A signed statement that retention removed a stream's oldest records: the stream is kept from the record after this
    /// one's sequence number, and that record links to this one's hash. Kept by the store apart from the stream and read
    /// back as the stream's first line (docs/audit.md, "Retention").
    /// </summary>
    RetentionCut = 93,
}

/// <summary>
/// One audit record: the lineage of a decision or a lifecycle event. Never holds a token or secret (a value derived
/// from a token is a keyed hash, <see cref="TokenHash"/>) and never a task's purpose text.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.audit-record")]
public sealed record AuditRecord
{
    /// <summary>The record's id; for a decision, the decision id returned with it.</summary>
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required AuditEventKind Kind { get; init; }
    [Id(2)] public required DateTimeOffset At { get; init; }
    /// <summary>The silo that made the record.</summary>
    [Id(3)] public string? Silo { get; init; }
    /// <summary>The accountable person at the root of the task chain.</summary>
    [Id(4)] public string? RootPerson { get; init; }
    /// <summary>The orchestrator that created the root task.</summary>
    [Id(5)] public string? Orchestrator { get; init; }
    /// <summary>The task chain, root first; the record's own task (<see cref="TaskId"/>) last.</summary>
    [Id(6)] public IReadOnlyList<string> TaskChain { get; init; } = [];
    [Id(7)] public string? TaskId { get; init; }
    [Id(8)] public string? Agent { get; init; }
    [Id(9)] public string? SessionId { get; init; }
    [Id(10)] public string? CredentialId { get; init; }
    /// <summary>The keyed hash (HMAC-SHA-256 under the audit hash key) of the credential token presented, so a holder of the token can find its records.</summary>
    [Id(11)] public string? TokenHash { get; init; }
    /// <summary>The authenticated caller who acted: its issuer, subject and name.</summary>
    [Id(12)] public string? CallerIssuer { get; init; }
    [Id(13)] public string? CallerSubject { get; init; }
    [Id(14)] public string? CallerName { get; init; }
    [Id(15)] public string? Action { get; init; }
    [Id(16)] public string? ResourceType { get; init; }
    [Id(17)] public string? ResourcePath { get; init; }
    [Id(18)] public DecisionKind? Decision { get; init; }
    [Id(19)] public DecisionReason? Reason { get; init; }
    /// <summary>A sentence for people: the decision's detail, or what happened.</summary>
    [Id(20)] public string? Detail { get; init; }
    [Id(21)] public IReadOnlyList<string> DeterminingPolicies { get; init; } = [];
    [Id(22)] public long? PolicyVersion { get; init; }
    [Id(23)] public string? ApprovalId { get; init; }
    /// <summary>Why a lifecycle event happened: the reason given, or the cascade that ended this node.</summary>
    [Id(24)] public string? Cause { get; init; }
    /// <summary>The node whose end caused this one (a cascade), or the decision a withdrawal names.</summary>
    [Id(25)] public string? CauseId { get; init; }
    /// <summary>The id of what the record is about when it is none of the above (a policy version, a refused operation's target).</summary>
    [Id(26)] public string? Subject { get; init; }
}

/// <summary>
/// An audit record as stored: its place in its stream and its link in the hash chain. <see cref="Body"/> is the
/// record's JSON exactly as hashed; <see cref="Hash"/> = SHA-256(<see cref="PreviousHash"/> + "\n" + <see cref="Body"/>),
/// hex. A checkpoint carries an ECDSA P-256 signature over its stream, sequence number and hash
/// (<see cref="AuditChain.CheckpointPayload"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.audit-entry")]
public sealed record AuditEntry
{
    [Id(0)] public required string Stream { get; init; }
    [Id(1)] public required long Sequence { get; init; }
    [Id(2)] public required string PreviousHash { get; init; }
    [Id(3)] public required string Hash { get; init; }
    [Id(4)] public required string Body { get; init; }
    /// <summary>For a checkpoint: the signature (base64, IEEE P1363) over <see cref="AuditChain.CheckpointPayload"/> of its stream, sequence number and hash.</summary>
    [Id(5)] public string? Signature { get; init; }
    [Id(6)] public string? KeyId { get; init; }
    /// <summary>The record <see cref="Body"/> holds (not part of the stored line).</summary>
    [Id(7)] public required AuditRecord Record { get; init; }
}

/// <summary>
/// What to find in the audit log. Every filter given must match; none given reads everything (in stream order).
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.audit-query")]
public sealed record AuditQuery
{
    /// <summary>Records of this task and every task below it (the task tree).</summary>
    [Id(0)] public string? TaskId { get; init; }
    [Id(1)] public string? Agent { get; init; }
    [Id(2)] public string? CredentialId { get; init; }
    /// <summary>A credential token an investigator holds: its records are found by its keyed hash. Never stored or logged.</summary>
    [Id(3)] public string? Token { get; init; }
    /// <summary>A resource path; a trailing <c>/*</c> matches everything below it.</summary>
    [Id(4)] public string? Resource { get; init; }
    /// <summary>The root person.</summary>
    [Id(5)] public string? Person { get; init; }
    /// <summary>The authenticated caller's name or subject.</summary>
    [Id(6)] public string? Caller { get; init; }
    [Id(7)] public string? DecisionId { get; init; }
    [Id(8)] public AuditEventKind? Kind { get; init; }
    /// <summary>From this instant (inclusive).</summary>
    [Id(9)] public DateTimeOffset? From { get; init; }
    /// <summary>Until this instant (exclusive).</summary>
    [Id(10)] public DateTimeOffset? To { get; init; }
    [Id(11)] public int? PageSize { get; init; }
    [Id(12)] public string? ContinuationToken { get; init; }
    /// <summary>
    /// The order of the results (default <see cref="AuditOrder.OldestFirst"/>). A continuation token is only valid for the
    /// order that gave it.
    /// </summary>
    [Id(13)] public AuditOrder Order { get; init; }

    /// <summary>Never shows the token.</summary>
    public override string ToString() =>
        $"AuditQuery {{ TaskId = {TaskId}, Agent = {Agent}, CredentialId = {CredentialId}, Token = {(Token is null ? "" : "****")}, Resource = {Resource}, Person = {Person}, Caller = {Caller}, DecisionId = {DecisionId}, Kind = {Kind}, From = {From}, To = {To}, Order = {Order} }}";
}

/// <summary>The order of an audit query's results (docs/audit.md, "Reading the log"). Values travel: never renumber one.</summary>
public enum AuditOrder
{
    /// <summary>
    /// Stream order: the streams in name order, each from its first record on. The last page's continuation token is where
    /// to follow from.
    /// </summary>
    OldestFirst = 0,

    /// <summary>
    /// Newest first: every stream read from its newest record backwards, merged by record time (latest first; ties go to
    /// the stream later in name order), so a page never needs the log's older part. The last page has no continuation token.
    /// </summary>
    NewestFirst = 1,
}

/// <summary>A decision with everything that led to it: each task of its chain, its session, credential, approval, and how each ended.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.audit-lineage")]
public sealed record AuditLineage
{
    [Id(0)] public required AuditEntry Decision { get; init; }
    /// <summary>The lifecycle records of the chain's tasks, the agent, session, credential and approval, oldest first.</summary>
    [Id(1)] public IReadOnlyList<AuditEntry> Related { get; init; } = [];
}

/// <summary>What broke a hash chain.</summary>
public enum AuditBreakKind
{
    None = 0,
    /// <summary>A record's content does not match its hash (it was edited).</summary>
    HashMismatch = 1,
    /// <summary>A record does not link to the one before it (one was removed, inserted or reordered).</summary>
    BrokenLink = 2,
    /// <summary>A sequence number is missing or out of order.</summary>
    SequenceGap = 3,
    /// <summary>A segment ends in a partial record or cannot be read.</summary>
    Truncated = 4,
    /// <summary>
    /// A checkpoint's (or retention cut's) signature does not verify with any published key over its own stream, place
    /// and hash: it was forged, or copied from another stream (a genuine stream copied under another name) or place.
    /// </summary>
    BadSignature = 5,
    /// <summary>A signed checkpoint names a record that is no longer there.</summary>
    CheckpointMissing = 6,
    /// <summary>
    /// A stream's first records were removed: its first record is not record 1, and no signed retention cut says
    /// retention removed the records before it.
    /// </summary>
    StartRemoved = 7,
    /// <summary>A stream holds records but no signed checkpoint (nothing in it is signed): it may be forged whole.</summary>
    UnsignedStream = 8,
}

/// <summary>The last signed checkpoint of a stream: everything up to <see cref="Sequence"/> is signed.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.audit-checkpoint")]
public sealed record AuditCheckpoint
{
    [Id(0)] public required string Stream { get; init; }
    [Id(1)] public required long Sequence { get; init; }
    [Id(2)] public required string Hash { get; init; }
    [Id(3)] public required DateTimeOffset At { get; init; }
    [Id(4)] public required string KeyId { get; init; }
}

/// <summary>The result of verifying the audit log.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.audit-verification")]
public sealed record AuditVerification
{
    /// <summary>True when every stream's chain is whole and every checkpoint verifies.</summary>
    [Id(0)] public bool Intact { get; init; }
    [Id(1)] public long RecordsChecked { get; init; }
    [Id(2)] public int Streams { get; init; }
    /// <summary>The first broken link found, if any.</summary>
    [Id(3)] public AuditBreakKind Broken { get; init; }
    [Id(4)] public string? BrokenStream { get; init; }
    [Id(5)] public long? BrokenSequence { get; init; }
    [Id(6)] public string? Detail { get; init; }
    /// <summary>The last signed checkpoint that verified (of the stream that broke, or the newest one).</summary>
    [Id(7)] public AuditCheckpoint? LastCheckpoint { get; init; }
    /// <summary>
    /// Each stream looked at, in order: where it starts, its last signed checkpoint, and how many records follow that
    /// checkpoint unsigned.
    /// </summary>
    [Id(8)] public IReadOnlyList<AuditStreamVerification> PerStream { get; init; } = [];
}

/// <summary>What verification found in one stream.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.audit-stream-verification")]
public sealed record AuditStreamVerification
{
    [Id(0)] public required string Stream { get; init; }
    /// <summary>The first record held (1 unless retention removed older ones).</summary>
    [Id(1)] public long FirstSequence { get; init; }
    [Id(2)] public long LastSequence { get; init; }
    /// <summary>When retention removed the records before <see cref="FirstSequence"/>: the signed cut's sequence (the last one removed).</summary>
    [Id(3)] public long? RetentionCut { get; init; }
    /// <summary>The stream's last signed checkpoint that verified, or null when it has none.</summary>
    [Id(4)] public AuditCheckpoint? LastCheckpoint { get; init; }
    /// <summary>
    /// How many records follow the last signed point (its last checkpoint, else its retention cut, else its start): not
    /// signed yet, so they could be cut off or replaced without a trace until the next checkpoint.
    /// </summary>
    [Id(5)] public long Unsigned { get; init; }
}

/// <summary>A key that signs audit checkpoints, published so anyone can verify an export.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.audit-key")]
public sealed record AuditSigningKey
{
    /// <summary>base64url of the first 16 bytes of the SHA-256 of the public key (SubjectPublicKeyInfo).</summary>
    [Id(0)] public required string KeyId { get; init; }
    /// <summary>The public key, PEM (SubjectPublicKeyInfo), ECDSA P-256.</summary>
    [Id(1)] public required string PublicKeyPem { get; init; }
}
