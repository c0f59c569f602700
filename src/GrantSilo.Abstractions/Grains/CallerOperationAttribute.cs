namespace GrantSilo.GrainInterfaces;

/// <summary>
/// Marks a grain interface method as open to callers outside the cluster, naming the operation the access
/// rules decide for it (<c>Access::Action::"task.revoke"</c>). A method without it is internal: a silo refuses
/// it to every cluster client, whatever the call carries.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class CallerOperationAttribute(string operation) : Attribute
{
    /// <summary>The operation's name in the access rules, for example <c>task.revoke</c>.</summary>
    public string Operation { get; } = operation;
}

/// <summary>The operations callers may ask for; the access rules (Cedar) decide who may do each.</summary>
public static class CallerOperations
{
    public const string AgentRegister = "agent.register";
    public const string AgentRead = "agent.read";
    public const string AgentSuspend = "agent.suspend";
    public const string AgentResume = "agent.resume";
    public const string AgentRetire = "agent.retire";
    public const string SessionOpen = "session.open";
    public const string TaskCreate = "task.create";
    public const string TaskDelegate = "task.delegate";
    public const string TaskRead = "task.read";
    public const string TaskReauthorize = "task.reauthorize";
    public const string TaskRevoke = "task.revoke";
    public const string TaskComplete = "task.complete";
    public const string SessionRead = "session.read";
    public const string SessionEnd = "session.end";
    public const string CredentialIssue = "credential.issue";
    public const string CredentialRead = "credential.read";
    public const string CredentialRevoke = "credential.revoke";
    public const string CredentialAuthorize = "credential.authorize";
    public const string CredentialIntrospect = "credential.introspect";
    public const string ApprovalRead = "approval.read";
    public const string ApprovalDecide = "approval.decide";
    public const string ApprovalWatch = "approval.watch";
    public const string PolicyPublish = "policy.publish";
    public const string PolicyRead = "policy.read";
    public const string CascadeRead = "cascade.read";
    public const string CatalogPublish = "catalog.publish";
    public const string CatalogRead = "catalog.read";
    /// <summary>Publishing a new version of the access rules themselves (<see cref="IAccessRulesGrain"/>).</summary>
    public const string AccessPublish = "access.publish";
    /// <summary>Reading the access rules' versions.</summary>
    public const string AccessRead = "access.read";
    /// <summary>Orleans' management grain (cluster hosts, activation counts, forced collection).</summary>
    public const string ClusterManage = "cluster.manage";

    /// <summary>Reads, follows, verifies and exports the audit log (operators and auditors).</summary>
    public const string AuditRead = "audit.read";
}

/// <summary>
/// A call refused before it reached the grain because the caller did not authenticate or may not call it,
/// for methods whose result cannot carry a <see cref="GrantError"/> (the SDK turns it into one).
/// </summary>
[GenerateSerializer, Alias("grantsilo.caller-refused")]
public sealed class CallerRefusedException : Exception
{
    public CallerRefusedException(GrantErrorCode code, string message) : base(message) => Code = code;

    /// <summary><see cref="GrantErrorCode.Unauthenticated"/>, <see cref="GrantErrorCode.Forbidden"/> or <see cref="GrantErrorCode.RateLimited"/>.</summary>
    [Id(0)] public GrantErrorCode Code { get; }

    /// <summary>For <see cref="GrantErrorCode.RateLimited"/>, how long until the caller may call again.</summary>
    [Id(1)] public TimeSpan? RetryAfter { get; init; }
}

/// <summary>
/// A caller's proof carried as an argument of a hot method (Authorize) rather than in the request context: an
/// Orleans call with any request context costs measurably more than one without. The door reads it before the
/// method runs; the method itself ignores it. Exactly one of <see cref="Token"/> and <see cref="Reference"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.caller-proof")]
public sealed record CallerProof
{
    /// <summary>The caller's token, as its UTF-8 bytes (<see cref="CallerHeaders.Encode"/>).</summary>
    [Id(0)] public byte[]? Token { get; init; }

    /// <summary>The SHA-256 of a token sent before (<see cref="CallerHeaders.TokenReference"/>).</summary>
    [Id(1)] public byte[]? Reference { get; init; }

    /// <inheritdoc />
    public override string ToString() => "CallerProof(****)";
}

/// <summary>Where a call carries its caller's proof (an Orleans request-context entry).</summary>
public static class CallerHeaders
{
    /// <summary>
    /// The caller's bearer token (a JWT-SVID or an OIDC token), as its UTF-8 bytes (<see cref="Encode"/>). The SDK
    /// sets it on every call.
    /// </summary>
    public const string Token = "grantsilo.caller";

    /// <summary>
    /// Instead of <see cref="Token"/>: the SHA-256 of a token this client sent before. A silo that verified that token
    /// (and still holds the verification) takes it as the token; any other answers <see cref="ResendToken"/>, and the
    /// SDK sends the token itself. Only a holder of the token can compute it, so it proves no less.
    /// </summary>
    public const string TokenReference = "grantsilo.caller.ref";

    /// <summary>The refusal (a <see cref="GrantError.DetailCode"/>, or a message) that asks for the token itself.</summary>
    public const string ResendToken = "caller-token-unknown-here";

    /// <summary>A token as a call carries it.</summary>
    public static byte[] Encode(string token) => System.Text.Encoding.UTF8.GetBytes(token);

    /// <summary>A token's reference (<see cref="TokenReference"/>).</summary>
    public static byte[] Reference(byte[] encoded) => System.Security.Cryptography.SHA256.HashData(encoded);
}
