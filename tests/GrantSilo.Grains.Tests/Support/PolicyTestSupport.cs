using GrantSilo.Grains.Policies;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Publishes a policy set for one test and, when disposed, publishes the shipped default again so
/// the other tests of the shared cluster decide under it.
/// </summary>
/// <summary>A schema version published for one test; the shipped schema text is published again afterwards.</summary>
internal sealed class PublishedSchema : IAsyncDisposable
{
    private readonly ClusterFixture _fixture;

    private PublishedSchema(ClusterFixture fixture, SchemaVersionInfo version)
    {
        _fixture = fixture;
        Version = version;
    }

    public SchemaVersionInfo Version { get; }

    /// <summary>The shipped schema with <paramref name="insert"/> placed after <paramref name="after"/>.</summary>
    public static string Extended(string after, string insert)
    {
        var text = GrantSiloSchema.Text;
        Assert.Contains(after, text, StringComparison.Ordinal);
        return text.Replace(after, after + insert, StringComparison.Ordinal);
    }

    public static async Task<PublishedSchema> PublishAsync(ClusterFixture fixture, string text)
    {
        var result = await fixture.Client.PublishSchemaAsync(text, "person:security@test.dev");
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return new PublishedSchema(fixture, result.Value);
    }

    public async ValueTask DisposeAsync()
    {
        var restored = await _fixture.Client.PublishSchemaAsync(GrantSiloSchema.Text, "person:security@test.dev");
        Assert.True(restored.IsSuccess, restored.Error?.ToString());
    }
}

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
