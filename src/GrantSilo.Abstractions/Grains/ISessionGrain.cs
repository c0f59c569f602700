using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>
/// An agent's session, keyed by session id. Sessions are opened through their agent
/// (<see cref="IAgentGrain.OpenSessionAsync"/>), which chooses the id.
/// </summary>
[Alias("grantsilo.ISessionGrain")]
public interface ISessionGrain : IGrainWithStringKey
{
    [AlwaysInterleave, Alias("Get"), CallerOperation(CallerOperations.SessionRead)]
    Task<GrantResult<SessionInfo>> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Issues a short-lived credential for a task the session's agent is assigned to.</summary>
    [Alias("IssueCredential"), CallerOperation(CallerOperations.CredentialIssue)]
    Task<GrantResult<IssuedCredential>> IssueCredentialAsync(IssueCredentialRequest request, CancellationToken cancellationToken = default);

    /// <summary>Ends the session and every credential issued in it.</summary>
    [Alias("End"), CallerOperation(CallerOperations.SessionEnd)]
    Task<GrantResult<SessionInfo>> EndAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>The live credentials issued in this session, a page at a time, ordered by credential id.</summary>
    [AlwaysInterleave, Alias("ListCredentials"), CallerOperation(CallerOperations.SessionRead)]
    Task<GrantResult<Page<CredentialInfo>>> ListCredentialsAsync(string? continuationToken = null, int? pageSize = null, CancellationToken cancellationToken = default);
}
