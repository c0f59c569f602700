using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>An agent's session, keyed by session id.</summary>
[Alias("grantsilo.ISessionGrain")]
public interface ISessionGrain : IGrainWithStringKey
{
    [Alias("Open")]
    Task<GrantResult<SessionInfo>> OpenAsync(OpenSessionRequest request, CancellationToken cancellationToken = default);

    [AlwaysInterleave, Alias("Get")]
    Task<GrantResult<SessionInfo>> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Issues a short-lived credential for a task the session's agent is assigned to.</summary>
    [Alias("IssueCredential")]
    Task<GrantResult<IssuedCredential>> IssueCredentialAsync(IssueCredentialRequest request, CancellationToken cancellationToken = default);

    /// <summary>Ends the session and every credential issued in it.</summary>
    [Alias("End")]
    Task<GrantResult<SessionInfo>> EndAsync(string reason, CancellationToken cancellationToken = default);
}
