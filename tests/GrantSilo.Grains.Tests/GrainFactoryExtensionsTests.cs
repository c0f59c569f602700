using GrantSilo.GrainInterfaces;
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

    [Fact]
    public void GrainReferencesByKey_GivesTheReferenceGetGrainGives_PerFactory()
    {
        var factory = fixture.Cluster.Client;
        var references = new GrainReferencesByKey(factory);
        foreach (var key in new[] { "c-by-key-1", "c-by-key-2" })
        {
            var expected = (GrainReference)factory.GetGrain<ICredentialGrain>(key);
            var credential = (GrainReference)references.Get<ICredentialGrain>(key);
            var session = (GrainReference)references.Get<ISessionGrain>(key);

            Assert.Equal(expected.GrainId, credential.GrainId);
            Assert.Equal(expected.InterfaceType, credential.InterfaceType);
            Assert.Equal(((GrainReference)factory.GetGrain<ISessionGrain>(key)).GrainId, session.GrainId);
            Assert.IsAssignableFrom<ISessionGrain>(session);
        }
    }

    [Fact]
    public void GrainReferencesByKey_AsksAFactoryWhoseReferencesAreNotOrleans_EveryTime()
    {
        // Even after a real cluster's types are known in this process (the test above, the silo's own grains), a factory
        // that hands out its own references is only ever asked for GetGrain<T>(key): the stub refuses anything else.
        _ = fixture.Cluster.Client.GetGrainByKey<ISessionGrain>("warm-the-process-wide-types");
        var (client, stub) = StubClusterClient.Create();
        var references = new GrainReferencesByKey(client);

        var first = references.Get<ISessionGrain>("s-1");
        var second = references.Get<ISessionGrain>("s-2");
        _ = second.GetAsync();

        Assert.IsAssignableFrom<StubClusterClient.StubGrain>(first);
        Assert.IsAssignableFrom<StubClusterClient.StubGrain>(second);
        Assert.Single(stub.Calls);
    }
}
