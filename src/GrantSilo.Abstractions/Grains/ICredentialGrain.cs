using Orleans.Concurrency;

namespace GrantSilo.Grains;

/// <summary>A credential, keyed by its id (the token's <c>jti</c>).</summary>
[Alias("grantsilo.ICredentialGrain")]
public interface ICredentialGrain : IGrainWithStringKey
{
    /// <summary>
    /// Decides whether the holder of the token whose secret is <paramref name="secret"/> may do
    /// <paramref name="action"/> on <paramref name="resource"/> now. Any error is a deny.
    /// </summary>
    [AlwaysInterleave, Alias("Authorize")]
    Task<Decision> AuthorizeAsync(byte[] secret, string action, ResourceRef resource);

    [AlwaysInterleave, Alias("Get")]
    Task<GrantResult<CredentialInfo>> GetAsync();

    /// <summary>Revokes this credential only.</summary>
    [Alias("Revoke")]
    Task<GrantResult<CredentialInfo>> RevokeAsync(string reason);
}
