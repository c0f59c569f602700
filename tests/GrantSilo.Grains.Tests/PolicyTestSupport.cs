using GrantSilo.Grains.Policies;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Publishes a policy set for one test and, when disposed, publishes the shipped default again so
/// the other tests of the shared cluster decide under it.
/// </summary>
internal sealed class PublishedPolicy : IAsyncDisposable
{
    private readonly ClusterFixture _fixture;

    private PublishedPolicy(ClusterFixture fixture, PolicyVersionInfo version)
    {
        _fixture = fixture;
        Version = version;
    }

    public PolicyVersionInfo Version { get; }

    public static async Task<PublishedPolicy> PublishAsync(ClusterFixture fixture, string text)
    {
        var result = await fixture.Client.PublishPolicyAsync(text, "person:security@test.dev");
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return new PublishedPolicy(fixture, result.Value);
    }

    public async ValueTask DisposeAsync()
    {
        var restored = await _fixture.Client.PublishPolicyAsync(DefaultPolicySet.Text, "person:security@test.dev");
        Assert.True(restored.IsSuccess, restored.Error?.ToString());
    }
}
