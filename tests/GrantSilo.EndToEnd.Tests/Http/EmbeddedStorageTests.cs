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
        // A started silo has written state already (its signing keys, the policy and access-rule versions): through it.
        Assert.True(storage.Count > 0, "No grain state was written to the embedded default's storage.");
    }
}
