using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace GrantSilo.Grains.Credentials;

/// <summary>
/// Writes a new credential's durable record, for the session that issues it. The record is the credential grain's own
/// state, written through the grain's own storage under its own name, so the grain finds it when it first activates
/// (on the token's first use, its first end, or a lookup): issuing a credential activates nothing and calls nothing.
/// </summary>
/// <remarks>
/// The write creates the record and nothing else: it carries no ETag, so a storage that already holds a record for
/// that id refuses it (<see cref="InconsistentStateException"/>) rather than overwriting. A credential id is 128
/// random bits drawn by the issuing session, so that refusal means a broken random source, and issuance fails.
/// </remarks>
internal sealed class CredentialRecords([FromKeyedServices(GrantSiloStorage.Name)] IGrainStorage storage, IGrainFactory grains)
{
    /// <summary>
    /// Creates credential <paramref name="credentialId"/>'s record. Throws when it is not known to be durable (the
    /// storage failed, or refused a record that exists already); the caller then returns no token.
    /// </summary>
    public Task CreateAsync(string credentialId, CredentialState record)
    {
        var grainId = grains.GetGrainIdByKey<ICredentialLifecycleGrain>(credentialId);
        return storage.WriteStateAsync(CredentialGrain.StateName, grainId, new GrainState<CredentialState>(record));
    }
}
