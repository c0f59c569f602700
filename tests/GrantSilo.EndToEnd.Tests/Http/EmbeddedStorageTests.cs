using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>The embedded default keeps grain state in the silo's own memory, and its grains use it.</summary>
public sealed class EmbeddedStorageTests
{
    [Fact]
    public async Task EmbeddedProfile_KeepsGrainStateInTheSilosOwnMemory()
    {
        await using var host = await InProcessHttpHost.StartAsync();
        var storage = Assert.IsType<LocalGrainStorage>(host.Services.GetRequiredKeyedService<IGrainStorage>(GrantSiloStorage.Name));
        var before = storage.Count;

        // An agent, a task, a session and a credential, through the HTTP API: their records are written there.
        var (sessionId, token) = await host.CredentialAsync("stored");

        Assert.False(string.IsNullOrEmpty(sessionId));
        Assert.False(string.IsNullOrEmpty(token));
        Assert.True(storage.Count >= before + 4, $"The issuance wrote {storage.Count - before} records to the embedded default's storage; an agent, a task, a session and a credential at least were expected.");
    }
}
