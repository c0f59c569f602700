using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Tasks;

namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class GrainFactoryExtensionsTests(ClusterFixture fixture)
{
    [Fact]
    public void GetGrainByKey_GivesTheReferenceGetGrainGives_OnFirstAndLaterCalls()
    {
        var factory = fixture.Cluster.Client;
        foreach (var key in new[] { "s-by-key-1", "s-by-key-2", "s-by-key-3" })
        {
            var expected = (GrainReference)factory.GetGrain<ISessionGrain>(key);
            var session = (GrainReference)factory.GetGrainByKey<ISessionGrain>(key);
            var task = (GrainReference)factory.GetGrainByKey<ITaskLifecycleGrain>(key);

            Assert.Equal(expected.GrainId, session.GrainId);
            Assert.Equal(expected.InterfaceType, session.InterfaceType);
            Assert.IsAssignableFrom<ISessionGrain>(session);
            // Another interface resolves to its own grain type and interface, not the first one cached.
            Assert.Equal(((GrainReference)factory.GetGrain<ITaskLifecycleGrain>(key)).GrainId, task.GrainId);
            Assert.NotEqual(session.GrainId.Type, task.GrainId.Type);
            Assert.IsAssignableFrom<ITaskLifecycleGrain>(task);
        }
    }
}
